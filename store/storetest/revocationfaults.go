package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// indexIDs returns the session IDs a stored index names.
func indexIDs(t *testing.T, b []byte) []string {
	t.Helper()
	var ix struct {
		S []struct {
			ID string `json:"id"`
		} `json:"s"`
	}
	if err := json.Unmarshal(b, &ix); err != nil {
		t.Fatalf("decoding the index: %v", err)
	}
	ids := make([]string, len(ix.S))
	for i, e := range ix.S {
		ids[i] = e.ID
	}
	return ids
}

// Revocation cases with failed calls and the passing of time: an entry
// leaves a user's index only once its session is ended in both tiers,
// whatever the Durable tier says and however long ago it was marked.

// longLogin logs the user in with a session that outlives the hours these
// cases move the clock by.
func (rt *revT) longLogin() session.Session {
	rt.Helper()
	s := rt.open()
	defer s.Close()
	fresh, err := s.Login(nil, store.Login{User: rt.user, UserAgent: "test", Timeout: 24 * time.Hour})
	if err != nil {
		rt.Fatalf("login: %v", err)
	}
	return fresh
}

// listed reports whether the user's index still names id, shown or not:
// only then can a revocation reach it.
func (rt *revT) listed(id string) bool {
	rt.Helper()
	rec, err := store.ReadRecord(rt.ctx, rt.raw.Durable, rt.ix)
	if errors.Is(err, tier.ErrNotFound) {
		return false
	}
	if err != nil {
		rt.Fatalf("reading the index: %v", err)
	}
	return slices.Contains(indexIDs(rt.T, rec.Value), rt.sid(id))
}

// visit runs a request that reads the session id and closes: the first
// read of a new session vouches for its Cache item (flag 0).
func (rt *revT) visit(id string) {
	rt.Helper()
	s := rt.open()
	defer s.Close()
	if s.Get(id) == nil {
		rt.Fatal("visit: session not found")
	}
}

// wantReachable fails the test when the session id is readable but no
// longer in its user's index: live, and out of every revocation's reach.
func (rt *revT) wantReachable(what, id string) {
	rt.Helper()
	if rt.readable(id) && !rt.listed(id) {
		rt.Errorf("%s: the session is readable but no longer in its user's index", what)
	}
}

// expiredDurableCopy: a write-back whose Durable Put failed leaves the
// Durable copy older than the Cache's, and it expires first. A clean-up
// (a login elsewhere, or Sweep) that then finds it expired keeps it within
// reach (or ends it in both tiers before it drops it): log out everywhere
// ends it.
func expiredDurableCopy(rt *revT, sweep bool) {
	a, b := rt.longLogin(), rt.longLogin()
	rt.visit(a.ID()) // its Cache item vouched for, as by any request
	rec, err := store.ReadRecord(rt.ctx, rt.raw.Durable, rt.sid(a.ID()))
	if err != nil {
		rt.Fatal(err)
	}
	rec.Expires = rt.now().Add(-time.Minute)
	if err := rt.raw.Durable.PutMulti(rt.ctx, []string{rt.sid(a.ID())}, []tier.Record{rec}); err != nil {
		rt.Fatal(err)
	}
	rt.wantLive("the session, from the Cache", a.ID())
	if sweep {
		if _, _, _, err := rt.tiers.Sweep(rt.ctx, rt.now(), []string{rt.ix}); err != nil {
			rt.Fatalf("Sweep: %v", err)
		}
	} else {
		rt.longLogin()
	}
	rt.wantReachable("after the clean-up", a.ID())
	rt.revoke(true, a, b)
	rt.wantEnded("after log out everywhere", a.ID())
	rt.wantErrs("clean-up, revocation", 0, nil)
}

// logoutDuringOutage: a logout whose Cache tombstone and delete both fail
// (reported) leaves the session readable from the Cache. A login finds it
// gone and keeps it listed; one over an hour later ends it in both tiers
// before it drops it, so the stolen cookie reads nothing after log out
// everywhere.
func logoutDuringOutage(rt *revT) {
	a := rt.longLogin()
	rt.longLogin()
	s := rt.open()
	sess := s.Get(a.ID())
	rt.h.outage(true)
	s.Remove(sess)
	rt.h.outage(false)
	s.Close()
	rt.wantErrs("the logout", 1, store.ErrStillReadable)
	rt.longLogin()
	rt.advance(time.Hour + time.Minute)
	c := rt.longLogin()
	rt.wantReachable("a login over an hour later", a.ID())
	rt.revoke(true, a, c)
	rt.wantEnded("the logged-out session after log out everywhere", a.ID())
	rt.wantLive("the session kept", c.ID())
	rt.wantErrs("logins, revocation", 0, nil)
}

