package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
)

// TestRenewHoldsTheStoreLock: a request's goroutines may renew one session
// while reading and adding others on the same Store; under the race
// detector (as CI runs it) a Renew that did not hold the Store's lock fails
// here.
func TestRenewHoldsTheStoreLock(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	a, b := r.create(0, "a", "1"), r.create(0, "b", "1")
	st := r.open()
	sess := st.Get(a)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if _, err := st.Renew(sess); err != nil {
			t.Errorf("Renew: %v", err)
		}
	}()
	go func() {
		defer wg.Done()
		st.Get(b)
		st.Add(r.newSession(0, "c", "1"))
	}()
	wg.Wait()
	st.Close()
	if got := r.read(a); got != "none" {
		t.Errorf("renewed-away ID reads %q", got)
	}
}

// TestListReadsInBatches: a user's list reads the sessions its index
// names MaxBatch/2 at a time (two keys each, a record and its tombstone:
// MaxBatch keys per call): after one more login than MaxBatch, the index
// names the MaxSessionsLimit live sessions and those being ended beyond it
// (kept for minTombstone), three calls' worth after the index's.
func TestListReadsInBatches(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	for range tier.MaxBatch + 1 {
		r.login("many", "", tier.MaxBatch+1)
	}
	r.take()
	devs, err := r.tiers.Devices(context.Background(), "many", "")
	r.wantCalls("Devices", "durable.GetMulti", "durable.GetMulti", "durable.GetMulti", "durable.GetMulti")
	if err != nil || len(devs) != store.MaxSessionsLimit {
		t.Errorf("Devices = %d devices, %v; want %d", len(devs), err, store.MaxSessionsLimit)
	}
	for i, d := range devs {
		if d.Handle == "" || d.LastSeen.IsZero() {
			t.Fatalf("device %d: %s", i, fmt.Sprint(d))
		}
	}
}
