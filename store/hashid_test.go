package store_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gaesession/gaesession/purge"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
)

// atRest returns every Cache key and value and every Durable ID and value
// the model holds that contains id.
func (r *rig) atRest(id string) []string {
	var found []string
	for _, k := range r.m.Keys() {
		it, _ := r.m.CacheItem(k)
		if strings.Contains(k, id) || bytes.Contains(it.Value, []byte(id)) {
			found = append(found, "cache "+k)
		}
	}
	for _, d := range r.m.IDs() {
		rec, _ := r.m.Record(d)
		if strings.Contains(d, id) || bytes.Contains(rec.Value, []byte(id)) {
			found = append(found, "durable "+d)
		}
	}
	return found
}

// other returns a Tiers on the rig's model and clock with other options,
// as another version of the app would run.
func (r *rig) other(opts store.Options) *store.Tiers {
	opts.Cache, opts.Durable, opts.KeyPrefix, opts.Now = r.m.Cache(), r.m.Durable(), prefix, r.clock.Now
	return store.NewTiers(opts)
}

// With HashIDs no tier holds a session's ID, in a key, a record, a value
// or an index, after logins, writes, Renew, a revocation, a logout and
// purge; and every session still reads by its ID.
func TestHashIDsStoreNoID(t *testing.T) {
	r := newRig(t, store.Options{HashIDs: true})
	r.loginTimeout = 24 * time.Hour // past purge's run
	anon := r.create(24*time.Hour, "k", "v")
	r.set(anon, "k", "w")
	a := r.login("ann", "", 0)
	r.set(a.ID(), "x", "1")
	b := r.login("ann", "", 0)
	s := r.open()
	c, err := s.Renew(s.Get(b.ID()))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	d := r.login("ann", "", 0)
	devs := r.list("ann", "")
	if len(devs) != 3 {
		t.Fatalf("%d devices listed, want 3", len(devs))
	}
	if ok, err := r.tiers.Revoke(context.Background(), "ann", devs[0].Handle); err != nil || !ok {
		t.Fatalf("Revoke = %v, %v", ok, err)
	}
	s = r.open()
	s.Remove(s.Get(d.ID()))
	s.Close()
	r.clock.Advance(2 * time.Hour)
	if _, _, _, err := r.tiers.Sweep(context.Background(), r.clock.Now(), r.m.IDs()); err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]string{"anonymous": anon, "renewed": c.ID()} {
		if got := r.read(id); got == "none" {
			t.Errorf("%s session: not found", name)
		}
	}
	for _, id := range []string{anon, a.ID(), b.ID(), c.ID(), d.ID()} {
		if at := r.atRest(id); len(at) > 0 {
			t.Errorf("session %s is at rest under its ID: %q", store.ShortID(id), at)
		}
	}
	r.wantErrs("all", 0, "", nil)
}

// HashIDs keeps the RPC counts: a new session 2 calls, its first read 3,
// a read 1, a write 3, a logout 3; and a read of a session that does not
// exist costs no more than without.
func TestHashIDsRPCCounts(t *testing.T) {
	r := newRig(t, store.Options{HashIDs: true})
	id := r.add(time.Hour, "k", "v")
	r.wantCalls("new session", "durable.PutMulti", "cache.Add")
	r.read(id)
	r.wantCalls("first read", "cache.Get", "durable.GetMulti", "cache.CompareAndSwap")
	r.read(id)
	r.wantCalls("read", "cache.Get")
	r.set(id, "k", "w")
	r.wantCalls("write", "cache.Get", "cache.CompareAndSwap", "durable.PutMulti")
	s := r.open()
	s.Remove(s.Get(id))
	s.Close()
	r.take()
	offRig := newRig(t, store.Options{RawIDsUntil: r.clock.Now()}) // fallback over, HashIDs off: the same
	for _, rr := range []*rig{r, offRig} {
		rr.read("unknownunknownunknownAA")
	}
	want := []string{"cache.Get", "durable.GetMulti"}
	r.wantCalls("a read of an unknown ID, looked for under both IDs", append(want, "cache.Get")...)
	offRig.wantCalls("the same without HashIDs", want...)
	r.wantErrs("all", 0, "", nil)
}

