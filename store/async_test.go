package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gaesession/gaesession/store"
)

// AsyncDatastoreSave: background writes, their bound, and Tiers.Wait. The
// model's Before hook holds a background Put until the test releases it.

func TestAsyncSaveWaitWaitsForTheBackgroundPut(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{AsyncDatastoreSave: true})
	id := r.create(0, "a", "1")
	r.read(id) // vouches for the new session's Cache item
	started, release := r.hold("durable.PutMulti", id)
	r.take()
	r.set(id, "b", "2") // returns with the Put held
	<-started
	if got := r.stored(id); got != "a=1" {
		t.Fatalf("durable tier holds %q before the held Put", got)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.tiers.Wait(canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a canceled context, a write held: %v, want context.Canceled", err)
	}
	close(release)
	if err := r.tiers.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.stored(id); got != "a=1,b=2" {
		t.Errorf("durable tier holds %q after Wait", got)
	}
	// The late write checks the cache afterwards.
	r.wantCalls("async write", "cache.Get", "cache.CompareAndSwap", "durable.PutMulti", "cache.Get")
	r.wantErrs("async write", 0, "", nil)
}

// A new session's Durable write is never in the background: its Cache
// item is vouched for against the record.
func TestAsyncSaveWritesANewSessionInTheRequest(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{AsyncDatastoreSave: true})
	id := r.add(0, "a", "1")
	r.wantCalls("async new session", "durable.PutMulti", "cache.Add")
	if got := r.stored(id); got != "a=1" {
		t.Errorf("durable tier holds %q when the request closed", got)
	}
}

func TestAsyncSaveBeyondMaxBackgroundRunsInTheRequest(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{AsyncDatastoreSave: true, MaxBackground: 1})
	first, second := r.create(0, "a", "1"), r.create(0, "a", "1")
	r.read(first)
	r.read(second)
	started, release := r.hold("durable.PutMulti", first)
	r.set(first, "b", "1")
	<-started // the one background slot is taken
	r.take()
	r.set(second, "b", "2")
	r.wantCalls("second write", "cache.Get", "cache.CompareAndSwap", "durable.PutMulti", "cache.Get")
	if got := r.stored(second); got != "a=1,b=2" {
		t.Errorf("second write not done when its request closed: durable holds %q", got)
	}
	if got := r.stored(first); got != "a=1" {
		t.Errorf("held write done: durable holds %q", got)
	}
	close(release)
	if err := r.tiers.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.stored(first); got != "a=1,b=1" {
		t.Errorf("first write after Wait: durable holds %q", got)
	}
}

func TestWaitWithNothingInFlightReturnsAtOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{AsyncDatastoreSave: true})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.tiers.Wait(canceled); err != nil {
		t.Errorf("Wait with nothing in flight: %v", err)
	}
	id := r.create(0, "a", "1")
	r.set(id, "b", "2")
	if err := r.tiers.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.tiers.Wait(canceled); err != nil {
		t.Errorf("Wait after the writes finished: %v", err)
	}
	if got := r.stored(id); got != "a=1,b=2" {
		t.Errorf("durable tier holds %q after Wait", got)
	}
}

// hold makes calls of op on key wait until release is closed; started is
// closed when the first one begins.
func (r *rig) hold(op, key string) (started, release chan struct{}) {
	started, release = make(chan struct{}), make(chan struct{})
	once := sync.OnceFunc(func() { close(started) })
	r.setFault(func(_ context.Context, o, k string) error {
		if o == op && k == key {
			once()
			<-release
		}
		return nil
	})
	return started, release
}
