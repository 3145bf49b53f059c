package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
	"google.golang.org/appengine/v2/memcache"
)

// Tests that kill mutants that lived through the fast tests
// (scripts/mutation.sh): each pins an outcome, an error count or the calls
// of a path the others left open. On the model, no dev server.

// TestExpiredDurableRecordIsDeletedQuietly: a session the Cache lost and
// whose Durable record has expired is not found; the record is deleted,
// and only a failure to delete it is reported.
func TestExpiredDurableRecordIsDeletedQuietly(t *testing.T) {
	t.Parallel()
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprint("delete fails ", fail), func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.Options{})
			id := r.create(time.Minute, "a", "1")
			r.m.Evict(prefix + id)
			r.clock.Advance(2 * time.Minute)
			injected := errors.New("injected Delete failure")
			r.setFault(func(_ context.Context, op, _ string) error {
				if fail && op == "durable.DeleteMulti" {
					return injected
				}
				return nil
			})
			if got := r.read(id); got != "none" {
				t.Errorf("read = %s, want none", got)
			}
			if fail { // retried
				r.wantErrs("read", 1, "datastore", injected)
				return
			}
			r.wantCalls("read", "cache.Get", "durable.GetMulti", "durable.DeleteMulti")
			r.wantErrs("read", 0, "", nil)
			if _, ok := r.m.Record(id); ok {
				t.Error("the expired record is still stored")
			}
		})
	}
}

// TestPutBackEndedBeforeConfirmIsBuried: a session read from the Durable
// tier after a Cache miss and put back, whose record is gone when the
// put-back is confirmed, is not found: a FlagGone tombstone replaces the
// value put back, and nothing is reported (only a failure to write the
// tombstone is).
func TestPutBackEndedBeforeConfirmIsBuried(t *testing.T) {
	t.Parallel()
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprint("tombstone fails ", fail), func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.Options{})
			id := r.create(0, "a", "1")
			r.m.Evict(prefix + id)
			injected := errors.New("injected Set failure")
			gets := 0
			r.setFault(func(ctx context.Context, op, _ string) error {
				switch op {
				case "durable.GetMulti":
					if gets++; gets == 2 { // the confirmation: the session ended just before
						if err := r.m.Durable().DeleteMulti(ctx, []string{id}); err != nil {
							t.Error(err)
						}
					}
				case "cache.Set":
					if fail {
						return injected
					}
				}
				return nil
			})
			if got := r.read(id); got != "none" {
				t.Errorf("read = %s, want none", got)
			}
			if fail {
				r.wantErrs("read", 1, "memcache", injected)
				return
			}
			r.wantErrs("read", 0, "", nil)
			if got, want := r.cached(id), fmt.Sprint("flags ", tier.FlagGone); got != want {
				t.Errorf("cache holds %s, want %s", got, want)
			}
		})
	}
}

// TestLoweredMaxLifetimeEndsDurableCopy: a session older than a
// MaxLifetime set after it was written is not found when read from the
// Durable tier, whose record says it lives on.
func TestLoweredMaxLifetimeEndsDurableCopy(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(time.Hour, "a", "1")
	r.m.Evict(prefix + id)
	r.clock.Advance(2 * time.Minute)
	lowered := store.NewTiers(store.Options{Cache: r.m.Cache(), Durable: r.m.Durable(), KeyPrefix: prefix,
		Now: r.clock.Now, MaxLifetime: time.Minute})
	s := lowered.Open(context.Background(), func(err error) { t.Error(err) }, nil)
	if sess := s.Get(id); sess != nil {
		t.Errorf("read = %s, want none", attrs(sess))
	}
	s.Close()
	r.wantCalls("read", "cache.Get", "durable.GetMulti")
}

// TestDeviceUserAgentEdges: a User-Agent of exactly MaxUserAgent bytes is
// recorded whole; one longer that holds no character's start (invalid
// UTF-8, as a client may send) is recorded empty. Neither panics.
func TestDeviceUserAgentEdges(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	for _, tc := range []struct{ name, ua, want string }{
		{"at the limit", strings.Repeat("x", store.MaxUserAgent), strings.Repeat("x", store.MaxUserAgent)},
		{"no character start", strings.Repeat("\x80", store.MaxUserAgent+1), ""},
	} {
		s := r.open()
		fresh, err := s.Login(nil, store.Login{User: tc.name, UserAgent: tc.ua})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		r.ids = append(r.ids, fresh.ID())
		if devs := r.list(tc.name, ""); len(devs) != 1 || devs[0].UserAgent != tc.want {
			t.Errorf("%s: devices %+v, want User-Agent %q", tc.name, devs, tc.want)
		}
	}
}

