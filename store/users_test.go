package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// Sessions per user (Login, Devices, Revoke, RevokeAll) on the model of both
// tiers, with exact call counts. Sweep is in sweep_test.go.

// login runs a request that logs user in, on the session id ("": none)
// and with Max max (and the rig's loginTimeout), and returns the new
// session, written at the end.
func (r *rig) login(user, id string, max int) session.Session {
	r.t.Helper()
	s := r.open()
	defer s.Close()
	var sess session.Session
	if id != "" {
		if sess = s.Get(id); sess == nil {
			r.t.Fatalf("login: session %s not found", store.ShortID(id))
		}
	}
	fresh, err := s.Login(sess, store.Login{User: user, UserAgent: "UA of " + user, IP: "192.0.2.1", Max: max, Timeout: r.loginTimeout})
	if err != nil {
		r.t.Fatalf("login of %s: %v", user, err)
	}
	r.mu.Lock()
	r.ids = append(r.ids, fresh.ID())
	r.mu.Unlock()
	return fresh
}

// list returns the user's devices, failing the test on an error.
func (r *rig) list(user, current string) []store.Device {
	r.t.Helper()
	devs, err := r.tiers.Devices(context.Background(), user, current)
	if err != nil {
		r.t.Fatalf("Devices(%s): %v", user, err)
	}
	return devs
}

// handles returns the handles of devs, in order.
func handles(devs []store.Device) []string {
	hs := make([]string, len(devs))
	for i, d := range devs {
		hs[i] = d.Handle
	}
	return hs
}

func handle(sess session.Session) string { s, _ := sess.Attr(store.AttrHandle).(string); return s }

func TestLoginBindsTheSessionToTheUser(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	old := r.create(0, "a", "1")
	fresh := r.login("ann", old, 0)
	r.take()
	if fresh.ID() == old || fresh.Attr(store.AttrUser) != "ann" || handle(fresh) == "" || fresh.Attr("a") != "1" {
		t.Errorf("login gave ID changed %v, attrs %s; want a new ID with a=1, the user and a handle",
			fresh.ID() != old, attrs(fresh))
	}
	if got := r.read(old); got != "none" {
		t.Errorf("old ID still reads %q", got)
	}
	if _, ok := store.AuthTime(fresh); !ok {
		t.Errorf("login recorded no AuthTime: %v", fresh.Attr(store.AttrAuth))
	}
	want := fmt.Sprintf("%s=%s,%s=%s,%s=ann,a=1", store.AttrAuth, fresh.Attr(store.AttrAuth), store.AttrHandle, handle(fresh), store.AttrUser)
	if got := r.read(fresh.ID()); got != want {
		t.Errorf("new ID reads %q, want %q", got, want)
	}
	ix, ok := r.m.Record(store.IndexID("ann"))
	sess, _ := r.m.Record(fresh.ID())
	if !ok || ix.Expires.Before(sess.Expires) {
		t.Errorf("index record found %v expiring %v, want one expiring no sooner than the session (%v)", ok, ix.Expires, sess.Expires)
	}
	if got := handles(r.list("ann", "")); len(got) != 1 || got[0] != handle(fresh) {
		t.Errorf("index lists %q, want the new session's handle", got)
	}
	r.wantErrs("login", 0, "", nil)
}

func TestLoginWithoutSessionStartsOne(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	s := r.open()
	fresh, err := s.Login(nil, store.Login{User: "bob", Timeout: time.Hour})
	r.wantCalls("login of a new user", "cache.Add", "durable.PutMulti", "durable.GetMulti", "durable.Update")
	if err != nil || fresh == nil || fresh.Timeout() != time.Hour {
		t.Fatalf("Login(nil) = %v, %v; want a session of an hour", fresh, err)
	}
	r.ids = append(r.ids, fresh.ID())
	s.Close()
	r.wantCalls("its end, nothing changed since")
	if got := r.stored(fresh.ID()); got != fmt.Sprintf("%s=%s,%s=%s,%s=bob", store.AttrAuth, fresh.Attr(store.AttrAuth), store.AttrHandle, handle(fresh), store.AttrUser) {
		t.Errorf("stored %q", got)
	}
}

func TestListShowsEachDevice(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	start := time.Now()
	a, b := r.login("cy", "", 0), r.login("cy", "", 0)
	r.take()
	devs := r.list("cy", handle(b))
	r.wantCalls("Devices", "durable.GetMulti", "durable.GetMulti")
	if got, want := handles(devs), []string{handle(a), handle(b)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Devices shows %q, want %q (oldest first)", got, want)
	}
	for i, d := range devs {
		if d.Current != (i == 1) || d.UserAgent != "UA of cy" || d.IP != "192.0.2.1" ||
			d.LastSeen.Before(start) || d.Created.Before(start) {
			t.Errorf("device %d: %+v; want UA and IP as given, LastSeen and Created set, current only for b", i, d)
		}
	}
}

