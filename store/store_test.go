package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
)

// Unit tests of the protocol on the model of both tiers (no dev server),
// with exact call counts. TestSimulation covers interleavings and faults.

func TestNewSessionWritesBothTiersOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	sess := r.newSession(0, "a", "1")
	s := r.open()
	s.Add(sess)
	r.wantCalls("Add")
	s.Close()
	r.wantCalls("Close", "cache.Add", "durable.PutMulti")
	s.Close()
	r.wantCalls("second Close")
	if c, d := r.cached(sess.ID()), r.stored(sess.ID()); c != "a=1 unconfirmed" || d != "a=1" {
		t.Errorf("cache %q, durable %q; want a=1 in both, unconfirmed in the Cache", c, d)
	}
	r.wantErrs("new session", 0, "", nil)
}

// The first read of a new session checks its record and vouches for its
// Cache item (compare-and-swap to flag 0); later reads cost one Get.
func TestFirstReadVouchesForANewSession(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.add(0, "a", "1")
	r.take()
	if got := r.read(id); got != "a=1" {
		t.Fatalf("first read: %q", got)
	}
	r.wantCalls("first read", "cache.Get", "durable.GetMulti", "cache.CompareAndSwap")
	if got := r.cached(id); got != "a=1" {
		t.Errorf("cache holds %q after the first read, want a=1 vouched for", got)
	}
	r.read(id)
	r.wantCalls("second read", "cache.Get")
}

// A request that writes the session it found unconfirmed vouches for it
// with its own compare-and-swap: no call more than the read's check.
func TestFirstWriteVouchesForANewSession(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.add(0, "a", "1")
	r.take()
	r.set(id, "b", "2")
	r.wantCalls("first write", "cache.Get", "durable.GetMulti", "cache.CompareAndSwap", "durable.PutMulti")
	if got := r.cached(id); got != "a=1,b=2" {
		t.Errorf("cache holds %q after the first write, want a=1,b=2 vouched for", got)
	}
}

func TestReadOnlyRequestCostsOneCacheGet(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	s := r.open()
	if got := attrs(s.Get(id)); got != "a=1" {
		t.Fatalf("read %q", got)
	}
	s.Get(id) // again in the same request: no call
	s.Close()
	r.wantCalls("read-only request", "cache.Get")
	if got := r.read(strings.Repeat("A", 24)); got != "none" {
		t.Errorf("unknown ID read as %q", got)
	}
	r.wantCalls("unknown ID", "cache.Get", "durable.GetMulti")
}

// TestGetAfterReadOnlyClose: after Close, a Get (from a goroutine of the
// request) outlives the request's context whether Close wrote or not.
func TestGetAfterReadOnlyClose(t *testing.T) {
	t.Parallel()
	for _, write := range []bool{false, true} {
		r := newRig(t, store.Options{})
		a, b := r.create(0, "a", "1"), r.create(0, "b", "2")
		r.take()
		ctx, cancel := context.WithCancel(context.Background())
		s := r.tiers.Open(ctx, nil, nil)
		sess := s.Get(a)
		if write {
			sess.SetAttr("a", "3")
		}
		s.Close()
		cancel()
		if got := attrs(s.Get(b)); got != "b=2" {
			t.Errorf("write %v: Get after Close and cancel: %q", write, got)
		}
	}
}

func TestSetAttrWritesBothTiers(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	r.set(id, "b", "2")
	r.wantCalls("write", "cache.Get", "cache.CompareAndSwap", "durable.PutMulti")
	if c, d := r.cached(id), r.stored(id); c != "a=1,b=2" || d != "a=1,b=2" {
		t.Errorf("cache %q, durable %q; want a=1,b=2 in both", c, d)
	}
}

func TestTouchOnlyAfterTouchInterval(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{TouchInterval: time.Minute})
	id := r.create(0, "a", "1")
	before, _ := r.m.Record(id)
	accessed := r.accessed(id)
	r.clock.Set(accessed.Add(59 * time.Second))
	r.read(id)
	r.wantCalls("read before TouchInterval", "cache.Get")
	r.clock.Set(accessed.Add(time.Minute))
	r.read(id)
	r.wantCalls("read after TouchInterval", "cache.Get", "cache.CompareAndSwap", "durable.PutMulti")
	// The stored access time is the wall clock's (icza/session's Access).
	after, _ := r.m.Record(id)
	if !after.Expires.After(before.Expires) {
		t.Errorf("touch did not extend the expiry: %v, then %v", before.Expires, after.Expires)
	}
	r.clock.Set(r.accessed(id).Add(59 * time.Second))
	r.read(id)
	r.wantCalls("read 59 s after the touch", "cache.Get")
}

