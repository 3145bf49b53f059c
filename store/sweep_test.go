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
)

// expire moves the Expires of the durable record id into the past, as
// when its session timed out (or, for an index, as when touches kept its
// sessions alive longer than it).
func (r *rig) expire(id string) {
	r.t.Helper()
	rec, ok := r.m.Record(id)
	if !ok {
		r.t.Fatalf("no record %s to expire", store.ShortID(id))
	}
	rec.Expires = time.Now().Add(-time.Minute)
	if err := r.m.Durable().PutMulti(context.Background(), []string{id}, []tier.Record{rec}); err != nil {
		r.t.Fatal(err)
	}
}

// sweep runs Tiers.Sweep on the model and returns what it would delete,
// and how many indexes it deleted itself.
func (r *rig) sweep(ids ...string) ([]string, int, error) {
	r.take()
	del, swept, endErr, err := r.tiers.Sweep(context.Background(), r.clock.Now(), ids)
	return del, swept, errors.Join(endErr, err)
}

// TestSweepKeepsAnIndexWithALiveSession: an expired index that lists a live
// session is kept, with that session, until it expires; the other IDs are
// returned as they are. A session found expired is marked first (its
// Cache copy may outlive the Durable one); a sweep an hour later that
// still finds it so ends it in both tiers, then drops it.
func TestSweepKeepsAnIndexWithALiveSession(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	r.loginTimeout = 24 * time.Hour // live across the hour the clock moves
	a, b := r.login("lee", "", 0), r.login("lee", "", 0)
	ix := store.IndexID("lee")
	r.expire(b.ID())
	r.expire(ix)
	others := []string{"AAAAAAAAAAAAAAAAAAAAAAAA", b.ID(), b.ID() + tier.EndSuffix}
	del, swept, err := r.sweep(others[0], ix, others[1], others[2])
	r.wantCalls("Sweep (the expired session marked)", "durable.GetMulti", "durable.GetMulti", "durable.Update")
	if err != nil || fmt.Sprint(del) != fmt.Sprint(others) || swept != 0 {
		t.Fatalf("Sweep = %d IDs, %d swept, %v; want the %d others, in order, not the index", len(del), swept, err, len(others))
	}
	if got := r.cached(b.ID()); got == "gone" || strings.HasPrefix(got, "flags") {
		t.Errorf("the expired session's Cache item after the first sweep is %q, want it untouched", got)
	}
	r.clock.Advance(time.Hour + time.Minute)
	r.expire(ix)
	if _, _, err := r.sweep(ix); err != nil {
		t.Fatal(err)
	}
	r.wantCalls("Sweep an hour later (the expired session ended in both tiers, then dropped)",
		"durable.GetMulti", "durable.GetMulti", "durable.PutMulti", "durable.DeleteMulti", "cache.SetMulti", "durable.Update")
	if got := r.cached(b.ID()); got != "flags 1" {
		t.Errorf("the expired session's Cache item is %q, want a revocation's tombstone (flags 1)", got)
	}
	rec, _ := r.m.Record(ix)
	live, _ := r.m.Record(a.ID())
	if !rec.Expires.Equal(live.Expires) {
		t.Errorf("kept index expires %v, want with its live session, %v", rec.Expires, live.Expires)
	}
	if got := handles(r.list("lee", "")); len(got) != 1 || got[0] != handle(a) {
		t.Errorf("kept index lists %q, want only the live session", got)
	}
}

// TestSweepUnmarksASessionLiveAgain: a session found expired, marked, whose
// late write-back then lands (a newer Durable copy), is live again at the
// next sweep: listed, and not ended.
func TestSweepUnmarksASessionLiveAgain(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	r.loginTimeout = 24 * time.Hour // live across the hour the clock moves
	a := r.login("liv", "", 0)
	ix := store.IndexID("liv")
	rec, _ := r.m.Record(a.ID())
	r.expire(a.ID())
	if _, _, err := r.sweep(ix); err != nil {
		t.Fatal(err)
	}
	if got := handles(r.list("liv", "")); len(got) != 0 {
		t.Fatalf("a session found expired is listed %q, want it hidden (marked)", got)
	}
	if err := r.m.Durable().PutMulti(context.Background(), []string{a.ID()}, []tier.Record{rec}); err != nil { // the late Put
		t.Fatal(err)
	}
	r.clock.Advance(time.Hour + time.Minute)
	if _, _, err := r.sweep(ix); err != nil {
		t.Fatal(err)
	}
	if got := handles(r.list("liv", "")); len(got) != 1 || got[0] != handle(a) {
		t.Errorf("after its late write landed the session is listed %q, want it live again", got)
	}
	if got := r.cached(a.ID()); got == "gone" || strings.HasPrefix(got, "flags") {
		t.Errorf("the session live again is cached as %q, want it untouched", got)
	}
}