// halfFailedRevocation: a revocation whose Durable end lands but whose
// Cache tombstones and deletes fail reports the failure, and the session
// stays readable from the Cache. Over an hour later a login ends it in
// both tiers before it drops its entry.
func halfFailedRevocation(rt *revT) {
	a, b := rt.longLogin(), rt.longLogin()
	rt.h.outage(true)
	ok, err := rt.tiers.Revoke(rt.ctx, rt.user, handle(a))
	rt.h.outage(false)
	if !ok || !errors.Is(err, store.ErrStillReadable) {
		rt.Fatalf("Revoke in a Cache outage = %v, %v; want true, ErrStillReadable", ok, err)
	}
	rt.advance(time.Hour + time.Minute)
	c := rt.longLogin()
	rt.wantReachable("a login over an hour later", a.ID())
	rt.revoke(true, b, c)
	rt.wantEnded("the revoked session after log out other devices", a.ID())
	rt.wantLive("the session kept", c.ID())
	rt.wantErrs("login, revocation", 0, nil)
}

// loggedOutAnHourAgo logs a session in and out, has a login mark its
// entry gone, and moves the clock past the hour a gone entry is kept.
func (rt *revT) loggedOutAnHourAgo() session.Session {
	rt.Helper()
	a := rt.longLogin()
	s := rt.open()
	s.Remove(s.Get(a.ID()))
	s.Close()
	rt.longLogin() // marks a's entry gone
	rt.advance(time.Hour + time.Minute)
	return a
}

// cleanUpDuringOutage: a login over an hour after a logout, during a
// Cache outage, cannot end the session in the Cache: it reports that and
// keeps the entry, which the next login ends and drops.
func cleanUpDuringOutage(rt *revT) {
	a := rt.loggedOutAnHourAgo()
	rt.h.outage(true)
	s := rt.open()
	if _, err := s.Login(nil, store.Login{User: rt.user, Timeout: 24 * time.Hour}); err != nil {
		rt.Fatalf("login in a Cache outage: %v", err)
	}
	s.Close()
	rt.h.outage(false)
	// Reported: the new session's Cache write, and the end that failed.
	rt.mu.Lock()
	errs := rt.errs
	rt.errs = nil
	rt.mu.Unlock()
	if len(errs) != 2 || !slices.ContainsFunc(errs, func(err error) bool { return errors.Is(err, store.ErrStillReadable) }) {
		rt.Errorf("the login in a Cache outage reported %v, want its Cache write and ErrStillReadable", errs)
	}
	if !rt.listed(a.ID()) {
		rt.Error("a login that could not end the session dropped its entry")
	}
	rt.longLogin()
	if rt.listed(a.ID()) {
		rt.Error("the next login kept the entry of a session it ended")
	}
	rt.wantEnded("the logged-out session", a.ID())
}

// writeInFlight: a login elsewhere runs between a write-back's Cache write
// and its Durable Put, while the Durable copy's expiry has just passed:
// it marks the entry (hidden) but ends nothing; the session its user has
// just written to stays live, and a later clean-up lists it again.
func writeInFlight(rt *revT) {
	a := rt.longLogin()
	s := rt.open()
	sess := s.Get(a.ID())
	if sess == nil {
		rt.Fatal("session not found")
	}
	rec, err := store.ReadRecord(rt.ctx, rt.raw.Durable, rt.sid(a.ID()))
	if err != nil {
		rt.Fatal(err)
	}
	rec.Expires = rt.now().Add(-time.Second) // a request begun in the copy's last second
	if err := rt.raw.Durable.PutMulti(rt.ctx, []string{rt.sid(a.ID())}, []tier.Record{rec}); err != nil {
		rt.Fatal(err)
	}
	var b session.Session
	rt.h.on("durable.PutMulti", rt.sid(a.ID()), func() { b = rt.longLogin() }, nil)
	sess.SetAttr("clicked", 1)
	s.Close()
	rt.fired()
	rt.wantLive("the session its user has just written to", a.ID())
	rt.wantReachable("after the login", a.ID())
	rt.advance(time.Hour + time.Minute)
	c := rt.longLogin()
	rt.wantLive("an hour later", a.ID())
	rt.wantListed("an hour later", handle(a), handle(b), handle(c))
	rt.wantErrs("write-back, logins", 0, nil)
}