// A session stored under its raw ID (before HashIDs) reads with HashIDs;
// its next write moves it to its hash and ends the raw copies, and moves
// its entry in the user's index; a store without HashIDs then finds it
// ended, never revives it, and a logout by either is final.
func TestHashIDsMovesRawSessions(t *testing.T) {
	r := newRig(t, store.Options{})
	legacy := r.login("bob", "", 0)
	r.set(legacy.ID(), "x", "1")
	hashed := r.other(store.Options{HashIDs: true})
	open := func() *store.Store { return hashed.Open(context.Background(), nil, nil) }

	r.take()
	s := open()
	sess := s.Get(legacy.ID())
	if sess == nil || sess.Attr("x") != "1" {
		t.Fatalf("HashIDs reads the raw session as %v, want x=1", sess)
	}
	r.wantCalls("a read of a raw session: its hash missed, then the raw ID", "cache.Get", "cache.Get")
	sess.SetAttr("x", "2")
	s.Close()
	r.wantCalls("the move", "cache.Get", "cache.CompareAndSwap", "durable.PutMulti", "durable.DeleteMulti", "cache.Get", // retired
		"durable.Update",                // the index entry
		"durable.PutMulti", "cache.Add") // written under the hash
	if got := r.cached(legacy.ID()); got != "flags 2" {
		t.Errorf("raw Cache key after the move holds %q, want a FlagRenewed tombstone", got)
	}
	if rec, err := store.ReadRecord(context.Background(), r.m.Durable(), legacy.ID()); err == nil {
		t.Errorf("raw record after the move reads %q, want ended", rec.Value)
	}
	if at := r.atRest(legacy.ID()); len(at) != 2 || !strings.HasPrefix(at[0], "cache") {
		t.Errorf("after the move the raw ID is at rest in %q, want its two tombstones only", at)
	}
	h := store.HashID(legacy.ID())
	if got := r.cached(h); !strings.Contains(got, "x=2") {
		t.Errorf("hashed Cache key holds %q, want x=2", got)
	}
	if got := r.stored(h); !strings.Contains(got, "x=2") {
		t.Errorf("hashed record holds %q, want x=2", got)
	}
	if _, ids, _, err := store.IndexEntries(mustRecord(t, r, store.IndexID("bob"))); err != nil || len(ids) != 1 || ids[0] != h {
		t.Errorf("index lists %q (%v), want the hash", ids, err)
	}
	r.take()
	for _, want := range [][]string{
		{"cache.Get", "durable.GetMulti", "cache.CompareAndSwap"}, // vouches, as for a new session
		{"cache.Get"},
	} {
		s = open()
		if got := s.Get(legacy.ID()); got == nil || got.Attr("x") != "2" || got.ID() != legacy.ID() {
			t.Fatalf("read after the move: %v", got)
		}
		s.Close()
		r.wantCalls("a read after the move", want...)
	}

	if got := r.read(legacy.ID()); got != "none" {
		t.Errorf("a store without HashIDs reads the moved session: %s", got)
	}
	r.m.Evict(prefix + legacy.ID())
	if got := r.read(legacy.ID()); got != "none" {
		t.Errorf("a store without HashIDs reads the moved session after an eviction: %s", got)
	}

	s = open()
	s.Remove(s.Get(legacy.ID()))
	s.Close()
	r.m.Evict(prefix + h)
	s = open()
	if got := s.Get(legacy.ID()); got != nil {
		t.Errorf("logged out, evicted: HashIDs reads %v", got)
	}
	s.Close()
	r.wantErrs("all", 0, "", nil)
}

