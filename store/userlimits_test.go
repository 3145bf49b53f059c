package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
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
				r.clock.Advance(2 * time.Minute)
				r.take()
				r.read(a.ID())
				// Its first read checks the record (see vouch).
				r.wantCalls("touch of the first session", "cache.Get", "durable.GetMulti", "cache.CompareAndSwap", "durable.PutMulti")
				ended, kept = b, a
			}
			r.take()
			c := r.login("ivy", "", 2)
			r.wantCalls("login beyond Max, then the request's end", "cache.Add", "durable.PutMulti", "durable.GetMulti",
				"durable.GetMulti", "durable.Update", "cache.SetMulti", "durable.PutMulti", "durable.DeleteMulti")
			if got := r.cached(ended.ID()); got != fmt.Sprint("flags ", tier.FlagRemoved) {
				t.Errorf("the least recently seen session is cached as %s, want a FlagRemoved tombstone", got)
			}
			if r.read(ended.ID()) != "none" || r.read(kept.ID()) == "none" || r.read(c.ID()) == "none" {
				t.Error("want the least recently seen session ended, the other two readable")
			}
			got, want := handles(r.list("ivy", "")), []string{handle(kept), handle(c)}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Devices shows %q, want %q", got, want)
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
			r.wantCalls("RevokeAll", "durable.Update", "cache.SetMulti", "durable.PutMulti", "durable.DeleteMulti")
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
	if _, err := r.tiers.Devices(ctx, "kim", ""); !errors.Is(err, store.ErrNoIndex) {
		t.Errorf("Devices: %v", err)
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

// ixEntry is an entry of a user's index as stored (JSON), for tests that
// write an index by hand.
type ixEntry struct {
	H  string    `json:"h"`
	ID string    `json:"id"`
	C  time.Time `json:"c"`
	UA string    `json:"ua,omitempty"`
	IP string    `json:"ip,omitempty"`
	X  bool      `json:"x,omitempty"`
	XT int64     `json:"xt,omitempty"`
}

func ixEntryBytes(t *testing.T, e ixEntry) int {
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return len(b)
}

// TestFullIndexEndsTheLeastRecentlySeen: a login into an index that is
// full (MaxSessionsLimit live entries at their cap, and entries of
// sessions whose ends failed filling the rest of store.MaxSize) with an
// entry at its cap succeeds: it ends the least recently seen sessions, one
// for the limit and as many more as the record's size needs, and the index
// stays within store.MaxSize. A Login.Max above MaxSessionsLimit is taken
// as MaxSessionsLimit.
func TestFullIndexEndsTheLeastRecentlySeen(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	ctx := context.Background()
	const idLen = tier.MaxKeyLen - len(prefix)
	ua, ip := strings.Repeat("<", store.MaxUserAgent), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
	base := r.clock.Now().Add(-time.Hour)
	id := func(kind byte, i int) string {
		s := fmt.Sprintf("%c%06d", kind, i)
		return s + strings.Repeat("A", idLen-len(s))
	}
	var entries []ixEntry
	size := len(`{"s":[]}`) - 1 // each entry adds its comma
	add := func(e ixEntry) {
		entries = append(entries, e)
		size += ixEntryBytes(t, e) + 1
		if err := r.m.Durable().PutMulti(ctx, []string{e.ID}, []tier.Record{{Value: []byte("live"), Expires: base.Add(24 * time.Hour)}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range store.MaxSessionsLimit { // i = 0 is the least recently seen
		add(ixEntry{H: fmt.Sprintf("live%06d", i), ID: id('L', i), C: base.Add(time.Duration(i) * time.Second), UA: ua, IP: ip})
	}
	// Ending entries marked just now: their ends may be in flight, so the
	// login keeps them.
	ending := ixEntry{ID: id('E', 0), C: base, X: true, XT: r.clock.Now().Unix()}
	for i := 0; ; i++ {
		e := ending
		e.H, e.ID = fmt.Sprintf("end%06d", i), id('E', i)
		if size+ixEntryBytes(t, e)+1 > store.MaxSize {
			break
		}
		add(e)
	}
	if store.MaxSize-size > 300 {
		t.Fatalf("the index has %d bytes, want it within 300 of %d", size, store.MaxSize)
	}
	b, err := json.Marshal(map[string][]ixEntry{"s": entries})
	if err != nil || len(b) != size {
		t.Fatalf("index of %d bytes, counted %d: %v", len(b), size, err)
	}
	if err := r.m.Durable().PutMulti(ctx, []string{store.IndexID("max")}, []tier.Record{{Value: b, Expires: base.Add(24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}

	// An app-made session with the longest ID: the new entry is at its cap.
	sess := session.NewSessionOptions(&session.SessOptions{IDLength: idLen / 4 * 3})
	s := r.open()
	s.Add(sess)
	fresh, err := s.Login(sess, store.Login{User: "max", UserAgent: ua, IP: ip, Max: 10 * store.MaxSessionsLimit})
	s.Close()
	if err != nil || len(fresh.ID()) != idLen {
		t.Fatalf("Login into a full index: %v; new ID of %d bytes, want %d", err, len(fresh.ID()), idLen)
	}
	rec, _ := r.m.Record(store.IndexID("max"))
	if len(rec.Value) > store.MaxSize {
		t.Errorf("the index has %d bytes, over store.MaxSize (%d)", len(rec.Value), store.MaxSize)
	}
	for i, want := range []string{"flags 1", "flags 1", "gone"} { // ended, ended, kept
		if got := r.cached(id('L', i)); got != fmt.Sprint(want) {
			t.Errorf("live session %d (0: least recently seen) cached as %q, want %q", i, got, want)
		}
	}
	devs := r.list("max", "")
	if len(devs) != store.MaxSessionsLimit-1 || devs[0].Handle != "live000002" || !devs[len(devs)-1].Created.After(base.Add(time.Minute)) {
		t.Errorf("Devices shows %d devices from %s, want %d from live000002 to the new one", len(devs), devs[0].Handle, store.MaxSessionsLimit-1)
	}
}

// TestMaxSessionsIsClamped: a Login.Max above MaxSessionsLimit is taken as
// MaxSessionsLimit.
func TestMaxSessionsIsClamped(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	first := r.login("cap", "", 10*store.MaxSessionsLimit)
	for range store.MaxSessionsLimit {
		r.login("cap", "", 10*store.MaxSessionsLimit)
	}
	if n := len(r.list("cap", "")); n != store.MaxSessionsLimit {
		t.Errorf("%d sessions listed, want MaxSessionsLimit (%d)", n, store.MaxSessionsLimit)
	}
	if got := r.cached(first.ID()); got != fmt.Sprint("flags ", tier.FlagRemoved) {
		t.Errorf("the least recently seen session is cached as %q, want it ended", got)
	}
}