func TestRevokeEndsTheSessionInBothTiers(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	a, b := r.login("dee", "", 0), r.login("dee", "", 0)
	late, _ := r.m.Record(a.ID())
	r.take()
	ok, err := r.tiers.Revoke(context.Background(), "dee", handle(a))
	r.wantCalls("Revoke", "durable.Update", "cache.SetMulti", "durable.PutMulti", "durable.DeleteMulti")
	if !ok || err != nil {
		t.Fatalf("Revoke = %v, %v; want true", ok, err)
	}
	if c := r.cached(a.ID()); c != fmt.Sprint("flags ", tier.FlagRemoved) {
		t.Errorf("cache holds %s, want a FlagRemoved tombstone", c)
	}
	// A write-back that read the session before lands after.
	ctx := context.Background()
	if err := r.m.Durable().PutMulti(ctx, []string{a.ID()}, []tier.Record{late}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ReadRecord(ctx, r.m.Durable(), a.ID()); !errors.Is(err, tier.ErrNotFound) {
		t.Errorf("durable read after a late Put: %v, want ErrNotFound", err)
	}
	r.m.Evict(prefix + a.ID())
	if got := r.read(a.ID()); got != "none" {
		t.Errorf("revoked session reads %q", got)
	}
	if got := handles(r.list("dee", "")); len(got) != 1 || got[0] != handle(b) || r.read(b.ID()) == "none" {
		t.Errorf("after Revoke the user has %q, want only the other session, still readable", got)
	}
}

func TestRevokeIgnoresAnotherUsersHandle(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	a := r.login("eve", "", 0)
	r.login("fay", "", 0)
	r.take()
	for _, h := range []string{handle(a), "no-such-handle"} {
		if ok, err := r.tiers.Revoke(context.Background(), "fay", h); ok || err != nil {
			t.Errorf("Revoke(fay, %s) = %v, %v; want false", h, ok, err)
		}
		r.wantCalls("Revoke of another's handle", "durable.Update")
	}
	if got := r.read(a.ID()); got == "none" || len(r.list("eve", "")) != 1 || len(r.list("fay", "")) != 1 {
		t.Errorf("eve's session reads %q after fay revoked its handle", got)
	}
}

func TestRevokeAllKeepsOneOrNone(t *testing.T) {
	t.Parallel()
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprint("keep=", keep), func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.Options{})
			ss := []session.Session{r.login("gus", "", 0), r.login("gus", "", 0), r.login("gus", "", 0)}
			other := r.login("hal", "", 0)
			kept := ""
			if keep {
				kept = handle(ss[1])
			}
			if err := r.tiers.RevokeAll(context.Background(), "gus", kept); err != nil {
				t.Fatal(err)
			}
			for i, s := range ss {
				if got := r.read(s.ID()); (got != "none") != (keep && i == 1) {
					t.Errorf("session %d reads %q", i, got)
				}
			}
			if got := handles(r.list("gus", "")); keep && (len(got) != 1 || got[0] != kept) || !keep && len(got) != 0 {
				t.Errorf("gus has %q left", got)
			}
			if r.read(other.ID()) == "none" {
				t.Error("another user's session was ended")
			}
		})
	}
}

// TestLoginDuringRenewKeepsIt: another device's login that reads the index
// while a Renew of a bound session is between retiring the old ID and
// moving its entry finds the old ID gone. The Renew still succeeds, keeping
// its handle and its place in the list.
func TestLoginDuringRenewKeepsIt(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	a := r.login("ann", "", 0)
	ix := store.IndexID("ann")
	r.setFault(func(_ context.Context, op, key string) error {
		if op == "durable.Update" && key == ix { // Renew's move
			r.setFault(nil)
			r.login("ann", "", 0)
		}
		return nil
	})
	s := r.open()
	fresh, err := s.Renew(s.Get(a.ID()))
	s.Close()
	if err != nil {
		t.Fatalf("Renew: %v, want the session renewed", err)
	}
	if handle(fresh) != handle(a) || r.read(fresh.ID()) == "none" {
		t.Errorf("renewed session: handle %q (want %q), reads %s", handle(fresh), handle(a), r.read(fresh.ID()))
	}
	if devs := r.list("ann", handle(fresh)); len(devs) != 2 || !devs[0].Current {
		t.Errorf("devices %+v, want the renewed session (current) and the new login", devs)
	}
}

// TestLimitMarksGoneEntriesFirst: at the per-user limit, a login marks an
// entry found logged out before any live one, however recently that one
// was seen: the live session stays.
func TestLimitMarksGoneEntriesFirst(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	b := r.login("ann", "", 2)
	r.clock.Advance(time.Minute)
	a := r.login("ann", "", 2) // newer than b
	s := r.open()
	s.Remove(s.Get(a.ID()))
	s.Close()
	c := r.login("ann", "", 2) // finds a gone: at the limit with b
	if got := r.read(b.ID()); got == "none" {
		t.Errorf("the live session b ended; want the logged-out entry marked instead")
	}
	if got, want := handles(r.list("ann", "")), []string{handle(b), handle(c)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("devices %q, want %q", got, want)
	}
	r.wantErrs("logins", 0, "", nil)
}

// TestLimitCountsARenewInFlight: a login at the per-user limit while a
// Renew is between retiring its old ID and moving its entry counts that
// entry (found gone) and marks it first: the Renew fails with ErrGone,
// and the user is left with the limit's number of sessions.
func TestLimitCountsARenewInFlight(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	a := r.login("ann", "", 2)
	b := r.login("ann", "", 2)
	var c session.Session
	ix := store.IndexID("ann")
	r.setFault(func(_ context.Context, op, key string) error {
		if op == "durable.Update" && key == ix { // b's Renew moving its entry
			r.setFault(nil)
			c = r.login("ann", "", 2)
		}
		return nil
	})
	s := r.open()
	fresh, err := s.Renew(s.Get(b.ID()))
	s.Close()
	if fresh != nil || !errors.Is(err, store.ErrGone) {
		t.Errorf("Renew = %v, %v; want nil, ErrGone", fresh, err)
	}
	if got, want := handles(r.list("ann", "")), []string{handle(a), handle(c)}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("devices %q, want %q", got, want)
	}
	if r.read(a.ID()) == "none" || r.read(c.ID()) == "none" || r.read(b.ID()) != "none" {
		t.Errorf("a reads %s, c %s, b %s; want a and c live, b ended", r.read(a.ID()), r.read(c.ID()), r.read(b.ID()))
	}
}
