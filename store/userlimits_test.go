package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
)

// TestLoginBeyondMaxEndsTheLeastRecentlySeen: the limit ends the session
// seen least recently, not the oldest: a touch makes a session recent.
func TestLoginBeyondMaxEndsTheLeastRecentlySeen(t *testing.T) {
	t.Parallel()
	for _, touched := range []bool{false, true} {
		t.Run(fmt.Sprint("first touched=", touched), func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.Options{TouchInterval: time.Minute})
			a, b := r.login("ivy", "", 2), r.login("ivy", "", 2)
			ended, kept := a, b
			if touched {
				r.clock.advance(2 * time.Minute)
				r.take()
				r.read(a.ID())
				r.wantCalls("touch of the first session", "cache.Get", "cache.CompareAndSwap", "durable.Put")
				ended, kept = b, a
			}
			r.take()
			c := r.login("ivy", "", 2)
			r.wantCalls("login beyond Max, then the request's end", "cache.Add", "durable.Put", "durable.Get",
				"durable.GetMulti", "durable.Update", "cache.SetMulti", "durable.End")
			if got := r.cached(ended.ID()); got != fmt.Sprint("flags ", store.FlagRemoved) {
				t.Errorf("the least recently seen session is cached as %s, want a FlagRemoved tombstone", got)
			}
			if r.read(ended.ID()) != "none" || r.read(kept.ID()) == "none" || r.read(c.ID()) == "none" {
				t.Error("want the least recently seen session ended, the other two readable")
			}
			got, want := handles(r.list("ivy", "")), []string{handle(kept), handle(c)}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("List shows %q, want %q", got, want)
			}
		})
	}
}

// TestRevokeAllCostsTheSameForManySessions: RevokeAll marks the sessions in
// the index's transaction and ends them in one batch per tier, however many.
func TestRevokeAllCostsTheSameForManySessions(t *testing.T) {
	t.Parallel()
	for _, n := range []int{3, 30} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.Options{})
			var ss []session.Session
			for range n {
				ss = append(ss, r.login("jo", "", 0))
			}
			r.take()
			if err := r.tiers.RevokeAll(context.Background(), "jo", ""); err != nil {
				t.Fatal(err)
			}
			r.wantCalls("RevokeAll", "durable.Update", "cache.SetMulti", "durable.End")
			for i, s := range ss {
				if got := r.read(s.ID()); got != "none" {
					t.Errorf("session %d reads %q after RevokeAll", i, got)
				}
			}
			if devs := r.list("jo", ""); len(devs) != 0 {
				t.Errorf("%d devices left", len(devs))
			}
		})
	}
}

// TestUsersNeedTheDurableTier: with OnlyMemcache every user operation fails
// with ErrNoIndex and makes no call; a failed Login binds nothing.
func TestUsersNeedTheDurableTier(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{OnlyMemcache: true})
	sess := r.newSession(0, "a", "1")
	s := r.open()
	s.Add(sess)
	if fresh, err := s.Login(sess, store.Login{User: "kim"}); fresh != nil || !errors.Is(err, store.ErrNoIndex) {
		t.Errorf("Login = %v, %v; want nil, ErrNoIndex", fresh, err)
	}
	s.Close()
	r.wantErrs("Login", 1, "", store.ErrNoIndex)
	ctx := context.Background()
	if _, err := r.tiers.List(ctx, "kim", ""); !errors.Is(err, store.ErrNoIndex) {
		t.Errorf("List: %v", err)
	}
	if ok, err := r.tiers.Revoke(ctx, "kim", "h"); ok || !errors.Is(err, store.ErrNoIndex) {
		t.Errorf("Revoke: %v, %v", ok, err)
	}
	if err := r.tiers.RevokeAll(ctx, "kim", ""); !errors.Is(err, store.ErrNoIndex) {
		t.Errorf("RevokeAll: %v", err)
	}
	r.wantCalls("the session's write", "cache.Add")
	if got := r.cached(sess.ID()); got != "a=1" {
		t.Errorf("cached %q, want the session unbound", got)
	}
	for _, id := range r.m.IDs() {
		if store.IsIndexID(id) {
			t.Errorf("an index record %s was written", id)
		}
	}
}
