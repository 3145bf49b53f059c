package cloudtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/gaesession/gaesession/cloud/cloudtest"
	"github.com/gaesession/gaesession/internal/proctest"
)

// requireEnv, set to 1, makes a missing server a failure, not a skip, as in
// the cloud module's other tests.
const requireEnv = "GAESESSION_REQUIRE_DEVSERVER"

// TestServersDieWithTestBinary: redis-server, the nodes of a Redis Cluster
// and the Datastore emulator (its start script and the Java it starts) end
// when the test binary that started them is killed or panics. The panic
// case starts Redis alone: the emulator takes seconds to start.
func TestServersDieWithTestBinary(t *testing.T) {
	t.Run("kill", func(t *testing.T) {
		cmd, stdin := proctest.Helper(t, "TestHelperAllServers")
		proctest.CheckNothingLeft(t, cmd, stdin, "kill", "redis-server", "[cluster]", "cloud_datastore_emulator", "java")
	})
	t.Run("panic", func(t *testing.T) {
		cmd, stdin := proctest.Helper(t, "TestHelperRedis")
		proctest.CheckNothingLeft(t, cmd, stdin, "panic", "redis-server")
	})
}

// TestHelperAllServers starts a Redis, a Redis Cluster and the Datastore
// emulator, says so, and waits (see proctest.Wait). It runs only as
// TestServersDieWithTestBinary's helper.
func TestHelperAllServers(t *testing.T) {
	if os.Getenv(proctest.Env) != t.Name() {
		return
	}
	ctx := context.Background()
	var (
		wg   sync.WaitGroup
		errs [3]error
	)
	wg.Add(3)
	go func() { defer wg.Done(); _, errs[0] = cloudtest.StartRedis(ctx) }()
	go func() { defer wg.Done(); _, errs[1] = cloudtest.StartRedisCluster(ctx) }()
	go func() { defer wg.Done(); _, errs[2] = cloudtest.StartDatastore(ctx) }()
	wg.Wait()
	helperReady(t, errors.Join(errs[:]...))
}

// TestHelperRedis starts a Redis, says so, and waits (see proctest.Wait). It
// runs only as TestServersDieWithTestBinary's helper.
func TestHelperRedis(t *testing.T) {
	if os.Getenv(proctest.Env) != t.Name() {
		return
	}
	_, err := cloudtest.StartRedis(context.Background())
	helperReady(t, err)
}

// helperReady says "ready" and waits, or, when a server did not start,
// says "skip: ..." if one is not installed and requireEnv is not set, and
// fails otherwise.
func helperReady(t *testing.T, err error) {
	switch {
	case err == nil:
		fmt.Println("ready")
		proctest.Wait()
	case errors.Is(err, cloudtest.ErrNotInstalled) && os.Getenv(requireEnv) != "1":
		fmt.Println("skip:", err)
	default:
		t.Fatal(err)
	}
}
