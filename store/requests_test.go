package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// Requests on one session that overlap, and the end of a request, on the
// model of both tiers.

func TestConcurrentWritesOfDifferentAttributesMerge(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	s1, s2 := r.open(), r.open()
	sess1, sess2 := s1.Get(id), s2.Get(id)
	sess1.SetAttr("b", "2")
	sess2.SetAttr("c", "3")
	r.take()
	s1.Close()
	r.wantCalls("first writer", "cache.CompareAndSwap", "durable.PutMulti")
	s2.Close()
	// A conflict, a read of the newer version, a swap of the merged one;
	// the merged backup is followed by a check of the cache.
	r.wantCalls("second writer", "cache.CompareAndSwap", "cache.Get", "cache.CompareAndSwap", "durable.PutMulti", "cache.Get")
	if c, d := r.cached(id), r.stored(id); c != "a=1,b=2,c=3" || d != "a=1,b=2,c=3" {
		t.Errorf("cache %q, durable %q; want a=1,b=2,c=3 in both", c, d)
	}
	r.wantErrs("merge", 0, "", nil)
}

func TestRemoveLeavesTombstonesThatAnEarlierRequestCannotUndo(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	earlier := r.open()
	sess := earlier.Get(id)
	logout := r.open()
	logout.Remove(logout.Get(id))
	r.wantCalls("Remove", "cache.Get", "cache.Get", "cache.Set", "durable.PutMulti", "durable.DeleteMulti")
	if got := r.cached(id); got != "flags 1" {
		t.Errorf("cache holds %q, want a FlagRemoved tombstone", got)
	}
	if _, ok := r.m.Record(id + tier.EndSuffix); !ok {
		t.Error("no durable tombstone")
	}
	logout.Close()
	sess.SetAttr("b", "2")
	earlier.Close()
	r.wantCalls("write-back after the logout", "cache.CompareAndSwap", "cache.Get")
	r.wantErrs("logout wins", 0, "", nil)
	if c, d := r.cached(id), r.stored(id); c != "flags 1" || d != "gone" {
		t.Errorf("cache %q, durable %q; want the tombstone and no record", c, d)
	}
	if got := r.read(id); got != "none" {
		t.Errorf("removed session read as %q", got)
	}
	r.wantCalls("read after the logout", "cache.Get")
}

func TestRenewTakesTheNewestValueAndRetiresTheOldID(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	renewer, writer, late := r.open(), r.open(), r.open()
	old := renewer.Get(id)
	old.SetAttr("r", "1")
	writer.Get(id).SetAttr("w", "1")
	late.Get(id).SetAttr("late", "1")
	writer.Close() // lands after the renewer loaded
	r.take()
	fresh, err := renewer.Renew(old)
	if err != nil {
		t.Fatal(err)
	}
	// The second Get checks, once the Durable tier has ended the old ID,
	// that no put-back was confirmed in between.
	r.wantCalls("Renew", "cache.Get", "cache.CompareAndSwap", "durable.PutMulti", "durable.DeleteMulti", "cache.Get")
	if fresh.ID() == id || len(fresh.ID()) != len(id) || !store.ValidID(fresh.ID(), len(prefix)) {
		t.Errorf("new ID %q for %q", fresh.ID(), id)
	}
	renewer.Close()
	r.wantCalls("Close after Renew", "cache.Add", "durable.PutMulti")
	if got := r.read(fresh.ID()); got != "a=1,r=1,w=1" {
		t.Errorf("renewed session read as %q, want a=1,r=1,w=1", got)
	}
	if got := r.read(id); got != "none" {
		t.Errorf("old ID read as %q", got)
	}
	if c, d := r.cached(id), r.stored(id); c != "flags 2" || d != "gone" {
		t.Errorf("old ID: cache %q, durable %q; want a FlagRenewed tombstone and no record", c, d)
	}
	r.take()
	late.Close()
	r.wantCalls("late writer", "cache.CompareAndSwap", "cache.Get")
	if errs := r.takeErrs(); len(errs) != 1 || !errors.Is(errs[0], store.ErrRenewed) {
		t.Errorf("late writer reported %v, want one ErrRenewed", errs)
	}
	if got := r.cached(id); got != "flags 2" {
		t.Errorf("late writer left %q under the old ID", got)
	}
}

