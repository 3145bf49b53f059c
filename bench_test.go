package gaesession_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
	"google.golang.org/appengine/v2/datastore"
	"google.golang.org/appengine/v2/memcache"
)

// BenchmarkRequest measures requests through Middleware against the dev
// server, each interleaved with its limit (the bare RPCs it cannot avoid)
// in the same loop, so the ratio holds on a noisy machine, and with the
// calls icza/gaesession makes for the same request (seed), run after the
// loop. Metrics:
// rpcs/req, allocs/req, ns/req, ns/limit, req/limit, seed-rpcs/req and
// req/seed.
func BenchmarkRequest(b *testing.B) {
	cases := []struct {
		name   string
		fresh  bool // a client without cookies each time
		target func(i int) string
		limit  func(ctx context.Context, key string, ds *datastore.Key, value []byte)
		seed   func(ctx context.Context, key string, ds *datastore.Key, value []byte)
	}{
		{"read-only", false, func(int) string { return "/" }, func(ctx context.Context, key string, _ *datastore.Key, _ []byte) {
			memcache.Get(ctx, key)
		}, seedSave(true)},
		// A write must know its compare-and-swap won before its Datastore
		// Put (else a stale copy could reach the Datastore): the limit is
		// the three calls one after the other.
		{"write", false, func(i int) string { return fmt.Sprintf("/?op=set&n=%d", i) }, func(ctx context.Context, key string, ds *datastore.Key, v []byte) {
			memcache.Get(ctx, key)
			memcache.Set(ctx, &memcache.Item{Key: key + "-limit", Value: v})
			datastore.Put(ctx, ds, &storedEntity{Expires: time.Now().Add(time.Hour), Value: v})
		}, seedSave(true)},
		// StrictWrites: the same write, its Put a transaction and a
		// memcache.Get after it; against the same limit.
		{"write-strict", false, func(i int) string { return fmt.Sprintf("/?op=set&n=%d", i) }, func(ctx context.Context, key string, ds *datastore.Key, v []byte) {
			memcache.Get(ctx, key)
			memcache.Set(ctx, &memcache.Item{Key: key + "-limit", Value: v})
			datastore.Put(ctx, ds, &storedEntity{Expires: time.Now().Add(time.Hour), Value: v})
		}, seedSave(true)},
		// HashIDs: the same read and write, under the SHA-256 of the ID.
		{"read-only-hashids", false, func(int) string { return "/" }, func(ctx context.Context, key string, _ *datastore.Key, _ []byte) {
			memcache.Get(ctx, key)
		}, seedSave(true)},
		{"write-hashids", false, func(i int) string { return fmt.Sprintf("/?op=set&n=%d", i) }, func(ctx context.Context, key string, ds *datastore.Key, v []byte) {
			memcache.Get(ctx, key)
			memcache.Set(ctx, &memcache.Item{Key: key + "-limit", Value: v})
			datastore.Put(ctx, ds, &storedEntity{Expires: time.Now().Add(time.Hour), Value: v})
		}, seedSave(true)},
		{"new-session", true, func(int) string { return "/?op=new&a=1" }, slower, func(ctx context.Context, key string, ds *datastore.Key, v []byte) {
			memcache.Set(ctx, &memcache.Item{Key: key + "-seed", Value: v}) // the seed's Add
			seedSave(false)(ctx, key, ds, v)
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			opts, c := setup(b, gaesession.Options{Store: store.Options{
				StrictWrites: strings.HasSuffix(tc.name, "-strict"),
				HashIDs:      strings.HasSuffix(tc.name, "-hashids"),
			}})
			get(b, c, "/?op=new&a=1")
			id := sessionID(b, c)
			ctx := gaesessiontest.Context(b)
			key := opts.Store.KeyPrefix + id
			ds := datastore.NewKey(ctx, opts.Store.DSEntityName+"_limit", id, 0, nil)
			value, err := memcache.Gob.Marshal(session.NewSession())
			if err != nil {
				b.Fatal(err)
			}
			var rec, seedRec rpcs
			seedCtx := seedRec.context(ctx)
			var reqTime, limitTime, seedTime time.Duration
			var allocs uint64
			var ms runtime.MemStats
			b.ResetTimer()
			for i := range b.N {
				r := rec.wrap(gaesessiontest.NewRequest(b, "GET", tc.target(i), nil))
				runtime.ReadMemStats(&ms)
				before := ms.Mallocs
				client := c
				if tc.fresh {
					client = gaesessiontest.NewClient(b, c.Handler)
				}
				start := time.Now()
				client.Do(r).Body.Close()
				reqTime += time.Since(start)
				runtime.ReadMemStats(&ms)
				allocs += ms.Mallocs - before
				start = time.Now()
				tc.limit(ctx, key, ds, value)
				limitTime += time.Since(start)
			}
			// The seed's calls run in a pass of their own: on the dev server
			// the call right after a Datastore Put is slowed down, which
			// would bias the interleaved figures.
			b.StopTimer()
			for range b.N {
				start := time.Now()
				tc.seed(seedCtx, key, ds, value)
				seedTime += time.Since(start)
			}
			n := float64(b.N)
			b.ReportMetric(float64(len(rec.take()))/n, "rpcs/req")
			b.ReportMetric(float64(allocs)/n, "allocs/req")
			b.ReportMetric(float64(reqTime.Nanoseconds())/n, "ns/req")
			b.ReportMetric(float64(limitTime.Nanoseconds())/n, "ns/limit")
			b.ReportMetric(float64(reqTime)/float64(limitTime), "req/limit")
			b.ReportMetric(float64(len(seedRec.take()))/n, "seed-rpcs/req")
			b.ReportMetric(float64(reqTime)/float64(seedTime), "req/seed")
		})
	}
}

// slower runs a bare memcache.Set and a bare datastore Put concurrently:
// a write costs at least the slower of the two.
func slower(ctx context.Context, key string, ds *datastore.Key, v []byte) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		memcache.Set(ctx, &memcache.Item{Key: key + "-limit", Value: v})
	}()
	go func() {
		defer wg.Done()
		datastore.Put(ctx, ds, &storedEntity{Expires: time.Now().Add(time.Hour), Value: v})
	}()
	wg.Wait()
}

// seedSave makes the calls of icza/gaesession for a session a request
// touched, one after the other: its Get (load) when the session came from a
// cookie, then on Close a Memcache Set and a Datastore Put, whether or not
// the session changed.
func seedSave(load bool) func(ctx context.Context, key string, ds *datastore.Key, v []byte) {
	return func(ctx context.Context, key string, ds *datastore.Key, v []byte) {
		if load {
			memcache.Get(ctx, key)
		}
		memcache.Set(ctx, &memcache.Item{Key: key + "-seed", Value: v})
		datastore.Put(ctx, ds, &storedEntity{Expires: time.Now().Add(time.Hour), Value: v})
	}
}
