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
func Launcher(args ...string) (path string, remove func(), err error) {
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
	body := "#!/bin/sh\nexec"
	for _, a := range cmd.Args {
		body += " " + shellQuote(a)
	}
	body += " \"$@\"\n"
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		remove()
		return "", nil, err
	}
	return path, remove, nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
