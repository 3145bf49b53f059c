package storetest

import (
	"errors"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

var revocationCases = []struct {
	name string
	f    func(rt *revT)
}{
	{"RenewBeforeRevokeAll", func(rt *revT) { renewBeforeRevocation(rt, true) }},
	{"RenewBeforeRevoke", func(rt *revT) { renewBeforeRevocation(rt, false) }},
	{"RevokeAllBeforeRenew", func(rt *revT) { revocationBeforeRenew(rt, true) }},
	{"RevokeBeforeRenew", func(rt *revT) { revocationBeforeRenew(rt, false) }},
	{"RevokedLoginNotRevived", func(rt *revT) { revokedNotRevived(rt, false) }},
	{"RevokedRenewNotRevived", func(rt *revT) { revokedNotRevived(rt, true) }},
	{"LoginKeepsARenewedSession", loginKeepsRenewed},
	{"LoginKeepsAConcurrentLogin", loginKeepsConcurrentLogin},
	{"ConcurrentLoginsKeepMax", concurrentLoginsKeepMax},
	{"SweepDeletesAnEmptyIndex", sweepDeletesEmptyIndex},
	{"SweepKeepsAConcurrentLogin", sweepKeepsConcurrentLogin},
	{"RetriedLoginListsOnce", func(rt *revT) { retriedLogin(rt, 0) }},
	{"RetriedLoginBeyondMaxEndsOne", func(rt *revT) { retriedLogin(rt, 2) }},
	{"RetriedRenewKeepsItsEntry", retriedRenew},
	{"RetriedRevoke", retriedRevoke},
	{"LoginDuringRenew", func(rt *revT) { loginDuringRenew(rt, false) }},
	{"LoginDuringRenewThenRevokeAll", func(rt *revT) { loginDuringRenew(rt, true) }},
	{"LoginKeepsAnExpiredDurableCopyReachable", func(rt *revT) { expiredDurableCopy(rt, false) }},
	{"SweepKeepsAnExpiredDurableCopyReachable", func(rt *revT) { expiredDurableCopy(rt, true) }},
	{"LogoutDuringCacheOutage", logoutDuringOutage},
	{"HalfFailedRevocation", halfFailedRevocation},
	{"CleanUpDuringCacheOutage", cleanUpDuringOutage},
	{"SweepDuringCacheOutage", sweepDuringOutage},
	{"RevokeTwice", revokeTwice},
	{"WriteInFlight", writeInFlight},
	{"LateFirstAdd", func(rt *revT) { lateFirstAdd(rt, false) }},
	{"LateFirstAddOfALogin", func(rt *revT) { lateFirstAdd(rt, true) }},
	{"LateBackgroundPutKeepsItsWrite", func(rt *revT) { lateBackgroundPut(rt, "", false) }},
	{"LateBackgroundPutMergesWithAWriteOnTheOlderCopy", func(rt *revT) { lateBackgroundPut(rt, "x", false) }},
	{"LateBackgroundPutLosesToALaterWriteOfItsAttribute", func(rt *revT) { lateBackgroundPut(rt, "k", false) }},
	{"StrictWritesLateBackgroundPut", func(rt *revT) { lateBackgroundPut(rt, "", true) }},
	{"StrictWritesLateBackgroundPutMerges", func(rt *revT) { lateBackgroundPut(rt, "x", true) }},
	{"StrictWritesLateBackgroundPutLosesToALaterWrite", func(rt *revT) { lateBackgroundPut(rt, "k", true) }},
	{"StrictWritesLandingOutOfOrder", func(rt *revT) { outOfOrder(rt, true) }},
	{"StrictWritesThenFlush", strictThenFlush},
}

// renewBeforeRevocation: Renew's index move lands just before the
// revocation's transaction, which then names the new ID: the renewed
// session ends, the other stays.
func renewBeforeRevocation(rt *revT, all bool) {
	a, b := rt.login(0), rt.login(0)
	var fresh session.Session
	rt.h.on("durable.Update", rt.ix, func() {
		var err error
		if fresh, err = rt.renew(a.ID()); err != nil {
			rt.Errorf("Renew: %v", err)
		}
	}, nil)
	rt.revoke(all, a, b)
	rt.fired()
	if fresh == nil {
		rt.FailNow()
	}
	if handle(fresh) != handle(a) {
		rt.Errorf("Renew changed the handle")
	}
	rt.wantEnded("the renewed ID", fresh.ID())
	rt.wantEnded("the old ID", a.ID())
	rt.wantLive("the other session", b.ID())
	rt.wantListed("after the revocation", handle(b))
	rt.wantErrs("Renew, revocation", 0, nil)
}

// revocationBeforeRenew: the revocation's transaction lands just before
// Renew's index move: Renew fails with ErrGone, reported once, and the
// new ID it wrote is ended.
func revocationBeforeRenew(rt *revT, all bool) {
	a, b := rt.login(0), rt.login(0)
	fresh := ""
	rt.h.on("durable.Update", rt.ix, func() {
		fresh = rt.h.lastKey("durable.PutMulti") // Renew wrote the new ID
		rt.revoke(all, a, b)
	}, nil)
	rt.h.take()
	got, err := rt.renew(a.ID())
	rt.fired()
	if got != nil || !errors.Is(err, store.ErrGone) {
		rt.Errorf("Renew = %v, %v; want nil, ErrGone", got, err)
	}
	rt.wantCalls("Renew (load, retire, write, move refused, end) around the revocation",
		"cache.Get", "durable.GetMulti", "cache.Get", "cache.CompareAndSwap", "durable.PutMulti", "durable.DeleteMulti", "cache.Get", // load (its record checked: see vouch), retire
		"cache.Add", "durable.PutMulti", "durable.Update", "cache.SetMulti", "durable.PutMulti", "durable.DeleteMulti", // write, move, end
		"durable.Update", "cache.SetMulti", "durable.PutMulti", "durable.DeleteMulti") // the revocation
	if fresh == "" || fresh == a.ID() {
		rt.Fatal("Renew wrote no new ID before its index move")
	}
	rt.wantErrs("Renew", 1, store.ErrGone)
	rt.wantEnded("the new ID", fresh)
	rt.wantEnded("the old ID", a.ID())
	rt.wantLive("the other session", b.ID())
	rt.wantListed("after the revocation", handle(b))
}

// revokedNotRevived: a session listed by a Login (or Renew) still in
// flight is revoked, the Cache loses the revocation's tombstone, then the
// request changes the session and closes: the ID stays ended and unlisted.
func revokedNotRevived(rt *revT, renew bool) {
	s := rt.open()
	var (
		fresh session.Session
		err   error
	)
	if renew {
		a := rt.login(0)
		s.Close()
		s = rt.open()
		fresh, err = s.Renew(s.Get(a.ID()))
	} else {
		fresh, err = s.Login(nil, store.Login{User: rt.user})
	}
	if err != nil {
		rt.Fatal(err)
	}
	rt.wantListed("in flight", handle(fresh))
	if ok, err := rt.tiers.Revoke(rt.ctx, rt.user, handle(fresh)); !ok || err != nil {
		rt.Fatalf("Revoke = %v, %v; want true", ok, err)
	}
	rt.evict(fresh.ID())
	fresh.SetAttr("late", "write")
	s.Close()
	rt.wantEnded("the revoked new ID", fresh.ID())
	rt.wantListed("after the revocation")
	rt.mu.Lock()
	errs := rt.errs
	rt.errs = nil
	rt.mu.Unlock()
	for _, err := range errs { // the late write may be reported lost
		if !errors.Is(err, store.ErrGone) {
			rt.Errorf("reported %v, want at most ErrGone", err)
		}
	}
}

// loginKeepsRenewed: a session renewed between a Login's read of the
// index and its read of the sessions (which finds the old ID ended) stays
// listed under its new ID.
func loginKeepsRenewed(rt *revT) {
	a := rt.login(0)
	var fresh session.Session
	rt.h.on("durable.GetMulti", rt.sid(a.ID()), func() { // the read of the sessions the index lists
		var err error
		if fresh, err = rt.renew(a.ID()); err != nil {
			rt.Errorf("Renew: %v", err)
		}
	}, nil)
	c := rt.login(0)
	rt.fired()
	if fresh == nil {
		rt.FailNow()
	}
	rt.wantLive("the renewed session", fresh.ID())
	rt.wantLive("the new login", c.ID())
	rt.wantListed("after both", handle(a), handle(c))
	rt.wantErrs("Renew, Login", 0, nil)
}

// loginKeepsConcurrentLogin: a login that lands between another's read of
// the index and its transaction stays listed.
func loginKeepsConcurrentLogin(rt *revT) {
	a := rt.login(0)
	var d session.Session
	rt.h.on("durable.Update", rt.ix, func() { d = rt.login(0) }, nil)
	c := rt.login(0)
	rt.fired()
	for _, s := range []session.Session{a, c, d} {
		rt.wantLive("a login", s.ID())
	}
	rt.wantListed("after three logins", handle(a), handle(c), handle(d))
}

// concurrentLoginsKeepMax: 8 logins with Max 3 all read the index before
// any of their transactions commits (each runs the next just before its
// own): exactly 3 sessions stay live, and the list shows those.
func concurrentLoginsKeepMax(rt *revT) {
	const n, limit = 8, 3
	var logins []session.Session
	var login func(i int)
	login = func(i int) {
		if i+1 < n {
			rt.h.on("durable.Update", rt.ix, func() { login(i + 1) }, nil)
		}
		logins = append(logins, rt.login(limit))
	}
	login(0)
	rt.fired()
	var live []string
	for _, s := range logins {
		if rt.readable(s.ID()) {
			live = append(live, handle(s))
		}
	}
	if len(logins) != n || len(live) != limit {
		rt.Errorf("%d of %d logins live, want %d", len(live), len(logins), limit)
	}
	rt.wantListed("the live logins", live...)
	rt.wantErrs("logins", 0, nil)
}

// sweepSetup logs a session in and out, so that its user's index lists
// no live session.
func sweepSetup(rt *revT) session.Session {
	a := rt.login(0)
	s := rt.open()
	s.Remove(s.Get(a.ID()))
	s.Close()
	rt.wantErrs("logout", 0, nil)
	return a
}

// sweepDeletesEmptyIndex: Sweep deletes an index without a live session
// itself, in its transaction (the control of the next case). An entry
// found logged out is first marked ending and kept for the store's
// shortest tombstone life (an hour), for revocations to end it again
// (its Cache tombstone may not have landed): the index goes at a Sweep
// after that.
func sweepDeletesEmptyIndex(rt *revT) {
	sweepSetup(rt)
	del, swept, _, err := rt.tiers.Sweep(rt.ctx, rt.now(), []string{rt.ix})
	if err != nil || len(del) != 0 || swept != 0 {
		rt.Errorf("first Sweep = %q, %d swept, %v; want nothing to delete, the index kept", del, swept, err)
	}
	rt.h.take()
	del, swept, _, err = rt.tiers.Sweep(rt.ctx, rt.now().Add(time.Hour+time.Minute), []string{rt.ix})
	rt.wantCalls("Sweep (the logged-out session ended again in both tiers before its entry goes)",
		"durable.GetMulti", "durable.GetMulti", "durable.PutMulti", "durable.DeleteMulti", "cache.SetMulti", "durable.Update")
	if err != nil || len(del) != 0 || swept != 1 {
		rt.Errorf("Sweep = %q, %d swept, %v; want nothing to delete, 1 swept", del, swept, err)
	}
	if _, err := store.ReadRecord(rt.ctx, rt.raw.Durable, rt.ix); !errors.Is(err, tier.ErrNotFound) {
		rt.Errorf("the swept index: read %v, want ErrNotFound", err)
	}
}

// sweepKeepsConcurrentLogin: Sweep reads an index finding no live
// session, then a login adds one before Sweep's transaction: the index is
// kept, and purge (which deletes what Sweep returns) leaves it listed.
func sweepKeepsConcurrentLogin(rt *revT) {
	a := sweepSetup(rt)
	var b session.Session
	rt.h.on("durable.GetMulti", rt.sid(a.ID()), nil, func(err error) error { // the read of the sessions the index lists
		b = rt.login(0)
		return err
	})
	del, swept, _, err := rt.tiers.Sweep(rt.ctx, rt.now(), []string{rt.ix})
	rt.fired()
	if err != nil || len(del) != 0 || swept != 0 {
		rt.Errorf("Sweep = %d IDs, %d swept, %v; want the index kept", len(del), swept, err)
	}
	if len(del) > 0 {
		if err := rt.raw.Durable.DeleteMulti(rt.ctx, del); err != nil { // as purge does
			rt.Fatal(err)
		}
	}
	rt.wantLive("the login", b.ID())
	rt.wantListed("after the sweep", handle(b))
}

// failCommitted arms a failure of the next transaction on the index,
// reported after it committed, so that the store retries it.
func failCommitted(rt *revT) {
	rt.h.on("durable.Update", rt.ix, nil, func(err error) error {
		if err != nil {
			return err
		}
		return errCommitted
	})
}

// retriedLogin: a Login whose index transaction committed, reported a
// failure and ran again lists the session once; with Max it ends only the
// least recently seen session beyond it.
func retriedLogin(rt *revT, limit int) {
	a, b := rt.login(limit), rt.login(limit)
	failCommitted(rt)
	rt.h.take()
	c := rt.login(limit)
	rt.fired()
	calls := []string{"cache.Add", "durable.PutMulti", "durable.GetMulti", "durable.GetMulti", "durable.Update", "durable.Update"}
	if limit > 0 {
		calls = append(calls, "cache.SetMulti", "durable.PutMulti", "durable.DeleteMulti")
	}
	rt.wantCalls("Login, its transaction retried", calls...)
	rt.wantErrs("Login", 0, nil)
	live := []session.Session{a, b, c}
	if limit > 0 {
		rt.wantEnded("the least recently seen session", a.ID())
		live = live[1:]
	}
	var hs []string
	for _, s := range live {
		rt.wantLive("a session within Max", s.ID())
		hs = append(hs, handle(s))
	}
	rt.wantListed("after the retried Login", hs...)
}

// retriedRenew: a Renew whose index move committed, reported a failure and
// ran again succeeds, its entry moved once.
func retriedRenew(rt *revT) {
	a := rt.login(0)
	failCommitted(rt)
	fresh, err := rt.renew(a.ID())
	rt.fired()
	if err != nil {
		rt.Fatalf("Renew: %v", err)
	}
	rt.wantErrs("Renew", 0, nil)
	rt.wantLive("the renewed session", fresh.ID())
	rt.wantEnded("the old ID", a.ID())
	rt.wantListed("after the retried Renew", handle(a))
}

// retriedRevoke: a Revoke whose transaction committed, reported a failure
// and ran again reports the session found and ends it.
func retriedRevoke(rt *revT) {
	a, b := rt.login(0), rt.login(0)
	failCommitted(rt)
	rt.h.take()
	rt.revoke(false, a, b)
	rt.fired()
	rt.wantCalls("Revoke, its transaction retried", "durable.Update", "durable.Update", "cache.SetMulti", "durable.PutMulti", "durable.DeleteMulti")
	rt.wantEnded("the revoked session", a.ID())
	rt.wantLive("the other session", b.ID())
	rt.wantListed("after the retried Revoke", handle(b))
}

// loginDuringRenew: another device's login reads the index while a Renew
// is between retiring the old ID and moving its entry, and marks the entry
// gone. The Renew still moves it: the renewed session is live and listed.
// With revoke, a RevokeAll (keeping the login) lands before the move: the
// Renew fails with ErrGone and both its IDs end.
func loginDuringRenew(rt *revT, revoke bool) {
	a := rt.login(0)
	var b session.Session
	renewed := ""
	rt.h.on("durable.Update", rt.ix, func() {
		renewed = rt.h.lastKey("durable.PutMulti") // Renew wrote the new ID
		b = rt.login(0)
		if revoke {
			rt.revoke(true, b, b)
		}
	}, nil)
	fresh, err := rt.renew(a.ID())
	rt.fired()
	if b == nil {
		rt.FailNow()
	}
	if revoke {
		if fresh != nil || !errors.Is(err, store.ErrGone) {
			rt.Errorf("Renew = %v, %v; want nil, ErrGone", fresh, err)
		}
		rt.wantErrs("Renew", 1, store.ErrGone)
		rt.wantEnded("the old ID", a.ID())
		if renewed == "" || renewed == a.ID() {
			rt.Fatal("Renew wrote no new ID before its index move")
		}
		rt.wantEnded("the new ID", renewed)
		rt.wantLive("the login", b.ID())
		rt.wantListed("after the revocation", handle(b))
		return
	}
	if err != nil || handle(fresh) != handle(a) {
		rt.Fatalf("Renew = %v, %v; want the session renewed, same handle", fresh, err)
	}
	rt.wantErrs("Renew, login", 0, nil)
	rt.wantLive("the renewed session", fresh.ID())
	rt.wantLive("the login", b.ID())
	rt.wantListed("after both", handle(a), handle(b))
}
