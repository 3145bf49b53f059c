package gaesessiontest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"

	"google.golang.org/appengine/v2/aetest"
)

// RequireEnv names the environment variable that turns a missing dev server
// into a test failure instead of a skip. .ci/run sets it to 1.
const RequireEnv = "GAESESSION_REQUIRE_DEVSERVER"

// errNoSDK says what to install; tests skip with it.
var errNoSDK = errors.New("dev_appserver.py not found: install the Google Cloud SDK with the App Engine Go component " +
	"(e.g. apt-get install google-cloud-cli-app-engine-go) or set APPENGINE_DEV_APPSERVER")

var (
	once    sync.Once
	inst    aetest.Instance
	instErr error
)

// Instance returns the dev server shared by the whole test binary, starting
// it on first use with a strongly consistent Datastore. It returns an error
// that says what to install when the SDK is missing.
func Instance() (aetest.Instance, error) {
	once.Do(func() {
		if instErr = UsePython(); instErr != nil {
			return
		}
		inst, instErr = aetest.NewInstance(&aetest.Options{
			StronglyConsistentDatastore: true,
			SuppressDevAppServerLog:     true,
		})
		if instErr != nil {
			instErr = fmt.Errorf("starting dev_appserver.py: %w", instErr)
		}
	})
	return inst, instErr
}

// Close stops the shared dev server, if it was started. Call it from TestMain
// after m.Run.
func Close() {
	if inst != nil {
		inst.Close()
	}
}

// DevAppserver returns the path of dev_appserver.py, or an error saying what
// to install.
func DevAppserver() (string, error) {
	if p := os.Getenv("APPENGINE_DEV_APPSERVER"); p != "" {
		return p, nil
	}
	p, err := exec.LookPath("dev_appserver.py")
	if err != nil {
		return "", errNoSDK
	}
	return p, nil
}

// Python returns a python3 interpreter that can run dev_appserver.py. The
// first python3 on PATH may carry a site-packages certifi that breaks the
// SDK's bundled requests; Debian's /usr/bin/python3 is tried after it.
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

// UsePython points aetest at dev_appserver.py run by a working Python, by
// writing a small launcher and setting APPENGINE_DEV_APPSERVER_BINARY. It
// leaves an APPENGINE_DEV_APPSERVER_BINARY set by the user alone.
func UsePython() error {
	if os.Getenv("APPENGINE_DEV_APPSERVER_BINARY") != "" {
		return nil
	}
	script, err := DevAppserver()
	if err != nil {
		return err
	}
	py, err := Python()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "gaesessiontest")
	if err != nil {
		return err
	}
	launcher := filepath.Join(dir, "dev_appserver")
	body := fmt.Sprintf("#!/bin/sh\nexec %q %q \"$@\"\n", py, script)
	if err := os.WriteFile(launcher, []byte(body), 0o755); err != nil {
		return err
	}
	return os.Setenv("APPENGINE_DEV_APPSERVER_BINARY", launcher)
}
