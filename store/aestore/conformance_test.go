package aestore_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/aestore"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
)

// TestMain stops the dev server that the tests start.
func TestMain(m *testing.M) {
	code := m.Run()
	gaesessiontest.Close()
	os.Exit(code)
}

// App Engine's Memcache and Datastore pass the suites that every backend
// passes, on the dev server.

func TestMemcacheConformance(t *testing.T) {
	gaesessiontest.Start(t) // every subtest needs the dev server
	storetest.TestCache(t, func(t *testing.T) (tier.Cache, context.Context) {
		return aestore.Memcache(), gaesessiontest.Context(t)
	})
}

func TestDatastoreConformance(t *testing.T) {
	gaesessiontest.Start(t) // every subtest needs the dev server
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	storetest.TestDurable(t, func(t *testing.T) (tier.Durable, context.Context) {
		// A kind per subtest and run, so that Expired sees only its own.
		sum := sha256.Sum256([]byte(t.Name()))
		return aestore.Datastore(fmt.Sprintf("conf_%s_%x", run, sum[:6])), gaesessiontest.Context(t)
	})
}

// TestAppEngineRevocation runs the per-user index's races on App Engine's
// Memcache and Datastore.
func TestAppEngineRevocation(t *testing.T) {
	gaesessiontest.Start(t) // every subtest needs the dev server
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	storetest.TestRevocation(t, func(t *testing.T) (store.Options, context.Context) {
		return store.Options{Cache: aestore.Memcache(), Durable: aestore.Datastore("rev_" + run), KeyPrefix: "rev:"},
			gaesessiontest.Context(t)
	})
}