// A logout or a revocation by a store with HashIDs of a session still
// under its raw ID ends it under both IDs: no store, with HashIDs or
// without, reads it again, also after evictions.
func TestHashIDsEndsRawSessions(t *testing.T) {
	for _, how := range []string{"logout", "revoke"} {
		t.Run(how, func(t *testing.T) {
			r := newRig(t, store.Options{})
			legacy := r.login("cy", "", 0)
			hashed := r.other(store.Options{HashIDs: true})
			s := hashed.Open(context.Background(), nil, nil)
			sess := s.Get(legacy.ID())
			if sess == nil {
				t.Fatal("raw session not found")
			}
			if how == "logout" {
				s.Remove(sess)
			} else if err := hashed.RevokeAll(context.Background(), "cy", ""); err != nil {
				t.Fatal(err)
			}
			s.Close()
			h := store.HashID(legacy.ID())
			for _, key := range []string{legacy.ID(), h} {
				if got := r.cached(key); !strings.HasPrefix(got, "flags") {
					t.Errorf("%s: Cache under %s holds %q, want a tombstone", how, store.ShortID(key), got)
				}
			}
			r.m.Evict(prefix + legacy.ID())
			r.m.Evict(prefix + h)
			if got := r.read(legacy.ID()); got != "none" {
				t.Errorf("%s: a store without HashIDs reads it: %s", how, got)
			}
			s = hashed.Open(context.Background(), nil, nil)
			if got := s.Get(legacy.ID()); got != nil {
				t.Errorf("%s: a store with HashIDs reads it", how)
			}
			s.Close()
		})
	}
}

// Once RawIDsUntil has passed, raw IDs are no longer looked for: a read
// that misses costs what it costs without HashIDs.
func TestRawIDsUntil(t *testing.T) {
	r := newRig(t, store.Options{})
	id := r.create(time.Hour, "k", "v")
	hashed := r.other(store.Options{HashIDs: true, RawIDsUntil: r.clock.Now().Add(time.Minute)})
	read := func() bool {
		s := hashed.Open(context.Background(), nil, nil)
		defer s.Discard()
		return s.Get(id) != nil
	}
	if !read() {
		t.Fatal("before RawIDsUntil: raw session not found")
	}
	r.take()
	r.clock.Advance(time.Minute)
	if read() {
		t.Error("after RawIDsUntil: the raw session reads")
	}
	r.wantCalls("a miss after RawIDsUntil", "cache.Get", "durable.GetMulti")
}

// mustRecord returns the value of a Durable record.
func mustRecord(t *testing.T, r *rig, id string) []byte {
	t.Helper()
	rec, ok := r.m.Record(id)
	if !ok {
		t.Fatalf("no record %s", id)
	}
	return rec.Value
}

// With HashIDs, a session still under its raw ID whose Cache copy is gone
// reads from its raw record, in the same Durable call as its hash, and is
// put back under its raw ID.
func TestHashIDsReadsRawRecords(t *testing.T) {
	r := newRig(t, store.Options{})
	id := r.create(time.Hour, "k", "v")
	r.m.Evict(prefix + id)
	hashed := r.other(store.Options{HashIDs: true})
	s := hashed.Open(context.Background(), nil, nil)
	sess := s.Get(id)
	s.Close()
	if sess == nil || sess.Attr("k") != "v" {
		t.Fatalf("read %v, want k=v", sess)
	}
	r.wantCalls("a read of an evicted raw session",
		"cache.Get", "cache.Get", "durable.GetMulti", // hash, raw; both records
		"cache.Add", "cache.Get", "durable.GetMulti", "cache.CompareAndSwap") // put back, confirmed
	if got := r.cached(id); got != "k=v" {
		t.Errorf("raw Cache key holds %q, want the session put back", got)
	}
}