// TestLoginFailureSaysTheNewIDMayLive: when Login cannot index the new
// session and then cannot end it either, its error says both: the new ID
// may still be readable.
func TestLoginFailureSaysTheNewIDMayLive(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	indexErr := errors.New("injected Update failure")
	endErr := errors.New("injected End failure")
	r.setFault(func(_ context.Context, op, key string) error {
		switch op {
		case "durable.Update":
			return indexErr
		case "durable.PutMulti":
			if isEnd(op, key) {
				return endErr
			}
		}
		return nil
	})
	s := r.open()
	fresh, err := s.Login(nil, store.Login{User: "ann"})
	s.Close()
	if fresh != nil || !errors.Is(err, indexErr) || !errors.Is(err, endErr) {
		t.Errorf("Login = %v, %v; want nil and an error wrapping both failures", fresh, err)
	}
	r.wantErrs("login", 1, "datastore", endErr)
}

// TestLoginReportsACacheFailure: a Login whose new session the Cache
// cannot take succeeds (the Durable tier has it) and reports that once.
func TestLoginReportsACacheFailure(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	injected := errors.New("injected Add failure")
	r.setFault(func(_ context.Context, op, _ string) error {
		if op == "cache.Add" {
			return injected
		}
		return nil
	})
	s := r.open()
	fresh, err := s.Login(nil, store.Login{User: "ann"})
	s.Close()
	if fresh == nil || err != nil {
		t.Fatalf("Login = %v, %v; want a session", fresh, err)
	}
	r.ids = append(r.ids, fresh.ID())
	r.wantErrs("login", 1, "memcache", injected)
	r.setFault(nil)
	want := fmt.Sprintf("%s=%v,_gaesession.handle=%s,_gaesession.user=ann", store.AttrAuth, fresh.Attr(store.AttrAuth), handle(fresh))
	if got := r.read(fresh.ID()); got != want {
		t.Errorf("read = %s, want the new session", got)
	}
}

// TestRenewAfterEviction: Renew of a session the request loaded, whose
// Cache item was then evicted, takes its value from the Durable tier; if
// the session ended meanwhile (a logout, its tombstone evicted), Renew
// fails with ErrGone and no ID is readable.
func TestRenewAfterEviction(t *testing.T) {
	t.Parallel()
	for _, ended := range []bool{false, true} {
		t.Run(fmt.Sprint("ended ", ended), func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.Options{})
			id := r.create(0, "a", "1")
			s := r.open()
			sess := s.Get(id)
			if ended {
				s2 := r.open()
				s2.Remove(s2.Get(id))
				s2.Close()
			}
			r.m.Evict(prefix + id)
			r.takeErrs()
			fresh, err := s.Renew(sess)
			s.Close()
			if got := r.read(id); got != "none" {
				t.Errorf("old ID reads %s, want none", got)
			}
			if ended {
				if fresh != nil || !errors.Is(err, store.ErrGone) {
					t.Errorf("Renew = %v, %v; want nil, ErrGone", fresh, err)
				}
				return
			}
			if fresh == nil || err != nil {
				t.Fatalf("Renew = %v, %v; want the session", fresh, err)
			}
			r.ids = append(r.ids, fresh.ID())
			r.wantErrs("renew", 0, "", nil)
			if got := r.read(fresh.ID()); got != "a=1" {
				t.Errorf("new ID reads %s, want a=1", got)
			}
		})
	}
}

