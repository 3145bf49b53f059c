package cloud_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/cloud/cloudtest"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/redis/go-redis/v9"
)

// The servers of this test binary, started by TestMain; nil when missing.
var (
	redisAddr   string
	rdb         *redis.Client        // shared by the tests: each uses keys of its own
	clusterAddr []string             // the Redis Cluster's nodes
	cdb         *redis.ClusterClient // shared, as rdb, on the cluster
	dsc         *datastore.Client    // shared: each test uses kinds of its own
	missing     string               // why the servers are missing, for t.Skip
	kindCounter atomic.Int64
)

// testProject is the emulator's project.
const testProject = "gaesession-test"

func TestMain(m *testing.M) {
	code := run(m)
	gaesessiontest.Close() // the dev server of the cross-backend tests
	os.Exit(code)
}

func run(m *testing.M) int {
	ctx := context.Background()
	var (
		rs, ds           *cloudtest.Server
		cs               *cloudtest.Cluster
		rerr, derr, cerr error
		wg               sync.WaitGroup
	)
	goRun(&wg, func() { rs, rerr = cloudtest.StartRedis(ctx) })
	goRun(&wg, func() { ds, derr = cloudtest.StartDatastore(ctx) })
	goRun(&wg, func() { cs, cerr = cloudtest.StartRedisCluster(ctx) })
	wg.Wait()
	if rs != nil {
		defer rs.Stop()
	}
	if ds != nil {
		defer ds.Stop()
	}
	if cs != nil {
		defer cs.Stop()
	}
	if err := errors.Join(rerr, derr, cerr); err != nil {
		if !errors.Is(rerr, cloudtest.ErrNotInstalled) && rerr != nil ||
			!errors.Is(derr, cloudtest.ErrNotInstalled) && derr != nil ||
			!errors.Is(cerr, cloudtest.ErrNotInstalled) && cerr != nil ||
			os.Getenv("GAESESSION_REQUIRE_DEVSERVER") == "1" {
			fmt.Fprintln(os.Stderr, "cloud tests: cannot start the servers they need:", err)
			return 1
		}
		missing = strings.ReplaceAll(err.Error(), "\n", "; ")
		return m.Run()
	}
	redisAddr = rs.Addr
	rdb = redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rdb.Close()
	clusterAddr = cs.Addrs
	cdb = redis.NewClusterClient(&redis.ClusterOptions{Addrs: clusterAddr})
	defer cdb.Close()
	if err := loadScript(ctx, rdb, cdb); err != nil {
		fmt.Fprintln(os.Stderr, "cloud tests:", err)
		return 1
	}
	old, had := os.LookupEnv(cloudtest.EmulatorEnv)
	os.Setenv(cloudtest.EmulatorEnv, ds.Addr)
	defer func() {
		if had {
			os.Setenv(cloudtest.EmulatorEnv, old)
		} else {
			os.Unsetenv(cloudtest.EmulatorEnv)
		}
	}()
	var err error
	if dsc, err = datastore.NewClient(ctx, testProject); err != nil {
		fmt.Fprintln(os.Stderr, "cloud tests: datastore client:", err)
		return 1
	}
	defer dsc.Close()
	return m.Run()
}

// loadScript makes every Redis server, and each master of the cluster,
// run cloud.Redis's write script once, so that it knows the script: the
// tests that count calls then see one EVALSHA per write, as on a server
// that has been running, not EVALSHA and the EVAL after its NOSCRIPT.
func loadScript(ctx context.Context, rc *redis.Client, cc *redis.ClusterClient) error {
	const k = "loadscript"
	if err := cloud.Redis(rc).Set(ctx, &tier.Item{Key: k}); err != nil {
		return fmt.Errorf("loading the script: %w", err)
	}
	masters := map[string]bool{}
	for i := 0; len(masters) < len(clusterAddr); i++ {
		if i == 1000 {
			return fmt.Errorf("loading the script: 1000 keys reached %d of %d masters", len(masters), len(clusterAddr))
		}
		k := fmt.Sprintf("loadscript%d", i)
		m, err := cc.MasterForKey(ctx, k)
		if err != nil {
			return fmt.Errorf("loading the script: %w", err)
		}
		if masters[m.Options().Addr] {
			continue
		}
		masters[m.Options().Addr] = true
		if err := cloud.Redis(cc).Set(ctx, &tier.Item{Key: k}); err != nil {
			return fmt.Errorf("loading the script on %s: %w", m.Options().Addr, err)
		}
	}
	return nil
}

// servers skips t when the servers are missing (never in CI, where TestMain
// fails instead).
func servers(t testing.TB) {
	t.Helper()
	if missing != "" {
		t.Skip("skipped: ", missing)
	}
}

// newKind returns a Datastore kind no other test uses.
func newKind() string {
	return fmt.Sprintf("t%d_%d", time.Now().UnixNano(), kindCounter.Add(1))
}

// testContext returns a context ended when t ends.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// goRun runs f in a goroutine that wg counts (sync.WaitGroup.Go needs Go
// 1.25; this module's go line is 1.23).
func goRun(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		f()
	}()
}
