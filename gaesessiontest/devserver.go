package gaesessiontest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gaesession/gaesession/gaesessiontest/internal/devapp"
	"github.com/gaesession/gaesession/internal/reaper"
	"google.golang.org/appengine/v2/aetest"
)

// RequireEnv names the environment variable that turns a missing dev server
// into a test failure instead of a skip. .ci/run sets it to 1.
const RequireEnv = "GAESESSION_REQUIRE_DEVSERVER"

// LogEnv names the environment variable that keeps the dev server's log:
// the file it names gets the log appended. Without it the log goes to the
// server's storage folder, which Close removes.
const LogEnv = "GAESESSION_DEVSERVER_LOG"

var (
	mu      sync.Mutex
	started bool
	inst    aetest.Instance
	instErr error
	storage string        // the dev server's storage folder, removed by Close
	group   *reaper.Group // the dev server's process group, killed by Close
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
// folder of its own, in a process group that dies with the test binary
// (package reaper), so that a binary killed by -timeout, a panic or a
// signal leaves no server behind. aetest runs a launcher that joins that
// group and, unless the user set APPENGINE_DEV_APPSERVER_BINARY, names that
// Python; the launcher is gone, and the variable as it was, once the server
// runs. The launcher also sends the server's log to a file (see LogEnv), so
// that a failing test's output is not buried under it: that log has a
// traceback for every failed API call (tests inject some on purpose) and
// the harmless "Failed to build Go application ... go.mod file not found"
// of aetest's stub app, which API calls do not need.
func start() (aetest.Instance, error) {
	const binary = "APPENGINE_DEV_APPSERVER_BINARY"
	g, err := reaper.Start()
	if err != nil {
		return nil, err
	}
	if user := os.Getenv(binary); user != "" {
		if launcher, remove, err := devapp.Wrapper(user, g.ID()); err != nil {
			fmt.Fprintf(os.Stderr, "gaesessiontest: %v: the dev server may outlive a killed test binary\n", err)
		} else {
			defer remove()
			os.Setenv(binary, launcher)
			defer os.Setenv(binary, user)
		}
	} else {
		dir, err := os.MkdirTemp("", "gaesessiontest")
		if err != nil {
			g.Close()
			return nil, err
		}
		log := os.Getenv(LogEnv)
		if log == "" {
			log = filepath.Join(dir, "dev_appserver.log")
		}
		launcher, remove, err := devapp.Launcher(log, g.ID(), "--storage_path="+dir)
		if err != nil {
			g.Close()
			os.RemoveAll(dir)
			return nil, err
		}
		defer remove()
		storage = dir
		fmt.Fprintf(os.Stderr, "gaesessiontest: dev_appserver.py log in %s (set %s=file to keep it)\n", log, LogEnv)
		os.Setenv(binary, launcher)
		defer os.Unsetenv(binary)
	}
	in, err := aetest.NewInstance(&aetest.Options{
		StronglyConsistentDatastore: true,
		// Not suppressed: aetest would then stop reading the server's stderr
		// once it has the addresses, and a server writing its log there (as
		// when the user sets APPENGINE_DEV_APPSERVER_BINARY) hangs after some
		// 64 KiB of failure tracebacks. The launcher sends it to a file.
		SuppressDevAppServerLog: false,
		StartupTimeout:          time.Minute, // aetest's 15 s fail on a busy machine
	})
	if err != nil {
		g.Close()
		return nil, fmt.Errorf("starting dev_appserver.py: %w", err)
	}
	group = g
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
	if group != nil {
		group.Close() // what the server left running
		group = nil
	}
	if storage != "" {
		os.RemoveAll(storage)
		storage = ""
	}
}