// TestRenewKeepsTheTimeout: Renew keeps the session's timeout; Login sets
// its own, or keeps the session's when it gives none.
func TestRenewKeepsTheTimeout(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	for _, tc := range []struct {
		name  string
		login time.Duration // -1: Renew
		want  time.Duration
	}{
		{"renew", -1, 2 * time.Hour},
		{"login with a timeout", 5 * time.Minute, 5 * time.Minute},
		{"login without", 0, 2 * time.Hour},
	} {
		id := r.create(2*time.Hour, "a", "1")
		s := r.open()
		sess := s.Get(id)
		var fresh session.Session
		var err error
		if tc.login < 0 {
			fresh, err = s.Renew(sess)
		} else {
			fresh, err = s.Login(sess, store.Login{User: tc.name, Timeout: tc.login})
		}
		s.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		r.ids = append(r.ids, fresh.ID())
		if got := fresh.Timeout(); got != tc.want {
			t.Errorf("%s: timeout %v, want %v", tc.name, got, tc.want)
		}
	}
}

// conflicts returns a fault that fails the first n compare-and-swaps with
// ErrCASConflict: more than MaxSwaps, and few enough that a store that
// would try for ever ends, and fails the test, instead of hanging.
func conflicts(n int) func(context.Context, string, string) error {
	return func(_ context.Context, op, _ string) error {
		if op == "cache.CompareAndSwap" && n > 0 {
			n--
			return tier.ErrCASConflict
		}
		return nil
	}
}

// count returns how many times each call was made.
func count(calls []string) map[string]int {
	n := map[string]int{}
	for _, c := range calls {
		n[c]++
	}
	return n
}

// TestRenewGivesUpAfterMaxSwaps: a Renew whose compare-and-swap always
// conflicts tries MaxSwaps times, then fails with ErrConflict, having
// changed nothing.
func TestRenewGivesUpAfterMaxSwaps(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	s := r.open()
	sess := s.Get(id)
	r.take()
	r.setFault(conflicts(2 * store.MaxSwaps))
	fresh, err := s.Renew(sess)
	if fresh != nil || !errors.Is(err, store.ErrConflict) {
		t.Errorf("Renew = %v, %v; want nil, ErrConflict", fresh, err)
	}
	if n := count(r.take()); n["cache.Get"] != store.MaxSwaps || n["cache.CompareAndSwap"] != store.MaxSwaps || len(n) != 2 {
		t.Errorf("renew: calls %v, want %d Gets and compare-and-swaps", n, store.MaxSwaps)
	}
	s.Discard()
	r.setFault(nil)
	if got := r.read(id); got != "a=1" {
		t.Errorf("read = %s, want a=1", got)
	}
}

// TestRevocationWithoutTombstones: when the Cache takes no tombstones and
// cannot delete the sessions either, RevokeAll's error says both, and
// that the sessions may still be readable.
func TestRevocationWithoutTombstones(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	r.login("ann", "", 0)
	setErr := errors.New("injected SetMulti failure")
	delErr := errors.New("injected Delete failure")
	r.setFault(func(_ context.Context, op, _ string) error {
		switch op {
		case "cache.SetMulti":
			return setErr
		case "cache.Delete":
			return delErr
		}
		return nil
	})
	err := r.tiers.RevokeAll(context.Background(), "ann", "")
	if !errors.Is(err, store.ErrStillReadable) || !errors.Is(err, setErr) || !errors.Is(err, delErr) {
		t.Errorf("RevokeAll = %v, want ErrStillReadable wrapping both failures", err)
	}
}