// sweepDuringOutage: a Sweep over an hour after a logout, during a Cache
// outage, cannot end the session in the Cache: it returns that failure
// with what to delete, keeps the entry, and the next Sweep ends and drops
// it.
func sweepDuringOutage(rt *revT) {
	a := rt.loggedOutAnHourAgo()
	rt.h.outage(true)
	del, _, endErr, err := rt.tiers.Sweep(rt.ctx, rt.now(), []string{rt.ix, "expired-record-id-0000"})
	rt.h.outage(false)
	if err != nil || !errors.Is(endErr, store.ErrStillReadable) || len(del) != 1 {
		rt.Errorf("Sweep in a Cache outage = %q, %v, %v; want the other ID, ErrStillReadable, no error", del, endErr, err)
	}
	if !rt.listed(a.ID()) {
		rt.Error("a Sweep that could not end the session dropped its entry")
	}
	if _, _, endErr, err := rt.tiers.Sweep(rt.ctx, rt.now(), []string{rt.ix}); endErr != nil || err != nil {
		rt.Errorf("Sweep = %v, %v", endErr, err)
	}
	if rt.listed(a.ID()) {
		rt.Error("the next Sweep kept the entry of a session it ended")
	}
	rt.wantEnded("the logged-out session", a.ID())
}

// revokeTwice: Revoke of a handle already revoked ends it again but
// answers false.
func revokeTwice(rt *revT) {
	a, b := rt.login(0), rt.login(0)
	rt.revoke(false, a, b)
	ok, err := rt.tiers.Revoke(rt.ctx, rt.user, handle(a))
	if ok || err != nil {
		rt.Errorf("second Revoke = %v, %v; want false", ok, err)
	}
	rt.wantEnded("the revoked session", a.ID())
	rt.wantLive("the other session", b.ID())
}

// lateFirstAdd: a new session's first Cache Add times out, yet lands
// later. Meanwhile a request reads the session from the Durable tier and
// logs it out, and the tombstone is evicted. The late Add must not make
// the ended ID readable: it went unconfirmed, and readers check the
// record. The session is made by the app (Add) or by Login.
func lateFirstAdd(rt *revT, login bool) {
	var late *tier.Item
	rt.h.on("cache.Add", anyKey, nil, func(err error) error {
		if err != nil {
			rt.Fatalf("the first Add: %v", err)
		}
		late = rt.takeBack(rt.h.lastKey("cache.Add"))
		return fmt.Errorf("storetest: the Add timed out: %w", context.DeadlineExceeded)
	})
	var id string
	if login {
		id = rt.longLogin().ID()
	} else {
		sess := session.NewSessionOptions(&session.SessOptions{Timeout: time.Hour})
		s := rt.open()
		s.Add(sess)
		s.Close()
		id = sess.ID()
	}
	rt.fired()
	rt.wantErrs("the first Add", 1, context.DeadlineExceeded)
	s := rt.open()
	sess := s.Get(id)
	if sess == nil {
		rt.Fatal("the new session is not readable from the Durable tier")
	}
	s.Remove(sess)
	s.Close()
	rt.evict(id)
	// It lands late, unless the Cache keeps the Durable tier's tombstone
	// (cloud.DatastoreCache).
	if err := rt.raw.Cache.Add(rt.ctx, late); err != nil && !errors.Is(err, tier.ErrNotStored) {
		rt.Fatalf("the late Add: %v", err)
	}
	rt.wantEnded("the logged-out session after its late first Add", id)
	rt.wantErrs("logout", 0, nil)
}

// takeBack removes the item under key from the Cache, as if its write had
// not landed yet, and returns it to write later.
func (rt *revT) takeBack(key string) *tier.Item {
	it, err := rt.raw.Cache.Get(rt.ctx, key)
	if err != nil {
		rt.Fatalf("takeBack: %v", err)
	}
	if err := rt.raw.Cache.Delete(rt.ctx, key); err != nil {
		rt.Fatalf("takeBack: %v", err)
	}
	return &tier.Item{Key: key, Value: it.Value, Flags: it.Flags, Expires: it.Expires}
}

