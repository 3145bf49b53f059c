// Package devapp finds the App Engine development server, dev_appserver.py,
// and a Python that can run it. gaesessiontest and the devserver command
// share it.
package devapp

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoSDK says what to install when dev_appserver.py is missing.
var ErrNoSDK = errors.New("dev_appserver.py not found: install the Google Cloud SDK with the App Engine Go component " +
	"(e.g. apt-get install google-cloud-cli-app-engine-go) or set APPENGINE_DEV_APPSERVER")

// Script returns the path of dev_appserver.py: $APPENGINE_DEV_APPSERVER, or
// the one on PATH. It returns ErrNoSDK when there is none.
func Script() (string, error) {
	if p := os.Getenv("APPENGINE_DEV_APPSERVER"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("APPENGINE_DEV_APPSERVER: %w", err)
		}
		return p, nil
	}
	p, err := exec.LookPath("dev_appserver.py")
	if err != nil {
		return "", ErrNoSDK
	}
	return p, nil
}

// Python returns a python3 that can run dev_appserver.py. The first python3
// on PATH may carry a site-packages certifi that breaks the SDK's bundled
// requests; the system ones are tried after it.
func Python() (string, error) {
	var candidates []string
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	candidates = append(candidates, "/usr/bin/python3", "/usr/local/bin/python3")
	for _, p := range candidates {
		if exec.Command(p, "-c", pythonCheck).Run() == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no python3 that can run dev_appserver.py (tried %v)", candidates)
}

// pythonCheck fails on a Python whose certifi lacks as_str, which the SDK's
// bundled requests imports.
const pythonCheck = `import importlib.util, sys
if importlib.util.find_spec("certifi"):
    import certifi
    sys.exit(0 if hasattr(certifi, "as_str") else 1)`

// Command returns a command that runs dev_appserver.py with args. It names
// the Python: the script's shebang asks for "python", which Debian lacks.
func Command(args ...string) (*exec.Cmd, error) {
	script, err := Script()
	if err != nil {
		return nil, err
	}
	py, err := Python()
	if err != nil {
		return nil, err
	}
	return exec.Command(py, append([]string{script}, args...)...), nil
}

// Launcher writes an executable that runs dev_appserver.py with a working
// Python and args before its own, for APPENGINE_DEV_APPSERVER_BINARY, which
// aetest runs instead of "python3 dev_appserver.py". remove deletes it and
// its folder; it may be called as soon as the launcher has started.
//
// With log not empty, the server's stderr goes to the file log (appended)
// instead, and only the two lines aetest waits for, "Starting API server
// at: ..." and "Starting admin server at: ...", reach the launcher's
// stderr; if the server's stderr ends before both were seen, the lines read
// until then follow, so that a server that cannot start says why. A filter,
// run by the same Python, reads that stderr through a named pipe in the
// launcher's folder; the launcher execs the server, which keeps the
// launcher's process id, and the filter ends when the server's stderr
// closes.
func Launcher(log string, args ...string) (path string, remove func(), err error) {
	cmd, err := Command(args...)
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "gaesessiontest")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, "dev_appserver")
	body := "#!/bin/sh\n"
	redirect := ""
	if log != "" {
		fifo := shellQuote(filepath.Join(dir, "stderr"))
		body += "mkfifo " + fifo + " || exit 1\n" +
			shellQuote(cmd.Args[0]) + " -u -c " + shellQuote(stderrFilter) + " " + shellQuote(log) + " <" + fifo + " &\n"
		redirect = " 2>" + fifo
	}
	body += "exec"
	for _, a := range cmd.Args {
		body += " " + shellQuote(a)
	}
	body += " \"$@\"" + redirect + "\n"
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		remove()
		return "", nil, err
	}
	return path, remove, nil
}

// stderrFilter copies stdin to the file named by its argument and passes to
// stderr only the server address lines aetest reads (see Launcher).
const stderrFilter = `import re, sys
want = re.compile(rb"Starting (API|admin) server at: ")
held, seen = [], 0
with open(sys.argv[1], "ab", buffering=0) as log:
    for line in sys.stdin.buffer:
        log.write(line)
        if seen < 2 and want.search(line):
            seen += 1
            sys.stderr.buffer.write(line)
            sys.stderr.buffer.flush()
        elif seen < 2:
            held.append(line)
if seen < 2:
    sys.stderr.buffer.write(b"".join(held))
    sys.stderr.buffer.flush()`

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
