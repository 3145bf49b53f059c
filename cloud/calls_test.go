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
		for _, step := range []struct {
			target string
			want   []string
		}{
			{"/?op=new&a=1", []string{"datastore.Put", "redis.evalsha"}},
			{"/", []string{"redis.get"}},
			{"/?op=set&b=2", []string{"datastore.Put", "redis.evalsha", "redis.get"}},
		} {
			e.get(step.target)
			got := e.calls.take()
			slices.Sort(got)
			if !slices.Equal(got, step.want) {
				t.Errorf("GET %s made calls %q, want %q", step.target, got, step.want)
			}
		}
		e.setID("no-such-session-0123456789")
		e.get("/")
		got := e.calls.take()
		slices.Sort(got)
		// One Datastore call reads its record and its tombstone record.
		if want := []string{"datastore.Get", "redis.get"}; !slices.Equal(got, want) {
			t.Errorf("an unknown session made calls %q, want %q", got, want)
		}
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
	steps := []struct {
		target string
		want   []string
	}{
		{"/?op=new&a=1", []string{begin, commit, lookup}},                                      // Add
		{"/", []string{lookup}},                                                                // Get
		{"/?op=set&b=2", []string{begin, commit, lookup, lookup}},                              // Get, CompareAndSwap
		{"/?op=renew", []string{begin, begin, commit, commit, lookup, lookup, lookup, lookup}}, // Get, Get and CompareAndSwap of a tombstone, Add
		{"/?op=remove", []string{begin, commit, lookup}},                                       // Get, Set of a tombstone
	}
	for _, step := range steps {
		e.get(step.target)
		got := e.calls.take()
		slices.Sort(got)
		if !slices.Equal(got, step.want) {
			t.Errorf("GET %s made calls %q, want %q", step.target, got, step.want)
		}
	}
	e.setID("no-such-session-0123456789")
	e.get("/")
	if got, want := e.calls.take(), []string{lookup}; !slices.Equal(got, want) {
		t.Errorf("an unknown session made calls %q, want %q", got, want)
	}
}