// lateBackgroundPut: a write's response is out, its background Durable
// write (AsyncDatastoreSave) not yet landed, when the Cache loses the
// session and a request puts the older Durable copy back. The check after
// the late write finds that older copy and puts the write onto it, rather
// than copying it into the Durable tier: the completed write stays in both
// tiers, and survives another eviction. With other, another request then
// writes onto the older copy first: its attribute "x" (the late write's
// changes go onto it), or "k" itself (a later write of the attribute: it
// wins). With strict, under StrictWrites.
func lateBackgroundPut(rt *revT, other string, strict bool) {
	a := rt.longLogin()
	rt.visit(a.ID())
	tiers := rt.with(func(o *store.Options) { o.AsyncDatastoreSave, o.StrictWrites = true, strict })
	op := "durable.PutMulti"
	if strict {
		op = "durable.Update"
	}
	rt.h.on(op, rt.sid(a.ID()), func() {
		rt.evict(a.ID())
		rt.advance(time.Second) // the other request comes later
		rt.visit(a.ID())        // puts back the Durable copy, without k
		s := tiers.Open(rt.ctx, rt.report, nil)
		defer s.Close()
		if sess := s.Get(a.ID()); other != "" && sess != nil {
			sess.SetAttr(other, "w")
		}
	}, nil)
	s := tiers.Open(rt.ctx, rt.report, nil)
	s.Get(a.ID()).SetAttr("k", "v")
	s.Close()
	if err := tiers.Wait(rt.ctx); err != nil {
		rt.Fatal(err)
	}
	rt.fired()
	want := map[string]any{"k": "v"}
	if other != "" {
		want[other] = "w"
	}
	for _, evicted := range []bool{false, true} {
		if evicted {
			rt.evict(a.ID())
		}
		for name, v := range want {
			rt.wantAttr(fmt.Sprintf("evicted %v", evicted), a.ID(), name, v)
		}
	}
	rt.wantErrs("writes, reads", 0, nil)
}

// wantAttr fails the test unless a request reads the session id with the
// attribute name set to want.
func (rt *revT) wantAttr(what, id, name string, want any) {
	rt.Helper()
	s := rt.open()
	defer s.Close()
	sess := s.Get(id)
	if sess == nil {
		rt.Errorf("%s: session not found", what)
		return
	}
	if got := sess.Attr(name); got != want {
		rt.Errorf("%s: %s = %v, want %v", what, name, got, want)
	}
}

// outOfOrder: two requests write one session at once. The first one's
// Durable write is held until the second, merged onto it in the Cache, has
// written its own: the first then lands last. With StrictWrites (strict)
// it leaves the record holding both writes, so the Cache may lose the
// session without losing either; without, the record is one write behind
// (the case StrictWrites exists for: this fails).
func outOfOrder(rt *revT, strict bool) {
	a := rt.longLogin()
	rt.visit(a.ID())
	tiers := rt.with(func(o *store.Options) { o.StrictWrites = strict })
	op := "durable.PutMulti"
	if strict {
		op = "durable.Update"
	}
	first, second := tiers.Open(rt.ctx, rt.report, nil), tiers.Open(rt.ctx, rt.report, nil)
	first.Get(a.ID()).SetAttr("first", "1")
	second.Get(a.ID()).SetAttr("second", "1")
	rt.h.on(op, rt.sid(a.ID()), second.Close, nil)
	first.Close()
	rt.fired()
	rt.evict(a.ID())
	rt.wantAttr("after a flush", a.ID(), "first", "1")
	rt.wantAttr("after a flush", a.ID(), "second", "1")
	rt.wantErrs("writes", 0, nil)
}

// strictThenFlush: with StrictWrites a write costs a transaction and a
// check of the Cache, and both tiers hold it, also after a flush.
func strictThenFlush(rt *revT) {
	a := rt.longLogin()
	rt.visit(a.ID())
	tiers := rt.with(func(o *store.Options) { o.StrictWrites = true })
	rt.h.take()
	s := tiers.Open(rt.ctx, rt.report, nil)
	s.Get(a.ID()).SetAttr("k", "v")
	s.Close()
	rt.wantCalls("a strict write", "cache.Get", "cache.CompareAndSwap", "durable.Update", "cache.Get")
	rt.evict(a.ID())
	rt.wantAttr("after a flush", a.ID(), "k", "v")
	rt.wantErrs("write", 0, nil)
}
