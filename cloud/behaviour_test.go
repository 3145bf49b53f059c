package cloud_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/purge"
	"github.com/gaesession/gaesession/store"
	"github.com/redis/go-redis/v9"
)

// TestBehaviour runs the middleware's behaviour suite (the root module
// runs it on App Engine's tiers) on Redis, a Redis Cluster, each with the
// Datastore emulator, and in Datastore-only mode.
func TestBehaviour(t *testing.T) {
	for _, r := range []struct {
		name    string
		rdb     func() redis.UniversalClient
		hashIDs bool
	}{
		{"RedisDatastore", func() redis.UniversalClient { return rdb }, false},
		{"ClusterDatastore", func() redis.UniversalClient { return cdb }, false},
		{"RedisDatastoreHashIDs", func() redis.UniversalClient { return rdb }, true},
	} {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			gaesessiontest.TestBehaviour(t, func(t *testing.T, _ func() time.Time) gaesessiontest.Backend {
				servers(t)
				kind, rc := newKind(), r.rdb()
				return gaesessiontest.Backend{
					Store:   store.Options{Cache: cloud.Redis(rc), Durable: cloud.Datastore(dsc, kind), KeyPrefix: kind + ":", HashIDs: r.hashIDs},
					Context: testContext(t),
					Evict:   func(ctx context.Context, key string) error { return rc.Del(ctx, key).Err() },
					Purge:   purge.Options{Durable: cloud.Datastore(dsc, kind), DSEntityName: kind, Cache: cloud.Redis(rc), KeyPrefix: kind + ":", HashIDs: r.hashIDs},
				}
			})
		})
	}
	t.Run("DatastoreOnly", func(t *testing.T) {
		t.Parallel()
		gaesessiontest.TestBehaviour(t, func(t *testing.T, _ func() time.Time) gaesessiontest.Backend {
			servers(t)
			kind := newKind()
			return gaesessiontest.Backend{
				Store:   store.Options{Cache: cloud.DatastoreCache(dsc, kind, kind+":"), OnlyMemcache: true, KeyPrefix: kind + ":"},
				Context: testContext(t),
				Purge:   purge.Options{Durable: cloud.Datastore(dsc, kind), DSEntityName: kind},
			}
		})
	})
	for _, name := range []string{"DatastoreOnlyWithUsers", "DatastoreOnlyWithUsersHashIDs"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			gaesessiontest.TestBehaviour(t, func(t *testing.T, _ func() time.Time) gaesessiontest.Backend {
				servers(t)
				kind := newKind()
				return gaesessiontest.Backend{
					Store: store.Options{
						Cache:     cloud.DatastoreCache(dsc, kind+"c", kind+":"),
						Durable:   cloud.Datastore(dsc, kind),
						KeyPrefix: kind + ":",
						HashIDs:   strings.HasSuffix(name, "HashIDs"),
					},
					Context: testContext(t),
					Purge: purge.Options{Durable: cloud.Datastore(dsc, kind), DSEntityName: kind,
						Cache: cloud.DatastoreCache(dsc, kind+"c", kind+":"), KeyPrefix: kind + ":", HashIDs: strings.HasSuffix(name, "HashIDs")},
				}
			})
		})
	}
}