// With HashIDs, the list of a user's devices shows a session still under
// its raw ID, and a login of a session already bound replaces its entry,
// whichever ID it is under.
func TestHashIDsDevices(t *testing.T) {
	r := newRig(t, store.Options{})
	legacy := r.login("dee", "", 0)
	hashed := r.other(store.Options{HashIDs: true})
	h := &rig{t: t, m: r.m, clock: r.clock, tiers: hashed, log: r.log}
	b := h.login("dee", "", 0)
	if got := len(h.list("dee", "")); got != 2 {
		t.Fatalf("%d devices, want the raw session and the new one", got)
	}
	for _, id := range []string{legacy.ID(), b.ID()} {
		h.login("dee", id, 0)
	}
	if got := len(h.list("dee", "")); got != 2 {
		t.Errorf("%d devices after logging in again on both, want 2", got)
	}
	if _, ids, _, err := store.IndexEntries(mustRecord(t, r, store.IndexID("dee"))); err != nil || len(ids) != 2 {
		t.Errorf("index lists %d entries (%v), want 2: those replaced are dropped", len(ids), err)
	}
}

// A move's tombstones under the raw ID, whose keys hold it while the
// session lives on under its hash, last minTombstone (an hour), not the
// session's timeout.
func TestMoveTombstonesLastAnHour(t *testing.T) {
	r := newRig(t, store.Options{})
	id := r.create(30*24*time.Hour, "k", "v")
	hashed := r.other(store.Options{HashIDs: true})
	s := hashed.Open(context.Background(), nil, nil)
	s.Get(id).SetAttr("k", "w")
	s.Close()
	now := r.clock.Now()
	it, ok := r.m.CacheItem(prefix + id)
	tomb, found := r.m.Record(id + tier.EndSuffix)
	for _, exp := range []time.Time{it.Expires, tomb.Expires} {
		if !ok || !found || exp.Sub(now).Round(time.Minute) != time.Hour {
			t.Errorf("raw tombstones expire at %v (Cache) and %v (Durable), want an hour from %v", it.Expires, tomb.Expires, now)
		}
	}
}

// A hashed ID, as a leaked dump holds, reads nothing through Get, with
// HashIDs or without (a store rolled back), and costs no call.
func TestHashedIDReadsNothing(t *testing.T) {
	r := newRig(t, store.Options{HashIDs: true})
	id := r.create(time.Hour, "k", "v")
	plain := r.other(store.Options{})
	for _, tiers := range []*store.Tiers{r.tiers, plain} {
		s := tiers.Open(context.Background(), nil, nil)
		if got := s.Get(store.HashID(id)); got != nil {
			t.Errorf("Get of the hashed ID read %v", got)
		}
		s.Close()
	}
	r.wantCalls("Get of hashed IDs")
	if got := r.read(id); got != "k=v" {
		t.Errorf("the session reads %q", got)
	}
}

// A move whose index transaction fails leaves the entry under the raw ID,
// which then stands for the hash: the session is listed, and a log out
// everywhere ends it.
func TestHashIDsMoveWithoutItsEntry(t *testing.T) {
	r := newRig(t, store.Options{})
	legacy := r.login("eve", "", 0)
	hashed := r.other(store.Options{HashIDs: true, Retries: 1})
	r.setFault(func(_ context.Context, op, key string) error {
		if op == "durable.Update" {
			return errors.New("injected")
		}
		return nil
	})
	r.setWith(hashed, legacy.ID(), "x", "1")
	r.setFault(nil)
	if errs := r.takeErrs(); len(errs) != 1 {
		t.Fatalf("reported %v, want the index's failure", errs)
	}
	if _, ids, _, _ := store.IndexEntries(mustRecord(t, r, store.IndexID("eve"))); len(ids) != 1 || ids[0] != legacy.ID() {
		t.Fatalf("index lists %q, want the raw ID", ids)
	}
	devs, err := hashed.Devices(context.Background(), "eve", "")
	if err != nil || len(devs) != 1 {
		t.Fatalf("Devices = %v, %v; want the moved session", devs, err)
	}
	if err := hashed.RevokeAll(context.Background(), "eve", ""); err != nil {
		t.Fatal(err)
	}
	r.m.Evict(prefix + store.HashID(legacy.ID()))
	if got := readWith(hashed, legacy.ID()); got != "none" {
		t.Errorf("the moved session reads %q after log out everywhere", got)
	}
}

