package storetest

import (
	"errors"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// rawIDCases run in TestRevocation's HashIDs pass only: sessions stored
// under their raw IDs by a store without HashIDs (icza/gaesession, or
// before HashIDs was turned on), read, written and ended by one with it.
var rawIDCases = []struct {
	name string
	f    func(rt *revT)
}{
	{"RawSessionMovesOnWrite", rawMoves},
	{"RawSessionLogoutIsFinal", func(rt *revT) { rawEnded(rt, false) }},
	{"RawSessionRevokeAllIsFinal", func(rt *revT) { rawEnded(rt, true) }},
	{"MoveTakesOverAnEarlierWrite", moveTakesOver},
	{"WriteAfterAMoveIsReported", writeAfterMove},
}

// rawLogin logs the user in with a store without HashIDs, and returns
// that store's Tiers and the session.
func (rt *revT) rawLogin() (*store.Tiers, session.Session) {
	rt.Helper()
	plain := rt.with(func(o *store.Options) { o.HashIDs = false })
	s := plain.Open(rt.ctx, rt.report, nil)
	defer s.Close()
	fresh, err := s.Login(nil, store.Login{User: rt.user, UserAgent: "test"})
	if err != nil {
		rt.Fatalf("login without HashIDs: %v", err)
	}
	return plain, fresh
}

// readableBy reports whether a request of tiers finds the session id,
// after the Cache has lost both its keys.
func (rt *revT) readableBy(tiers *store.Tiers, id string) bool {
	rt.Helper()
	for _, key := range []string{id, store.HashID(id)} {
		if err := rt.raw.Cache.Delete(rt.ctx, rt.raw.KeyPrefix+key); err != nil {
			rt.Fatalf("evict: %v", err)
		}
	}
	s := tiers.Open(rt.ctx, rt.report, nil)
	defer s.Discard()
	return s.Get(id) != nil
}

// write runs a request of the store that sets name=value on session id.
func (rt *revT) write(id, name string, value any) {
	rt.Helper()
	s := rt.open()
	defer s.Close()
	sess := s.Get(id)
	if sess == nil {
		rt.Fatalf("write: session %s not found", store.ShortID(id))
	}
	sess.SetAttr(name, value)
}

// rawMoves: a write moves a raw session to its hash, with its index entry;
// the raw ID is ended, so that a store without HashIDs never reads it
// again, and the hashed one reads it with the write.
func rawMoves(rt *revT) {
	plain, a := rt.rawLogin()
	if !rt.listedRaw(a.ID()) {
		rt.Fatal("the raw login is not listed under its raw ID")
	}
	rt.write(a.ID(), "x", "1")
	rt.wantAttr("after the move", a.ID(), "x", "1")
	if !rt.listed(a.ID()) || rt.listedRaw(a.ID()) {
		rt.Error("the index does not list the moved session under its hash alone")
	}
	if _, err := store.ReadRecord(rt.ctx, rt.raw.Durable, a.ID()); !errors.Is(err, tier.ErrNotFound) {
		rt.Errorf("the raw record after the move: %v, want ended", err)
	}
	if rt.readableBy(plain, a.ID()) {
		rt.Error("a store without HashIDs reads the moved session")
	}
	rt.wantAttr("after evictions", a.ID(), "x", "1")
	rt.wantListed("after the move", handle(a))
	rt.wantErrs("move", 0, nil)
}

// listedRaw reports whether the index lists the raw ID itself.
func (rt *revT) listedRaw(id string) bool {
	rec, err := store.ReadRecord(rt.ctx, rt.raw.Durable, rt.ix)
	if err != nil {
		rt.Fatalf("reading the index: %v", err)
	}
	for _, x := range indexIDs(rt.T, rec.Value) {
		if x == id {
			return true
		}
	}
	return false
}

// rawEnded: a logout, or a log out everywhere, by a store with HashIDs of
// a session still under its raw ID is final for both stores.
func rawEnded(rt *revT, all bool) {
	plain, a := rt.rawLogin()
	if all {
		if err := rt.tiers.RevokeAll(rt.ctx, rt.user, ""); err != nil {
			rt.Fatalf("RevokeAll: %v", err)
		}
	} else {
		s := rt.open()
		s.Remove(s.Get(a.ID()))
		s.Close()
	}
	rt.wantEnded("the raw session", a.ID())
	if rt.readableBy(plain, a.ID()) {
		rt.Error("a store without HashIDs reads the ended session")
	}
	if rt.readableBy(rt.tiers, a.ID()) {
		rt.Error("a store with HashIDs reads the ended session after evictions")
	}
	rt.wantErrs("end", 0, nil)
}

// moveTakesOver: a store without HashIDs completes a write to the raw ID
// while a request with HashIDs holds the session; that request's write
// then moves the session and carries the earlier write over.
func moveTakesOver(rt *revT) {
	plain, a := rt.rawLogin()
	s := rt.open()
	sess := s.Get(a.ID())
	if sess == nil {
		rt.Fatal("raw session not found")
	}
	p := plain.Open(rt.ctx, rt.report, nil)
	p.Get(a.ID()).SetAttr("y", "1")
	p.Close()
	sess.SetAttr("x", "1")
	s.Close()
	rt.wantAttr("the earlier write", a.ID(), "y", "1")
	rt.wantAttr("the move's write", a.ID(), "x", "1")
	rt.wantErrs("writes", 0, nil)
}

// writeAfterMove: two requests read the raw session; the first to write
// moves it, taking over nothing new, and the other's write, on the raw
// ID, is reported; the move's write stays.
func writeAfterMove(rt *revT) {
	_, a := rt.rawLogin()
	first, second := rt.open(), rt.open()
	s1, s2 := first.Get(a.ID()), second.Get(a.ID())
	if s1 == nil || s2 == nil {
		rt.Fatal("raw session not found")
	}
	s1.SetAttr("x", "1")
	first.Close()
	s2.SetAttr("y", "2")
	second.Close()
	rt.wantErrs("the second write", 1, store.ErrRenewed)
	rt.wantAttr("the move's write", a.ID(), "x", "1")
}
