package cloud_test

import (
	"slices"
	"testing"

	"github.com/gaesession/gaesession"
)

// The backend calls each kind of request makes through the middleware, on
// Redis (a server, and a Redis Cluster) with the Datastore emulator, and
// in Datastore-only mode. What the requests do is TestBehaviour's.

// eachRedis runs test as a parallel subtest on each of redisEnvs, named
// after it, with an env of opts.
func eachRedis(t *testing.T, opts gaesession.Options, test func(t *testing.T, e *env)) {
	for _, r := range redisEnvs {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			test(t, r.env(t, opts))
		})
	}
}

// TestCallsPerRequest counts the backend calls of each kind of request:
// those of the App Engine backend, a Redis command for each Memcache call.
func TestCallsPerRequest(t *testing.T) {
	t.Parallel()
	eachRedis(t, gaesession.Options{}, func(t *testing.T, e *env) {
		e.wantCalls("/?op=new&a=1", "datastore.PutMulti", "redis.evalsha")
		e.wantCalls("/", "datastore.GetMulti", "redis.evalsha", "redis.get") // vouched for
		e.wantCalls("/", "redis.get")
		e.wantCalls("/?op=set&b=2", "datastore.PutMulti", "redis.evalsha", "redis.get")
		e.setID("no-such-session-0123456789")
		// One Datastore call reads its record and its tombstone record.
		e.wantCalls("/", "datastore.GetMulti", "redis.get")
	})
}

// TestDatastoreOnlyCallsPerRequest counts the Datastore RPCs of each kind
// of request. A write is a transaction: BeginTransaction, Lookup of the
// record and its tombstone, Commit.
func TestDatastoreOnlyCallsPerRequest(t *testing.T) {
	t.Parallel()
	e := newDatastoreOnlyEnv(t, gaesession.Options{})
	const (
		begin  = "datastore.BeginTransaction"
		commit = "datastore.Commit"
		lookup = "datastore.Lookup"
	)
	e.wantCalls("/?op=new&a=1", begin, commit, lookup)                                      // Add
	e.wantCalls("/", lookup)                                                                // Get
	e.wantCalls("/?op=set&b=2", begin, commit, lookup, lookup)                              // Get, CompareAndSwap
	e.wantCalls("/?op=renew", begin, begin, commit, commit, lookup, lookup, lookup, lookup) // Get, Get and CompareAndSwap of a tombstone, Add
	e.wantCalls("/?op=remove", begin, commit, lookup)                                       // Get, Set of a tombstone
	e.setID("no-such-session-0123456789")
	e.wantCalls("/", lookup)
}

// wantCalls sends GET target and checks the backend calls it made, in
// sorted order.
func (e *env) wantCalls(target string, want ...string) {
	e.t.Helper()
	e.get(target)
	got := e.calls.take()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		e.t.Errorf("GET %s made calls %q, want %q", target, got, want)
	}
}
