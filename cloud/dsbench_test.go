package cloud_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession"
)

// BenchmarkDatastoreOnly measures requests in Datastore-only mode, each
// followed in the same loop by the bare client calls of the same work:
// a lookup of two keys (the record and its tombstone) for a read, and that
// plus a transaction that looks them up and puts one for a write. Metrics
// as BenchmarkRequest's, calls being Datastore RPCs.
func BenchmarkDatastoreOnly(b *testing.B) {
	cases := []struct {
		name   string
		target func(i int) string
		bare   func(ctx context.Context, keys []*datastore.Key) int
	}{
		{"read-only", func(int) string { return "/" }, lookup},
		{"write", func(i int) string { return fmt.Sprintf("/?op=set&n=%d", i) }, func(ctx context.Context, keys []*datastore.Key) int {
			n := lookup(ctx, keys)
			_, _ = dsc.RunInTransaction(ctx, func(tx *datastore.Transaction) error {
				_ = tx.GetMulti(keys, make([]datastore.PropertyList, 2))
				_, err := tx.Put(keys[0], &datastore.PropertyList{
					{Name: "exp", Value: time.Now().Add(time.Hour)},
					{Name: "val", Value: []byte("value"), NoIndex: true},
				})
				return err
			})
			return n + 3 // BeginTransaction, Lookup, Commit
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			e := newDatastoreOnlyEnv(b, gaesession.Options{})
			e.get("/?op=new&a=1")
			ctx, kind := context.Background(), newKind()
			keys := []*datastore.Key{datastore.NameKey(kind, "bare", nil), datastore.NameKey(kind, "bare!", nil)}
			e.calls.take()
			var reqTime, bareTime time.Duration
			bareCalls := 0
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				e.get(tc.target(i))
				reqTime += time.Since(start)
				start = time.Now()
				bareCalls += tc.bare(ctx, keys)
				bareTime += time.Since(start)
			}
			b.StopTimer()
			n := float64(b.N)
			b.ReportMetric(float64(len(e.calls.take()))/n, "calls/req")
			b.ReportMetric(float64(bareCalls)/n, "bare-calls/req")
			b.ReportMetric(float64(reqTime.Nanoseconds())/n, "ns/req")
			b.ReportMetric(float64(bareTime.Nanoseconds())/n, "ns/bare")
			b.ReportMetric(float64(reqTime)/float64(bareTime), "req/bare")
		})
	}
}

// lookup is the bare read: one GetMulti of the record and its tombstone.
func lookup(ctx context.Context, keys []*datastore.Key) int {
	_ = dsc.GetMulti(ctx, keys, make([]datastore.PropertyList, 2))
	return 1
}