func TestSetAttrAfterCloseIsLoggedNotSaved(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	s := r.open()
	sess := s.Get(id)
	s.Close()
	r.take()
	sess.SetAttr("late", "1")
	s.Close()
	r.wantCalls("SetAttr after Close")
	log := r.log.String()
	if !strings.Contains(log, "err.op=set-attr") || !strings.Contains(log, store.ErrClosed.Error()) ||
		!strings.Contains(log, store.ShortID(id)) {
		t.Errorf("log %q, want a set-attr error with ErrClosed and the short ID", log)
	}
	if c, d := r.cached(id), r.stored(id); c != "a=1" || d != "a=1" {
		t.Errorf("cache %q, durable %q; want a=1 unchanged", c, d)
	}
}

func TestDiscardWritesNothing(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	s := r.open()
	s.Get(id).SetAttr("b", "2")
	added := r.newSession(0, "n", "1")
	s.Add(added)
	s.Discard()
	s.Close()
	r.wantCalls("Discard and Close", "cache.Get")
	if got := r.read(id); got != "a=1" {
		t.Errorf("discarded change saved: %q", got)
	}
	if c, d := r.cached(added.ID()), r.stored(added.ID()); c != "gone" || d != "gone" {
		t.Errorf("discarded new session stored: cache %q, durable %q", c, d)
	}
}

// TestRenewAfterStaleRefillKeepsCompletedWrite replays the interleaving of
// simulation seed 6295. A request whose cache Get failed has read the
// durable copy; before its write-back reaches the cache, another request's
// write completes and the cache evicts the session; before the write-back's
// next call, a Renew takes the session over. The completed write must be in
// the renewed session, and the stale request must not report success.
func TestRenewAfterStaleRefillKeepsCompletedWrite(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	r.setFault(failing("cache.Get"))
	stale := r.open()
	sess := stale.Get(id)
	r.setFault(nil)
	r.wantErrs("load with the cache failing", 1, "memcache", nil)
	sess.SetAttr("s", "1")

	var fresh session.Session
	step, inside := 0, false
	r.setFault(func(_ context.Context, op, _ string) error {
		if inside {
			return nil // a call of the requests run below
		}
		inside = true
		defer func() { inside = false }()
		switch {
		case step == 0 && (op == "cache.Add" || op == "cache.CompareAndSwap"):
			step++
			r.set(id, "w", "1") // completes: cache and durable
			r.m.Evict(prefix + id)
		case step == 1:
			step++
			renewer := r.open()
			var err error
			if fresh, err = renewer.Renew(renewer.Get(id)); err != nil {
				t.Errorf("Renew: %v", err)
			}
			renewer.Close()
		}
		return nil
	})
	stale.Close()
	r.setFault(nil)
	if step != 2 || fresh == nil {
		t.Fatalf("interleaving not reached (step %d)", step)
	}
	if got := r.read(fresh.ID()); !strings.Contains(got, "w=1") {
		t.Errorf("renewed session holds %q: the completed write w=1 is lost", got)
	}
	errs := r.takeErrs()
	if len(errs) != 1 || !errors.Is(errs[0], store.ErrGone) && !errors.Is(errs[0], store.ErrRenewed) {
		t.Errorf("stale request reported %v, want one ErrGone or ErrRenewed", errs)
	}
	if got := r.read(id); got != "none" {
		t.Errorf("old ID read as %q", got)
	}
}

// TestRefillRetiredBeforeItsCheckIsReported: a request puts the session
// back after an eviction; before it checks the durable copy again, another
// request writes onto its value and a Renew retires the ID (its durable End
// failing, so the record stays). The refilling request finds the tombstone:
// it is told ErrRenewed and writes nothing more.
func TestRefillRetiredBeforeItsCheckIsReported(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{Retries: 1})
	id := r.create(0, "a", "1")
	refiller := r.open()
	refiller.Get(id).SetAttr("s", "1")

	step, inside := 0, false
	var calls []string
	r.setFault(func(_ context.Context, op, key string) error {
		if inside {
			if isEnd(op, key) {
				return errors.New("injected failure of an End's tombstones")
			}
			return nil // a call of the requests run below
		}
		inside = true
		defer func() { inside = false }()
		if step == 2 {
			calls = append(calls, op)
		}
		switch {
		case step == 0 && op == "cache.CompareAndSwap":
			step++
			r.m.Evict(prefix + id)
		case step == 1 && op == "durable.GetMulti" && r.cached(id) != "gone":
			step++ // the check after the refill's Add
			r.set(id, "w", "1")
			renewer := r.open()
			if _, err := renewer.Renew(renewer.Get(id)); !errors.Is(err, store.ErrStillReadable) {
				t.Errorf("Renew: %v, want ErrStillReadable", err)
			}
			renewer.Close()
			r.takeErrs()
		}
		return nil
	})
	refiller.Close()
	r.setFault(nil)
	if step != 2 {
		t.Fatalf("interleaving not reached (step %d)", step)
	}
	if want := []string{"cache.Get"}; !slices.Equal(calls, want) {
		t.Errorf("refiller's calls after the Renew: %q, want %q", calls, want)
	}
	if errs := r.takeErrs(); len(errs) != 1 || !errors.Is(errs[0], store.ErrRenewed) {
		t.Errorf("refiller reported %v, want one ErrRenewed", errs)
	}
}

