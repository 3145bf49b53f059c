package gaesessiontest

import (
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/gaesession/gaesession/gaesessiontest/internal/devapp"
	"google.golang.org/appengine/v2/aetest"
)

// RequireEnv names the environment variable that turns a missing dev server
// into a test failure instead of a skip. .ci/run sets it to 1.
const RequireEnv = "GAESESSION_REQUIRE_DEVSERVER"

var (
	mu      sync.Mutex
	started bool
	inst    aetest.Instance
	instErr error
	storage string // the dev server's storage folder, removed by Close
)

// instance returns the dev server shared by the whole test binary, starting
// it on first use with a strongly consistent Datastore. It returns an error
// that says what to install when the SDK is missing.
func instance() (aetest.Instance, error) {
	mu.Lock()
	defer mu.Unlock()
	if !started {
		started = true
		inst, instErr = start()
	}
	return inst, instErr
}

// start starts the dev server with a Python that can run it, and a storage
// folder of its own. Unless the user set APPENGINE_DEV_APPSERVER_BINARY,
// aetest runs a launcher that names that Python; the launcher, and the
// variable, are gone once the server runs.
func start() (aetest.Instance, error) {
	const binary = "APPENGINE_DEV_APPSERVER_BINARY"
	if os.Getenv(binary) == "" {
		dir, err := os.MkdirTemp("", "gaesessiontest")
		if err != nil {
			return nil, err
		}
		launcher, remove, err := devapp.Launcher("--storage_path=" + dir)
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		defer remove()
		storage = dir
		os.Setenv(binary, launcher)
		defer os.Unsetenv(binary)
	}
	in, err := aetest.NewInstance(&aetest.Options{
		StronglyConsistentDatastore: true,
		// Its log is kept: suppressed, it fills a pipe nobody reads and the
		// server hangs after some 64 KiB of failure tracebacks.
		SuppressDevAppServerLog: false,
		StartupTimeout:          time.Minute, // aetest's 15 s fail on a busy machine
	})
	if err != nil {
		return nil, fmt.Errorf("starting dev_appserver.py: %w", err)
	}
	return in, nil
}

// Close stops the shared dev server, if it was started, and removes its
// files. Call it from TestMain after m.Run.
func Close() {
	mu.Lock()
	defer mu.Unlock()
	if inst != nil {
		inst.Close()
		inst, instErr = nil, fmt.Errorf("gaesessiontest: dev server used after Close")
	}
	if storage != "" {
		os.RemoveAll(storage)
		storage = ""
	}
}