// TestTouchIntervalDefault: without TouchInterval, a read writes a session
// back once a tenth of its timeout has passed since its stored access.
func TestTouchIntervalDefault(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(10*time.Minute, "a", "1")
	accessed := r.accessed(id)
	r.clock.Set(accessed.Add(time.Minute - time.Second))
	r.read(id)
	r.wantCalls("read before a tenth of the timeout", "cache.Get")
	r.clock.Set(accessed.Add(time.Minute))
	r.read(id)
	r.wantCalls("read after a tenth of the timeout", "cache.Get", "cache.CompareAndSwap", "durable.PutMulti")
}

func TestExpiredSessionIsAbsent(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(10*time.Minute, "a", "1")
	r.clock.Set(r.accessed(id).Add(10*time.Minute - time.Nanosecond))
	if got := r.read(id); got != "a=1" {
		t.Fatalf("read before the timeout: %q", got)
	}
	r.take()
	r.clock.Set(r.accessed(id).Add(10 * time.Minute)) // that read may have touched it
	if got := r.read(id); got != "none" {
		t.Errorf("cached session past its timeout read as %q", got)
	}
	r.wantCalls("expired in the cache", "cache.Get")
	r.m.Evict(prefix + id)
	if got := r.read(id); got != "none" {
		t.Errorf("durable session past its timeout read as %q", got)
	}
	r.wantCalls("expired in the durable tier", "cache.Get", "durable.GetMulti", "durable.DeleteMulti")
	if _, ok := r.m.Record(id); ok {
		t.Error("expired durable record not deleted")
	}
}

func TestMaxLifetimeEndsATouchedSession(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{MaxLifetime: time.Hour})
	id := r.create(24*time.Hour, "a", "1")
	r.clock.Advance(50 * time.Minute)
	r.set(id, "b", "2") // written back: expiry still creation plus MaxLifetime
	if got := r.read(id); got != "a=1,b=2" {
		t.Fatalf("young session read as %q", got)
	}
	r.clock.Advance(11 * time.Minute)
	if got := r.read(id); got != "none" {
		t.Errorf("session past MaxLifetime read from the cache as %q", got)
	}
	r.m.Evict(prefix + id)
	r.take()
	if got := r.read(id); got != "none" {
		t.Errorf("session past MaxLifetime read from the durable tier as %q", got)
	}
	r.wantCalls("past MaxLifetime", "cache.Get", "durable.GetMulti", "durable.DeleteMulti")
}

func TestEvictedSessionIsReadFromDurableAndPutBack(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	r.m.Evict(prefix + id)
	if got := r.read(id); got != "a=1" {
		t.Fatalf("evicted session read as %q", got)
	}
	// Put back unconfirmed (cache.Add), then confirmed after a second read
	// of the durable tier (durable.Get, cache.Get, cache.CompareAndSwap).
	r.wantCalls("fallback read", "cache.Get", "durable.GetMulti", "cache.Add",
		"durable.GetMulti", "cache.Get", "cache.CompareAndSwap")
	if got := r.cached(id); got != "a=1" {
		t.Errorf("cache holds %q after the put-back", got)
	}
	r.read(id)
	r.wantCalls("read after the put-back", "cache.Get")
}

func TestCorruptCacheValueIsReplaced(t *testing.T) {
	t.Parallel()
	cases := map[string]func(r *rig, id string) []byte{
		"junk": func(*rig, string) []byte { return []byte("junk") },
		"another session's value": func(r *rig, _ string) []byte {
			it, _ := r.m.CacheItem(prefix + r.create(0, "x", "9"))
			return it.Value
		},
		"a negative timeout": func(r *rig, id string) []byte {
			b, err := store.Gob.Marshal(struct {
				IDF      string
				TimeoutF time.Duration
			}{id, -time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			r := newRig(t, store.Options{})
			id := r.create(0, "a", "1")
			it, _ := r.m.CacheItem(prefix + id)
			it.Value = value(r, id)
			if err := r.m.Cache().CompareAndSwap(context.Background(), &it); err != nil {
				t.Fatal(err)
			}
			r.take()
			if got := r.read(id); got != "a=1" {
				t.Fatalf("read %q, want the durable copy", got)
			}
			r.wantCalls("read", "cache.Get", "durable.GetMulti", "cache.CompareAndSwap", // unconfirmed
				"durable.GetMulti", "cache.Get", "cache.CompareAndSwap") // confirmed
			r.wantErrs("read", 1, "memcache", store.ErrCorrupt)
			if got := r.cached(id); got != "a=1" {
				t.Errorf("cache holds %q, want the durable copy", got)
			}
		})
	}
}
