package cloud_test

import (
	"context"
	"testing"

	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
)

func TestRedisConformance(t *testing.T) {
	servers(t)
	storetest.TestCache(t, func(t *testing.T) (store.Cache, context.Context) {
		return cloud.Redis(rdb), testContext(t)
	})
}

// TestRedisClusterConformance runs the suite on a three-node Redis Cluster
// through a ClusterClient: its items spread over the nodes by hash slot.
func TestRedisClusterConformance(t *testing.T) {
	servers(t)
	storetest.TestCache(t, func(t *testing.T) (store.Cache, context.Context) {
		return cloud.Redis(cdb), testContext(t)
	})
}

func TestDatastoreConformance(t *testing.T) {
	servers(t)
	storetest.TestDurable(t, func(t *testing.T) (store.Durable, context.Context) {
		return cloud.Datastore(dsc, newKind()), testContext(t)
	})
}
