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
	sess := r.newSession(0, "a", "1")
	started, release := r.hold("durable.PutMulti", sess.ID())
	s := r.open()
	s.Add(sess)
	s.Close() // returns with the Put held
	<-started
	if got := r.stored(sess.ID()); got != "gone" {
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
	if got := r.stored(sess.ID()); got != "a=1" {
		t.Errorf("durable tier holds %q after Wait", got)
	}
	// The late write checks the cache afterwards.
	r.wantCalls("async new session", "cache.Add", "durable.PutMulti", "cache.Get")
	r.wantErrs("async new session", 0, "", nil)
}

func TestAsyncSaveBeyondMaxBackgroundRunsInTheRequest(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{AsyncDatastoreSave: true, MaxBackground: 1})
	first, second := r.newSession(0, "a", "1"), r.newSession(0, "a", "2")
	started, release := r.hold("durable.PutMulti", first.ID())
	s := r.open()
	s.Add(first)
	s.Close()
	<-started // the one background slot is taken
	r.take()
	s = r.open()
	s.Add(second)
	s.Close()
	r.wantCalls("second write", "cache.Add", "durable.PutMulti", "cache.Get")
	if got := r.stored(second.ID()); got != "a=2" {
		t.Errorf("second write not done when its request closed: durable holds %q", got)
	}
	if got := r.stored(first.ID()); got != "gone" {
		t.Errorf("held write done: durable holds %q", got)
	}
	close(release)
	if err := r.tiers.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := r.stored(first.ID()); got != "a=1" {
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
