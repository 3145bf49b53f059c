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
	"strconv"
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
// With group not 0, every process the launcher starts joins the process
// group group first (see package reaper): aetest starts the launcher in the
// test binary's own group.
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
func Launcher(log string, group int, args ...string) (path string, remove func(), err error) {
	cmd, err := Command(args...)
	if err != nil {
		return "", nil, err
	}
	py := cmd.Args[0]
	dir, err := os.MkdirTemp("", "gaesessiontest")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, "dev_appserver")
	join := joinPrefix(py, group)
	body := "#!/bin/sh\n"
	redirect := ""
	if log != "" {
		fifo := shellQuote(filepath.Join(dir, "stderr"))
		body += "mkfifo " + fifo + " || exit 1\n" +
			join + shellQuote(py) + " -u -c " + shellQuote(stderrFilter) + " " + shellQuote(log) + " <" + fifo + " &\n"
		redirect = " 2>" + fifo
	}
	body += "exec " + join + shellArgs(cmd.Args) + " \"$@\"" + redirect + "\n"
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		remove()
		return "", nil, err
	}
	return path, remove, nil
}

// Wrapper writes an executable that runs binary, with the arguments it is
// given, in the process group group, for an APPENGINE_DEV_APPSERVER_BINARY
// that the user set. It needs a python3 for that (any: it does not run
// dev_appserver.py). remove deletes it and its folder; it may be called as
// soon as the wrapper has started.
func Wrapper(binary string, group int) (path string, remove func(), err error) {
	py, err := Python()
	if err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			return "", nil, fmt.Errorf("no python3 to run %s in a process group: %w", binary, err)
		}
	}
	dir, err := os.MkdirTemp("", "gaesessiontest")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, "dev_appserver")
	body := "#!/bin/sh\nexec " + joinPrefix(py, group) + shellQuote(binary) + " \"$@\"\n"
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		remove()
		return "", nil, err
	}
	return path, remove, nil
}

// joinPrefix returns the start of a shell command that runs the rest of the
// command in the process group group, by way of py, or "" for group 0. A
// process that cannot join (the group's watchdog already killed it) exits.
func joinPrefix(py string, group int) string {
	if group == 0 {
		return ""
	}
	return shellQuote(py) + " -c " + shellQuote(joinGroup) + " " + strconv.Itoa(group) + " "
}

// joinGroup moves its process into the group named by its first argument,
// then execs the rest of its arguments, looked up in PATH.
const joinGroup = `import os, sys
os.setpgid(0, int(sys.argv[1]))
os.execvp(sys.argv[2], sys.argv[2:])`

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

// shellArgs quotes args for sh and joins them with spaces.
func shellArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