// A move that cannot retire the raw ID (the Cache fails) changes nothing
// and is reported: the session stays under its raw ID, and the next write
// moves it.
func TestHashIDsMoveFailing(t *testing.T) {
	r := newRig(t, store.Options{})
	id := r.create(time.Hour, "k", "v")
	hashed := r.other(store.Options{HashIDs: true, Retries: 1})
	r.setFault(func(_ context.Context, op, _ string) error {
		if op == "cache.CompareAndSwap" {
			return errors.New("injected")
		}
		return nil
	})
	r.setWith(hashed, id, "k", "w")
	r.setFault(nil)
	errs := r.takeErrs()
	var se *store.Error
	if len(errs) != 1 || !errors.As(errs[0], &se) || se.Tier != "memcache" {
		t.Fatalf("reported %v, want one Cache failure", errs)
	}
	if got := r.read(id); got != "k=v" {
		t.Errorf("a store without HashIDs reads %q, want the session unmoved", got)
	}
	r.setWith(hashed, id, "k", "x")
	if got := r.cached(store.HashID(id)); !strings.Contains(got, "k=x") {
		t.Errorf("after the next write the hash holds %q", got)
	}
}

// setWith runs a request of tiers, whose errors the rig collects, that
// sets k=v on the session id.
func (r *rig) setWith(tiers *store.Tiers, id string, kv ...string) {
	r.t.Helper()
	s := tiers.Open(context.Background(), func(err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.errs = append(r.errs, err)
	}, nil)
	defer s.Close()
	sess := s.Get(id)
	if sess == nil {
		r.t.Fatalf("set: session %s not found", store.ShortID(id))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		sess.SetAttr(kv[i], kv[i+1])
	}
}

// readWith returns the session id as a request of tiers reads it.
func readWith(tiers *store.Tiers, id string) string {
	s := tiers.Open(context.Background(), func(error) {}, nil)
	defer s.Close()
	return attrs(s.Get(id))
}

// A tombstone under the raw ID ends the session for a store with HashIDs
// as for one without: during a Renew (between its Cache tombstone and its
// Durable end), and after a logout whose Durable end failed.
func TestHashIDsHonourRawTombstones(t *testing.T) {
	t.Run("renew", func(t *testing.T) {
		r := newRig(t, store.Options{})
		id := r.create(time.Hour, "k", "v")
		hashed := r.other(store.Options{HashIDs: true})
		var inside atomic.Bool
		var gotHashed, gotPlain string
		r.setFault(func(_ context.Context, op, key string) error {
			if op == "durable.PutMulti" && key == id+tier.EndSuffix && !inside.Swap(true) {
				gotPlain, gotHashed = readWith(r.tiers, id), readWith(hashed, id)
			}
			return nil
		})
		s := hashed.Open(context.Background(), func(error) {}, nil)
		if _, err := s.Renew(s.Get(id)); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if !inside.Load() || gotPlain != "none" || gotHashed != "none" {
			t.Errorf("during the Renew the old ID reads %q without HashIDs, %q with; want none", gotPlain, gotHashed)
		}
	})
	t.Run("logout", func(t *testing.T) {
		r := newRig(t, store.Options{Retries: 1})
		id := r.create(time.Hour, "k", "v")
		hashed := r.other(store.Options{HashIDs: true})
		r.setFault(func(_ context.Context, op, key string) error {
			if op == "durable.PutMulti" && key == id+tier.EndSuffix {
				return errors.New("injected")
			}
			return nil
		})
		s := r.open()
		s.Remove(s.Get(id))
		s.Close()
		r.setFault(nil)
		r.takeErrs()
		if got, gotHashed := r.read(id), readWith(hashed, id); got != "none" || gotHashed != "none" {
			t.Errorf("logged out, its Durable end failed: reads %q without HashIDs, %q with; want none", got, gotHashed)
		}
	})
}

