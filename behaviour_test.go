package gaesession_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/purge"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/aestore"
	"github.com/gaesession/gaesession/store/storetest"
	"google.golang.org/appengine/v2/memcache"
)

// TestBehaviour runs the middleware's behaviour suite on the in-process
// model of App Engine's tiers (no dev server needed) and on the dev
// server's Memcache and Datastore. The cloud module runs it on its
// backends.
func TestBehaviour(t *testing.T) {
	for _, mode := range []string{"", "StrictWrites", "HashIDs"} {
		suffix, strict, hashIDs := mode, mode == "StrictWrites", mode == "HashIDs"
		t.Run("Model"+suffix, func(t *testing.T) {
			t.Parallel()
			gaesessiontest.TestBehaviour(t, func(t *testing.T, now func() time.Time) gaesessiontest.Backend {
				m := storetest.NewModel(storetest.ModelOptions{Memcache: true, Now: now})
				return gaesessiontest.Backend{
					Store: store.Options{Cache: m.Cache(), Durable: m.Durable(), StrictWrites: strict, HashIDs: hashIDs},
					Evict: func(_ context.Context, key string) error { m.Evict(key); return nil },
					Purge: purge.Options{Durable: m.Durable(), Cache: m.Cache(), HashIDs: hashIDs},
				}
			})
		})
		t.Run("AppEngine"+suffix, func(t *testing.T) {
			t.Parallel()
			gaesessiontest.Start(t)
			gaesessiontest.TestBehaviour(t, func(t *testing.T, _ func() time.Time) gaesessiontest.Backend {
				kind := "b_" + strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
				return gaesessiontest.Backend{
					Store:   store.Options{Cache: aestore.Memcache(), Durable: aestore.Datastore(kind), DSEntityName: kind, KeyPrefix: kind + ":", StrictWrites: strict, HashIDs: hashIDs},
					Context: gaesessiontest.Context(t),
					Evict:   memcache.Delete,
					Purge:   purge.Options{Durable: aestore.Datastore(kind), DSEntityName: kind, Cache: aestore.Memcache(), KeyPrefix: kind + ":", HashIDs: hashIDs},
				}
			})
		})
	}
}