// TestTombstoneLifetimes: the tombstones of an ended session, in both
// tiers, last as long as the session could still have lived (its
// timeout, and 10 minutes for write-backs landing late), at least an
// hour: after a logout, and after a revocation,
// whose index entry records the timeout. An entry of an earlier release
// records none: its revocation's last 400 days (Memcache keeps an item 30
// days at most).
func TestTombstoneLifetimes(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	const slack = 10 * time.Minute // beyond the timeout, for write-backs landing late
	for _, tc := range []struct {
		name        string
		timeout     time.Duration
		revoke      bool
		old         bool // the index entry records no timeout
		renewed     bool // renewed before the revocation: its entry keeps the timeout
		cache, want time.Duration
	}{
		{"logout, 2 hours", 2 * time.Hour, false, false, false, 2*time.Hour + slack, 2*time.Hour + slack},
		{"logout, 10 minutes", 10 * time.Minute, false, false, false, time.Hour, time.Hour},
		{"revocation, 2 hours", 2 * time.Hour, true, false, false, 2*time.Hour + slack, 2*time.Hour + slack},
		{"revocation, 10 minutes", 10 * time.Minute, true, false, false, time.Hour, time.Hour},
		{"revocation, 100 days", 100 * day, true, false, false, 30 * day, 100*day + slack},
		{"revocation, 500 days", 500 * day, true, false, false, 30 * day, 500*day + slack},
		{"revocation after a Renew, 2 hours", 2 * time.Hour, true, false, true, 2*time.Hour + slack, 2*time.Hour + slack},
		{"revocation, entry without timeout", 2 * time.Hour, true, true, false, 30 * day, 400*day + slack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, store.Options{})
			var id string
			user := "ann"
			if tc.revoke {
				s := r.open()
				sess, err := s.Login(nil, store.Login{User: user, Timeout: tc.timeout})
				s.Close()
				if err != nil {
					t.Fatal(err)
				}
				id = sess.ID()
				if tc.renewed {
					s := r.open()
					fresh, err := s.Renew(s.Get(id))
					s.Close()
					if err != nil {
						t.Fatal(err)
					}
					id = fresh.ID()
				}
				if tc.old {
					dropEntryTimeouts(t, r.m.Durable(), store.IndexID(user))
				}
			} else {
				id = r.create(tc.timeout, "a", "1")
			}
			before := r.clock.Now()
			if tc.revoke {
				if err := r.tiers.RevokeAll(context.Background(), user, ""); err != nil {
					t.Fatal(err)
				}
			} else {
				s := r.open()
				s.Remove(s.Get(id))
				s.Close()
			}
			after := r.clock.Now()
			item, _ := r.m.CacheItem(prefix + id)
			rec, _ := r.m.Record(id + tier.EndSuffix)
			for _, c := range []struct {
				tier string
				exp  time.Time
				want time.Duration
			}{{"cache", item.Expires, tc.cache}, {"durable", rec.Expires, tc.want}} {
				if c.exp.Before(before.Add(c.want-time.Second)) || c.exp.After(after.Add(c.want+time.Second)) {
					t.Errorf("%s tombstone expires %v after the end, want %v", c.tier, c.exp.Sub(before).Round(time.Second), c.want)
				}
			}
		})
	}
}

// dropEntryTimeouts rewrites a user's index as an earlier release wrote
// it: its entries record no timeout.
func dropEntryTimeouts(t *testing.T, d tier.Durable, ix string) {
	t.Helper()
	err := d.Update(context.Background(), ix, func(rec tier.Record, _ bool) (tier.Record, error) {
		var v struct {
			S  []map[string]any `json:"s"`
			KP *string          `json:"kp,omitempty"`
		}
		if err := json.Unmarshal(rec.Value, &v); err != nil {
			return rec, err
		}
		for _, e := range v.S {
			if _, ok := e["t"]; !ok {
				return rec, errors.New("an entry records no timeout")
			}
			delete(e, "t")
		}
		b, err := json.Marshal(v)
		rec.Value = b
		return rec, err
	})
	if err != nil {
		t.Fatal(err)
	}
}