// TestSweepDeletesAnIndexWithoutLiveSessions: an expired index whose
// sessions all expired is deleted in its transaction by the first sweep at
// least an hour after the one that marked them, which ends them in both
// tiers first; one already gone counts as swept; neither is returned for
// purge to delete.
func TestSweepDeletesAnIndexWithoutLiveSessions(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	a, b := r.login("max", "", 0), r.login("max", "", 0)
	ix := store.IndexID("max")
	for _, id := range []string{a.ID(), b.ID(), ix} {
		r.expire(id)
	}
	if del, swept, err := r.sweep(ix); err != nil || len(del) != 0 || swept != 0 {
		t.Fatalf("first Sweep = %d IDs, %d swept, %v; want the index kept, its entries marked", len(del), swept, err)
	}
	r.clock.Advance(time.Hour + time.Minute)
	gone := store.IndexID("nobody")
	del, swept, err := r.sweep(ix, gone)
	r.wantCalls("Sweep", "durable.GetMulti", "durable.GetMulti", "durable.PutMulti", "durable.DeleteMulti", "cache.SetMulti", "durable.Update", "durable.GetMulti", "durable.Update")
	if err != nil || len(del) != 0 || swept != 2 {
		t.Errorf("Sweep = %d IDs, %d swept, %v; want none, both indexes swept", len(del), swept, err)
	}
	if _, ok := r.m.Record(ix); ok {
		t.Error("the index without live sessions is still stored")
	}
	if !store.IsIndexID(ix) || store.IsIndexID(ix+tier.EndSuffix) || store.IsIndexID(a.ID()) {
		t.Error("IsIndexID does not tell indexes from sessions and tombstones")
	}
}

// TestSweepReportsAFailedIndexRead: when the index cannot be read, Sweep
// fails rather than have it deleted: it may list live sessions.
func TestSweepReportsAFailedIndexRead(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	r.login("ned", "", 0)
	ix := store.IndexID("ned")
	r.expire(ix)
	injected := errors.New("injected failure of a Durable read")
	r.setFault(func(_ context.Context, op, key string) error {
		if op == "durable.GetMulti" && key == ix {
			return injected
		}
		return nil
	})
	if del, swept, err := r.sweep(ix); !errors.Is(err, injected) || len(del) != 0 || swept != 0 {
		t.Errorf("Sweep = %d IDs, %d swept, %v; want the injected error", len(del), swept, err)
	}
}

// TestSweepKeepsAConcurrentLogin: a login that adds a session to an index
// while Sweep trims it stays listed, so RevokeAll still ends it.
func TestSweepKeepsAConcurrentLogin(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	a := r.login("ola", "", 0)
	ix := store.IndexID("ola")
	r.expire(ix)
	var b string
	started := false // the login's own Update passes
	r.setFault(func(_ context.Context, op, key string) error {
		if op == "durable.Update" && key == ix && !started {
			started = true
			b = r.login("ola", "", 0).ID() // just before Sweep's transaction
		}
		return nil
	})
	if del, swept, err := r.sweep(ix); err != nil || len(del) != 0 || swept != 0 {
		t.Fatalf("Sweep = %d IDs, %d swept, %v; want the index kept", len(del), swept, err)
	}
	r.setFault(nil)
	if n := len(r.list("ola", "")); n != 2 {
		t.Errorf("%d of 2 sessions listed after the sweep", n)
	}
	if err := r.tiers.RevokeAll(context.Background(), "ola", ""); err != nil {
		t.Fatal(err)
	}
	if r.read(a.ID()) != "none" || r.read(b) != "none" {
		t.Error("RevokeAll left a session readable")
	}
}
