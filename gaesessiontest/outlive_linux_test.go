package gaesessiontest_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/internal/proctest"
)

// TestDevServerDiesWithTestBinary: the dev server, and every process it
// started, ends when the test binary that started it is killed or panics.
func TestDevServerDiesWithTestBinary(t *testing.T) {
	gaesessiontest.Start(t) // skips, or fails, as every dev server test does
	for _, how := range []string{"kill", "panic"} {
		t.Run(how, func(t *testing.T) {
			cmd, stdin := proctest.Helper(t, "TestHelperDevServer")
			proctest.CheckNothingLeft(t, cmd, stdin, how, "dev_appserver.py")
		})
	}
}

// TestHelperDevServer starts the dev server, says so, and waits (see
// proctest.Wait). It runs only as TestDevServerDiesWithTestBinary's helper.
func TestHelperDevServer(t *testing.T) {
	if os.Getenv(proctest.Env) != t.Name() {
		return
	}
	gaesessiontest.Context(t)
	fmt.Println("ready")
	proctest.Wait()
}
