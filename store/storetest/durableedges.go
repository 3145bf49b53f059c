package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// testExpiredBatches deletes tier.MaxBatch+1 expired records batch by
// batch, as purge does, while the query runs.
func testExpiredBatches(dt *durableT) {
	now := time.Now()
	n := tier.MaxBatch + 1
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
	if len(seen) != n || !slices.Equal(sizes, []int{tier.MaxBatch, 1}) {
		dt.Fatalf("Expired gave %d IDs in batches of %v, want %d in [%d 1]", len(seen), sizes, n, tier.MaxBatch)
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
				errs <- dt.d.PutMulti(dt.ctx, []string{fmt.Sprint("id", i)}, []tier.Record{{Value: []byte("v"), Expires: exp}})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		dt.ok(err)
	}
}

// testMaxBatch writes, reads and deletes tier.MaxBatch records at a time.
func testMaxBatch(dt *durableT) {
	exp := time.Now().Add(time.Hour)
	keys := make([]string, 2*tier.MaxBatch)
	for i := range keys {
		keys[i] = fmt.Sprint("id", i)
	}
	written := keys[:tier.MaxBatch]
	recs := make([]tier.Record, len(written))
	for i, k := range written {
		recs[i] = tier.Record{Value: []byte(k), Expires: exp}
	}
	dt.ok(dt.d.PutMulti(dt.ctx, written, recs))
	half := tier.MaxBatch / 2
	got := dt.getMulti(keys[half : half+tier.MaxBatch]...) // half written, half missing
	for i, r := range got {
		k := keys[half+i]
		if want := slices.Contains(written, k); want != (r.Value != nil) || want && string(r.Value) != k {
			dt.Fatalf("GetMulti: %s = %q (nil: %v), want written: %v", k, r.Value, r.Value == nil, want)
		}
	}
	dt.ok(dt.d.DeleteMulti(dt.ctx, written))
	for i, r := range dt.getMulti(written...) {
		if r.Value != nil {
			dt.Fatalf("GetMulti after DeleteMulti: %s = %q, want missing", written[i], r.Value)
		}
	}
}

// durableT is a subtest of TestDurable.
type durableT struct {
	*testing.T
	d   tier.Durable
	ctx context.Context
}

func (dt *durableT) put(key, value string, exp time.Time) {
	dt.Helper()
	dt.ok(dt.d.PutMulti(dt.ctx, []string{key}, []tier.Record{{Value: []byte(value), Expires: exp}}))
}

// getMulti reads keys, checking that it gets a record for each.
func (dt *durableT) getMulti(keys ...string) []tier.Record {
	dt.Helper()
	recs, err := dt.d.GetMulti(dt.ctx, keys)
	dt.ok(err)
	if len(recs) != len(keys) {
		dt.Fatalf("GetMulti of %d keys gave %d records", len(keys), len(recs))
	}
	return recs
}

// get reads a record that must be there.
func (dt *durableT) get(key string) tier.Record {
	dt.Helper()
	r := dt.getMulti(key)[0]
	if r.Value == nil {
		dt.Fatalf("GetMulti(%q): missing", key)
	}
	return r
}

// want checks a record; the Datastore keeps Expires to the microsecond.
func (dt *durableT) want(key, value string, exp time.Time) {
	dt.Helper()
	r := dt.get(key)
	if string(r.Value) != value || !r.Expires.Equal(exp.Truncate(time.Microsecond)) {
		dt.Fatalf("GetMulti(%q) = %q, expires %v; want %q, %v", key, r.Value, r.Expires, value, exp)
	}
}

func (dt *durableT) wantMissing(key string) {
	dt.Helper()
	if r := dt.getMulti(key)[0]; r.Value != nil || !r.Expires.IsZero() {
		dt.Errorf("GetMulti(%q) = %q, expires %v: want the zero Record", key, r.Value, r.Expires)
	}
}

func (dt *durableT) ok(err error) {
	dt.Helper()
	if err != nil {
		dt.Fatal(err)
	}
}
