package cloud_test

import (
	"context"
	"testing"

	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
)

func TestRedisConformance(t *testing.T) {
	servers(t)
	storetest.TestCache(t, func(t *testing.T) (tier.Cache, context.Context) {
		return cloud.Redis(rdb), testContext(t)
	})
}

// TestRedisClusterConformance runs the suite on a three-node Redis Cluster
// through a ClusterClient: its items spread over the nodes by hash slot.
func TestRedisClusterConformance(t *testing.T) {
	servers(t)
	storetest.TestCache(t, func(t *testing.T) (tier.Cache, context.Context) {
		return cloud.Redis(cdb), testContext(t)
	})
}

func TestDatastoreConformance(t *testing.T) {
	servers(t)
	storetest.TestDurable(t, func(t *testing.T) (tier.Durable, context.Context) {
		return cloud.Datastore(dsc, newKind()), testContext(t)
	})
}

// TestRevocation runs the per-user index's races on Redis and the
// Datastore emulator.
func TestRevocation(t *testing.T) {
	servers(t)
	storetest.TestRevocation(t, func(t *testing.T) (store.Options, context.Context) {
		kind := newKind()
		return store.Options{Cache: cloud.Redis(rdb), Durable: cloud.Datastore(dsc, kind), KeyPrefix: kind + ":"},
			testContext(t)
	})
}

// TestDatastoreOnlyRevocation runs them with the Datastore as both tiers:
// DatastoreCache as the Cache (Datastore-only mode's tier, whose Delete
// keeps a live tombstone) and a Durable tier of another kind for the
// index, which OnlyMemcache lacks.
func TestDatastoreOnlyRevocation(t *testing.T) {
	servers(t)
	storetest.TestRevocation(t, func(t *testing.T) (store.Options, context.Context) {
		kind := newKind()
		prefix := kind + ":"
		return store.Options{Cache: cloud.DatastoreCache(dsc, kind+"c", prefix), Durable: cloud.Datastore(dsc, kind), KeyPrefix: prefix},
			testContext(t)
	})
}