// A move whose Durable end of the raw ID fails goes on: the session lives
// under its hash and takes writes, the failure reported once.
func TestHashIDsMoveWithoutItsDurableEnd(t *testing.T) {
	r := newRig(t, store.Options{})
	id := r.create(time.Hour, "k", "v")
	hashed := r.other(store.Options{HashIDs: true, Retries: 1})
	r.setFault(func(_ context.Context, op, key string) error {
		if op == "durable.PutMulti" && key == id+tier.EndSuffix {
			return errors.New("injected")
		}
		return nil
	})
	r.setWith(hashed, id, "k", "w")
	r.setFault(nil)
	errs := r.takeErrs()
	if len(errs) != 1 || !errors.Is(errs[0], store.ErrStillReadable) {
		t.Fatalf("reported %v, want the raw ID still readable", errs)
	}
	r.setWith(hashed, id, "k", "x")
	if errs := r.takeErrs(); len(errs) != 0 {
		t.Errorf("the next write reported %v", errs)
	}
	if got := readWith(hashed, id); got != "k=x" {
		t.Errorf("reads %q, want k=x", got)
	}
}

// lateRawWrite leaves, as a store without HashIDs can, a raw record that a
// Durable Put landing after a move wrote; then logs the session out under
// its hash and evicts both its Cache keys.
func lateRawWrite(t *testing.T) (r *rig, hashed *store.Tiers, id string) {
	r = newRig(t, store.Options{})
	id = r.create(24*time.Hour, "k", "v")
	hashed = r.other(store.Options{HashIDs: true})
	var once atomic.Bool
	r.setFault(func(_ context.Context, op, key string) error {
		if op == "durable.PutMulti" && key == id && !once.Swap(true) {
			s := hashed.Open(context.Background(), func(err error) { t.Errorf("move: %v", err) }, nil)
			s.Get(id).SetAttr("k", "moved")
			s.Close()
		}
		return nil
	})
	old := r.open()
	old.Get(id).SetAttr("k", "old")
	old.Close()
	r.setFault(nil)
	r.takeErrs()
	if got := r.stored(id); got != "k=old" {
		t.Fatalf("the late raw record holds %q: the interleaving did not happen", got)
	}
	s := hashed.Open(context.Background(), func(err error) { t.Errorf("logout: %v", err) }, nil)
	s.Remove(s.Get(id))
	s.Close()
	r.m.Evict(prefix + id)
	r.m.Evict(prefix + store.HashID(id))
	return r, hashed, id
}

// A store with HashIDs never reads a raw record that a late write left
// after a move, once the session is ended under its hash: not even when
// the raw tombstone is gone.
func TestHashIDsLateRawWriteAfterAMove(t *testing.T) {
	r, hashed, id := lateRawWrite(t)
	if got := readWith(hashed, id); got != "none" {
		t.Errorf("after the logout and evictions, HashIDs reads %q", got)
	}
	if err := r.m.Durable().DeleteMulti(context.Background(), []string{id + tier.EndSuffix}); err != nil {
		t.Fatal(err)
	}
	if got := readWith(hashed, id); got != "none" {
		t.Errorf("without the raw tombstone, HashIDs reads %q", got)
	}
}

// Purge deletes, with an expired tombstone, the record it hid: a store
// without HashIDs (rolled back) then finds nothing of a session a late
// write left under its raw ID after a move, and that was logged out since.
func TestPurgeDeletesWhatATombstoneHid(t *testing.T) {
	r, _, id := lateRawWrite(t)
	r.clock.Advance(2 * time.Hour) // past the raw tombstones' hour
	rec := httptest.NewRecorder()
	purge.Handler(purge.Options{Durable: r.m.Durable(), Cache: r.m.Cache(), KeyPrefix: prefix, HashIDs: true, AllowNonCron: true, Now: r.clock.Now}).
		ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/purge", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("purge: %d %s", rec.Code, rec.Body)
	}
	if _, ok := r.m.Record(id); ok {
		t.Error("purge left the raw record its expired tombstone hid")
	}
	if got := r.read(id); got != "none" {
		t.Errorf("a store without HashIDs (rolled back) reads %q", got)
	}
}
