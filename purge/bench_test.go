package purge_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/appengine/v2"
	"google.golang.org/appengine/v2/datastore"
	"google.golang.org/protobuf/runtime/protoiface"

	"github.com/gaesession/gaesession/purge"
)

// benchEntities is how many expired sessions each iteration purges.
const benchEntities = 3000

// purgeFunc deletes the entities of kind that expired before now, using the
// context of r, and returns how many it deleted.
type purgeFunc func(b *testing.B, r *http.Request, kind string, now time.Time) int

// BenchmarkPurge compares the Handler with the bare limit (one query read to
// its end, then sequential deletes of 500) and with the seed's approach
// (query 100 keys, delete them, again until none are left). Each reports
// deleted/s, rpcs/op and, once limit has run, x_limit: its deleted/s divided
// by limit's.
func BenchmarkPurge(b *testing.B) {
	var limitRate float64
	bench := func(name string, f purgeFunc) {
		b.Run(name, func(b *testing.B) {
			kind := kindFor(b)
			var deleted, rpcs int64
			for range b.N {
				b.StopTimer()
				r := purgeRequest(b)
				ctx := r.Context() // not counted
				seed(b, ctx, kind, "expired", benchEntities, time.Now().Add(-time.Hour))
				var calls atomic.Int64
				r = withAPICall(r, func(ctx context.Context, service, method string, in, out protoiface.MessageV1) error {
					calls.Add(1)
					return appengine.APICall(ctx, service, method, in, out)
				})
				b.StartTimer()
				n := f(b, r, kind, time.Now())
				b.StopTimer()
				if n != benchEntities {
					b.Fatalf("deleted %d entities, want %d", n, benchEntities)
				}
				if left := count(b, ctx, kind); left != 0 {
					b.Fatalf("%d entities left", left)
				}
				deleted += int64(n)
				rpcs += calls.Load()
			}
			rate := float64(deleted) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "deleted/s")
			b.ReportMetric(float64(rpcs)/float64(b.N), "rpcs/op")
			if name == "limit" {
				limitRate = rate
			} else if limitRate > 0 {
				b.ReportMetric(rate/limitRate, "x_limit")
			}
		})
	}
	bench("limit", purgeLimit)
	bench("handler", purgeHandler)
	bench("seed", purgeSeed)
}

// purgeHandler runs the Handler.
func purgeHandler(b *testing.B, r *http.Request, kind string, _ time.Time) int {
	rec := httptest.NewRecorder()
	purge.Handler(purge.Options{DSEntityName: kind, AllowNonCron: true, Logger: quietLogger()}).ServeHTTP(rec, r)
	rep := decode(b, rec)
	if rec.Code != http.StatusOK || !isTrue(rep.Completed) {
		b.Fatalf("answer = %d %s", rec.Code, rec.Body)
	}
	return rep.Deleted
}

// purgeLimit reads all the keys with one query, then deletes them in
// sequential batches of 500: the time of the query plus that of the deletes,
// without overlap.
func purgeLimit(b *testing.B, r *http.Request, kind string, now time.Time) int {
	ctx := r.Context()
	keys, err := datastore.NewQuery(kind).Filter("exp <", now).KeysOnly().BatchSize(500).GetAll(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for lo := 0; lo < len(keys); lo += 500 {
		if err := datastore.DeleteMulti(ctx, keys[lo:min(lo+500, len(keys))]); err != nil {
			b.Fatal(err)
		}
	}
	return len(keys)
}

// purgeSeed does what the seed's purge handler did: query 100 expired keys,
// delete them, and again until the query finds none.
func purgeSeed(b *testing.B, r *http.Request, kind string, now time.Time) int {
	ctx := r.Context()
	n := 0
	for {
		keys, err := datastore.NewQuery(kind).Filter("exp <", now).KeysOnly().Limit(100).GetAll(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if len(keys) == 0 {
			return n
		}
		if err := datastore.DeleteMulti(ctx, keys); err != nil {
			b.Fatal(err)
		}
		n += len(keys)
	}
}