// TestWriteAfterEvictionIsConfirmed: a write whose Cache item was evicted
// after the request loaded it puts the session back unconfirmed onto the
// Durable copy, checks the Durable tier again, and confirms the value after
// its Durable write: the Cache then holds an ordinary value. If the
// session ended before the check or before the confirmation, a FlagGone
// tombstone replaces the value and the write reports ErrGone once; if
// another request wrote the Durable tier before the check, the changes go
// onto its version.
func TestWriteAfterEvictionIsConfirmed(t *testing.T) {
	t.Parallel()
	gone := fmt.Sprint("flags ", tier.FlagGone)
	for _, tc := range []struct {
		name string
		at   int    // the Durable Get before which the session ends or is written (0: none)
		end  bool   // ends, else another request writes c=3
		want string // in the Cache
	}{
		{"confirmed", 0, false, "a=1,b=2"},
		{"ended before the check", 2, true, gone},
		{"ended before the confirmation", 3, true, gone},
		{"written before the check", 2, false, "a=1,b=2,c=3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.Options{})
			id := r.create(0, "a", "1")
			s := r.open()
			s.Get(id).SetAttr("b", "2")
			r.m.Evict(prefix + id)
			gets := 0
			r.setFault(func(ctx context.Context, op, _ string) error {
				if op != "durable.GetMulti" {
					return nil
				}
				if gets++; gets != tc.at {
					return nil
				}
				if tc.end {
					if err := r.m.Durable().DeleteMulti(ctx, []string{id}); err != nil {
						t.Error(err)
					}
					return nil
				}
				rec, _ := r.m.Record(id)
				sess := decode(t, rec.Value)
				sess.SetAttr("c", "3")
				v, err := memcache.Gob.Marshal(sess)
				if err != nil {
					t.Error(err)
				}
				r.m.SetRecord(id, tier.Record{Value: v, Expires: rec.Expires})
				return nil
			})
			s.Close()
			if got := r.cached(id); got != tc.want {
				t.Errorf("cache holds %s, want %s", got, tc.want)
			}
			if tc.end {
				r.wantErrs("write", 1, "", store.ErrGone)
				return
			}
			r.wantErrs("write", 0, "", nil)
			if got := r.stored(id); got != tc.want {
				t.Errorf("Durable tier holds %s, want %s", got, tc.want)
			}
		})
	}
}

// TestWriteGivesUpAfterMaxSwaps: a write whose compare-and-swap always
// conflicts tries MaxSwaps times (pausing between tries, here without
// waiting), then reports ErrConflict once.
func TestWriteGivesUpAfterMaxSwaps(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	pauses := 0
	tiers := store.NewTiersWith(store.Options{Cache: r.m.Cache(), Durable: r.m.Durable(), KeyPrefix: prefix, Now: r.clock.Now},
		store.Hooks{
			Sleep: func(ctx context.Context, _ time.Duration) error { pauses++; return ctx.Err() },
			Fork: func(ctx context.Context, f func(context.Context)) func() {
				f(ctx)
				return func() {}
			},
			Spawn: func(ctx context.Context, f func(context.Context)) { f(ctx) },
		})
	var errs []error
	s := tiers.Open(context.Background(), func(err error) { errs = append(errs, err) }, nil)
	s.Get(id).SetAttr("b", "2")
	r.take()
	r.setFault(conflicts(2 * store.MaxSwaps))
	s.Close()
	cas := count(r.take())["cache.CompareAndSwap"]
	if cas != store.MaxSwaps || pauses != store.MaxSwaps-1 {
		t.Errorf("%d compare-and-swaps, %d pauses; want %d and %d", cas, pauses, store.MaxSwaps, store.MaxSwaps-1)
	}
	if len(errs) != 1 || !errors.Is(errs[0], store.ErrConflict) {
		t.Errorf("errors %v, want one ErrConflict", errs)
	}
}

// TestLogoutWithoutTombstoneIsRevokedAgain: a logout whose Cache tombstone
// and delete both fail leaves its session readable from the Cache
// (ErrStillReadable). A login elsewhere that finds it ended in the Durable
// tier keeps its entry, marked ending, so that LogoutEverywhere ends it
// again rather than returning with it readable.
func TestLogoutWithoutTombstoneIsRevokedAgain(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	out := r.login("ann", "", 0).ID()
	r.setFault(func(_ context.Context, op, key string) error {
		if (op == "cache.Set" || op == "cache.Delete") && strings.HasSuffix(key, out) {
			return errors.New("injected Cache failure")
		}
		return nil
	})
	s := r.open()
	s.Remove(s.Get(out))
	s.Close()
	r.wantErrs("logout", 1, "memcache", store.ErrStillReadable)
	r.setFault(nil)
	keep, _ := r.login("ann", "", 0).Attr(store.AttrHandle).(string) // drops entries found ended
	if err := r.tiers.RevokeAll(context.Background(), "ann", keep); err != nil {
		t.Fatal(err)
	}
	if got := r.read(out); got != "none" {
		t.Errorf("the logged-out session after RevokeAll reads %s, want none", got)
	}
	if devs := r.list("ann", ""); len(devs) != 1 {
		t.Errorf("devices %v, want the one kept", devs)
	}
}
