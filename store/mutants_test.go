package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
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
			r.clock.advance(2 * time.Minute)
			injected := errors.New("injected Delete failure")
			r.setFault(func(_ context.Context, op, _ string) error {
				if fail && op == "durable.Delete" {
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
			r.wantCalls("read", "cache.Get", "durable.Get", "durable.Delete")
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
				case "durable.Get":
					if gets++; gets == 2 { // the confirmation: the session ended just before
						if err := r.m.Durable().Delete(ctx, id); err != nil {
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
			if got, want := r.cached(id), fmt.Sprint("flags ", store.FlagGone); got != want {
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
	r.clock.advance(2 * time.Minute)
	lowered := store.NewTiers(store.Options{Cache: r.m.Cache(), Durable: r.m.Durable(), KeyPrefix: prefix,
		Now: r.clock.now, MaxLifetime: time.Minute})
	s := lowered.Open(context.Background(), func(err error) { t.Error(err) }, nil)
	if sess := s.Get(id); sess != nil {
		t.Errorf("read = %s, want none", attrs(sess))
	}
	s.Close()
	r.wantCalls("read", "cache.Get", "durable.Get")
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
	r.setFault(func(_ context.Context, op, _ string) error {
		switch op {
		case "durable.Update":
			return indexErr
		case "durable.End":
			return endErr
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
