package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
)

// testExpiredBatches deletes store.MaxBatch+1 expired records batch by
// batch, as purge does, while the query runs.
func testExpiredBatches(dt *durableT) {
	now := time.Now()
	n := store.MaxBatch + 1
	dt.putMany(n, now.Add(-time.Minute))
	dt.put("live", "v", now.Add(time.Hour))
	got := dt.expired(now, func(ids []string) { dt.ok(dt.d.DeleteMulti(dt.ctx, ids)) })
	seen := map[string]bool{}
	var sizes []int
	for _, b := range got {
		sizes = append(sizes, len(b))
		for _, id := range b {
			seen[id] = true
		}
	}
	if len(seen) != n || !slices.Equal(sizes, []int{store.MaxBatch, 1}) {
		dt.Fatalf("Expired gave %d IDs in batches of %v, want %d in [%d 1]", len(seen), sizes, n, store.MaxBatch)
	}
	if again := dt.expired(now, nil); len(again) != 0 {
		dt.Fatalf("Expired after deleting its batches gave %d more", len(again))
	}
	dt.want("live", "v", now.Add(time.Hour))
}

// expired returns the batches of Expired, handling each with f if set.
func (dt *durableT) expired(before time.Time, f func(ids []string)) [][]string {
	dt.Helper()
	var got [][]string
	dt.ok(dt.d.Expired(dt.ctx, before, func(ids []string) error {
		got = append(got, slices.Sorted(slices.Values(ids)))
		if f != nil {
			f(ids)
		}
		return nil
	}))
	return got
}

// putMany puts records "id0" to "id<n-1>", a few at a time.
func (dt *durableT) putMany(n int, exp time.Time) {
	dt.Helper()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				errs <- dt.d.Put(dt.ctx, fmt.Sprint("id", i), store.Record{Value: []byte("v"), Expires: exp})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		dt.ok(err)
	}
}

// durableT is a subtest of TestDurable.
type durableT struct {
	*testing.T
	d   store.Durable
	ctx context.Context
}

func (dt *durableT) put(id, value string, exp time.Time) {
	dt.Helper()
	dt.ok(dt.d.Put(dt.ctx, id, store.Record{Value: []byte(value), Expires: exp}))
}

func (dt *durableT) get(id string) store.Record {
	dt.Helper()
	r, err := dt.d.Get(dt.ctx, id)
	if err != nil {
		dt.Fatalf("Get(%q): %v", id, err)
	}
	return r
}

// want checks a record; the Datastore keeps Expires to the microsecond.
func (dt *durableT) want(id, value string, exp time.Time) {
	dt.Helper()
	r := dt.get(id)
	if string(r.Value) != value || !r.Expires.Equal(exp.Truncate(time.Microsecond)) {
		dt.Fatalf("Get(%q) = %q, expires %v; want %q, %v", id, r.Value, r.Expires, value, exp)
	}
}

func (dt *durableT) wantMissing(id string) {
	dt.Helper()
	_, err := dt.d.Get(dt.ctx, id)
	is(dt.T, err, store.ErrNotFound)
	recs, err := dt.d.GetMulti(dt.ctx, []string{id})
	if err != nil || len(recs) != 1 || recs[0].Value != nil {
		dt.Errorf("GetMulti(%q) = %v, %v: want one record with a nil Value", id, recs, err)
	}
}

func (dt *durableT) ok(err error) {
	dt.Helper()
	if err != nil {
		dt.Fatal(err)
	}
}
