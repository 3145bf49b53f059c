package store_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
)

// TestMain stops the dev server that the App Engine tests start.
func TestMain(m *testing.M) {
	code := m.Run()
	gaesessiontest.Close()
	os.Exit(code)
}

// The Model passes the suites that App Engine's services pass, in both of
// its expiration modes.

func TestModelCacheConformance(t *testing.T) {
	for _, mc := range []bool{true, false} {
		t.Run(fmt.Sprint("Memcache=", mc), func(t *testing.T) {
			storetest.TestCache(t, func(*testing.T) (tier.Cache, context.Context) {
				return storetest.NewModel(storetest.ModelOptions{Memcache: mc}).Cache(), context.Background()
			})
		})
	}
}

func TestModelDurableConformance(t *testing.T) {
	storetest.TestDurable(t, func(*testing.T) (tier.Durable, context.Context) {
		return storetest.NewModel(storetest.ModelOptions{Memcache: true}).Durable(), context.Background()
	})
}

// TestModelRevocation runs the per-user index's races on the Model.
func TestModelRevocation(t *testing.T) {
	storetest.TestRevocation(t, func(*testing.T) (store.Options, context.Context) {
		m := storetest.NewModel(storetest.ModelOptions{Memcache: true})
		return store.Options{Cache: m.Cache(), Durable: m.Durable(), KeyPrefix: "p:"}, context.Background()
	})
}
