package cloud_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/icza/session"
	"google.golang.org/appengine/v2/memcache"
)

// BenchmarkRequest measures requests through the middleware on Redis and
// the Datastore emulator, each followed in the same loop by the bare
// client calls it cannot do without (its floor), so that the ratio holds
// on a noisy machine. Metrics: calls/req (Redis commands and Datastore
// calls the request made), bare-calls/req, ns/req, ns/bare and req/bare.
// A read-only request is also followed by the same request, through the
// same test client, to a handler that makes the bare GET of the session's
// key and writes its length, without the middleware: ns/client-bare and
// req/client-bare, the middleware's cost over everything else the request
// does in the test (client, cookie jar, recorder).
func BenchmarkRequest(b *testing.B) {
	cases := []struct {
		name   string
		fresh  bool // a browser without cookies each time
		target func(i int) string
		bare   func(ctx context.Context, key string, dk *datastore.Key, v []byte) int
	}{
		{"read-only", false, func(int) string { return "/" }, func(ctx context.Context, key string, _ *datastore.Key, _ []byte) int {
			rdb.Get(ctx, key)
			return 1
		}},
		{"write", false, func(i int) string { return fmt.Sprintf("/?op=set&n=%d", i) }, func(ctx context.Context, key string, dk *datastore.Key, v []byte) int {
			rdb.Get(ctx, key)
			return 1 + setAndPut(ctx, key, dk, v)
		}},
		{"new-session", true, func(int) string { return "/?op=new&a=1" }, setAndPut},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			e := newEnv(b, gaesession.Options{})
			e.get("/?op=new&a=1")
			id := e.id()
			ctx := context.Background()
			key := e.opts.Store.KeyPrefix + id + "-bare"
			dk := datastore.NameKey(newKind(), id, nil)
			value, err := memcache.Gob.Marshal(session.NewSession())
			if err != nil {
				b.Fatal(err)
			}
			rdb.Set(ctx, key, value, 0)
			e.calls.take()
			sessKey := e.opts.Store.KeyPrefix + id
			floor := e.c.With(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				v, _ := rdb.Get(r.Context(), sessKey).Bytes()
				fmt.Fprint(w, len(v))
			}))
			var reqTime, bareTime, floorTime time.Duration
			bareCalls := 0
			b.ResetTimer()
			for i := range b.N {
				if tc.fresh {
					e.c = gaesessiontest.NewClient(b, e.c.Handler)
				}
				start := time.Now()
				e.get(tc.target(i))
				reqTime += time.Since(start)
				start = time.Now()
				bareCalls += tc.bare(ctx, key, dk, value)
				bareTime += time.Since(start)
				if tc.name == "read-only" {
					start = time.Now()
					gaesessiontest.Body(b, floor.Do(httptest.NewRequest(http.MethodGet, gaesessiontest.BaseURL+"/", nil)))
					floorTime += time.Since(start)
				}
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(len(e.calls.take()))/n, "calls/req")
			b.ReportMetric(float64(bareCalls)/n, "bare-calls/req")
			b.ReportMetric(float64(reqTime.Nanoseconds())/n, "ns/req")
			b.ReportMetric(float64(bareTime.Nanoseconds())/n, "ns/bare")
			b.ReportMetric(float64(reqTime)/float64(bareTime), "req/bare")
			if floorTime > 0 {
				b.ReportMetric(float64(floorTime.Nanoseconds())/n, "ns/client-bare")
				b.ReportMetric(float64(reqTime)/float64(floorTime), "req/client-bare")
			}
		})
	}
}

// setAndPut runs a bare Redis SET and a bare Datastore Put at once, as the
// middleware runs its Redis write beside its Put. It returns 2, the calls.
func setAndPut(ctx context.Context, key string, dk *datastore.Key, v []byte) int {
	var wg sync.WaitGroup
	goRun(&wg, func() { rdb.Set(ctx, key, v, time.Hour) })
	goRun(&wg, func() {
		dsc.Put(ctx, dk, &datastore.PropertyList{
			{Name: "exp", Value: time.Now().Add(time.Hour)},
			{Name: "val", Value: v, NoIndex: true},
		})
	})
	wg.Wait()
	return 2
}
