package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// TestRevocation runs the suite of the per-user index under races as named
// subtests in parallel: a revocation racing a Renew, a
// revoked new session and an eviction, concurrent logins and the limit,
// Sweep racing a login, and retried index transactions that had
// committed. It puts one operation at a precise call of another through
// wrappers around opts.Cache and opts.Durable, so it runs on any backend,
// and checks exact outcomes: which IDs are readable (in both tiers, also
// after an eviction) and which handles are listed. The subtests of HashIDs
// run every case again with Options.HashIDs, and the cases of sessions
// stored under their raw IDs by a store without it.
//
// setup returns the options of one subtest, with its Cache and Durable
// (not OnlyMemcache: the index needs the Durable tier), and the context
// of its calls. KeyPrefix and Now are used as given; every subtest uses
// users and sessions of its own, so the tiers may be shared.
func TestRevocation(t *testing.T, setup func(t *testing.T) (store.Options, context.Context)) {
	t.Helper()
	run := nonce()
	cases := func(t *testing.T, hashIDs bool) {
		all := revocationCases
		if hashIDs {
			all = append(slices.Clip(all), rawIDCases...)
		}
		for _, tc := range all {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				opts, ctx := setup(t)
				if opts.OnlyMemcache || opts.Cache == nil || opts.Durable == nil {
					t.Fatal("TestRevocation needs options with a Cache and a Durable tier")
				}
				opts.HashIDs = opts.HashIDs || hashIDs
				tc.f(newRevT(t, opts, ctx, run))
			})
		}
	}
	cases(t, false)
	t.Run("HashIDs", func(t *testing.T) { cases(t, true) })
}

// revT is one subtest of TestRevocation: a Tiers on the hooked backends,
// the backends themselves for inspection, and the errors its stores
// report.
type revT struct {
	*testing.T
	ctx     context.Context
	raw     store.Options // the backends as given, for inspection
	durable tier.Durable  // hooked, for Sweep
	opts    store.Options // of tiers: the hooked backends
	tiers   *store.Tiers
	h       *hooks
	user    string
	ix      string       // the user's index
	shift   atomic.Int64 // what the store's clock adds to the given one, see advance

	mu   sync.Mutex
	errs []error
}

func newRevT(t *testing.T, opts store.Options, ctx context.Context, run string) *revT {
	h := &hooks{}
	rt := &revT{T: t, ctx: ctx, raw: opts, h: h, user: run + "/" + t.Name()}
	rt.ix = store.IndexID(rt.user)
	given := opts.Now
	if given == nil {
		given = time.Now
	}
	opts.Now = func() time.Time { return given().Add(time.Duration(rt.shift.Load())) }
	rt.raw.Now = opts.Now
	opts.Cache = hookedCache{opts.Cache, h}
	opts.Durable = hookedDurable{opts.Durable, h}
	rt.durable = opts.Durable
	rt.opts = opts
	rt.tiers = store.NewTiers(opts)
	return rt
}

// with returns Tiers on the same hooked backends with the options set.
func (rt *revT) with(set func(o *store.Options)) *store.Tiers {
	opts := rt.opts
	set(&opts)
	return store.NewTiers(opts)
}

func (rt *revT) report(err error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.errs = append(rt.errs, err)
}

func (rt *revT) now() time.Time { return rt.raw.Now() }

// advance moves the store's clock forward by d.
func (rt *revT) advance(d time.Duration) { rt.shift.Add(int64(d)) }

// open returns a store for one request.
func (rt *revT) open() *store.Store { return rt.tiers.Open(rt.ctx, rt.report, nil) }

// login runs a request that logs the user in with no session and the
// given Max.
func (rt *revT) login(limit int) session.Session {
	rt.Helper()
	s := rt.open()
	defer s.Close()
	fresh, err := s.Login(nil, store.Login{User: rt.user, UserAgent: "test", Max: limit})
	if err != nil {
		rt.Fatalf("login: %v", err)
	}
	return fresh
}

// renew runs a request that loads the session id and renews it.
func (rt *revT) renew(id string) (session.Session, error) {
	rt.Helper()
	s := rt.open()
	defer s.Close()
	sess := s.Get(id)
	if sess == nil {
		rt.Fatalf("renew: session %s not found", store.ShortID(id))
	}
	return s.Renew(sess)
}

// revoke ends sess: RevokeAll keeping keep, or Revoke of its handle.
func (rt *revT) revoke(all bool, sess, keep session.Session) {
	rt.Helper()
	if all {
		if err := rt.tiers.RevokeAll(rt.ctx, rt.user, handle(keep)); err != nil {
			rt.Errorf("RevokeAll: %v", err)
		}
		return
	}
	if ok, err := rt.tiers.Revoke(rt.ctx, rt.user, handle(sess)); !ok || err != nil {
		rt.Errorf("Revoke = %v, %v; want true", ok, err)
	}
}

// handle returns the handle of a bound session.
func handle(sess session.Session) string {
	h, _ := sess.Attr(store.AttrHandle).(string)
	return h
}

// sid returns the ID session id is stored under: its hash with HashIDs.
func (rt *revT) sid(id string) string {
	if rt.raw.HashIDs {
		return store.HashID(id)
	}
	return id
}

// evict makes the Cache forget id, as Memcache and Redis may at any time.
func (rt *revT) evict(id string) {
	rt.Helper()
	if err := rt.raw.Cache.Delete(rt.ctx, rt.raw.KeyPrefix+rt.sid(id)); err != nil {
		rt.Fatalf("evict: %v", err)
	}
}

// readable reports whether a request finds the session id.
func (rt *revT) readable(id string) bool {
	s := rt.open()
	defer s.Discard()
	return s.Get(id) != nil
}

// wantLive fails the test unless a request finds the session id.
func (rt *revT) wantLive(what, id string) {
	rt.Helper()
	if !rt.readable(id) {
		rt.Errorf("%s: session not found, want it live", what)
	}
}

// wantEnded fails the test unless the session id is unreadable: to a
// request, in the Durable tier, in the Cache (a miss or a tombstone), and
// to a request again after the Cache has lost it.
func (rt *revT) wantEnded(what, id string) {
	rt.Helper()
	if rt.readable(id) {
		rt.Errorf("%s: a request finds the session, want it ended", what)
	}
	if _, err := store.ReadRecord(rt.ctx, rt.raw.Durable, rt.sid(id)); !errors.Is(err, tier.ErrNotFound) {
		rt.Errorf("%s: the Durable tier reads %v, want ErrNotFound", what, err)
	}
	if it, err := rt.raw.Cache.Get(rt.ctx, rt.raw.KeyPrefix+rt.sid(id)); err == nil && it.Flags == 0 {
		rt.Errorf("%s: the Cache holds the session, want a tombstone or nothing", what)
	} else if err != nil && !errors.Is(err, tier.ErrCacheMiss) {
		rt.Errorf("%s: Cache.Get = %v", what, err)
	}
	rt.evict(id)
	if rt.readable(id) {
		rt.Errorf("%s: after an eviction a request finds the session, want it ended", what)
	}
}

// wantListed fails the test unless the user's list shows exactly these
// handles, each once, in any order.
func (rt *revT) wantListed(what string, want ...string) {
	rt.Helper()
	devs, err := rt.tiers.Devices(rt.ctx, rt.user, "")
	if err != nil {
		rt.Errorf("%s: Devices: %v", what, err)
		return
	}
	got := make([]string, len(devs))
	for i, d := range devs {
		got[i] = d.Handle
	}
	slices.Sort(got)
	want = slices.Clone(want)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		rt.Errorf("%s: Devices shows handles %q, want %q", what, got, want)
	}
}

// wantCalls fails the test unless the calls made since the last take are
// want, in any order.
func (rt *revT) wantCalls(what string, want ...string) {
	rt.Helper()
	slices.Sort(want)
	if got := rt.h.take(); !slices.Equal(got, want) {
		rt.Errorf("%s: calls %q, want %q", what, got, want)
	}
}

// fired fails the test unless the armed trigger fired: else the
// interleaving under test did not happen.
func (rt *revT) fired() {
	rt.Helper()
	if rt.h.pending() {
		rt.Fatal("the injected operation did not run: its call never came")
	}
}

// wantErrs fails the test unless the stores reported n errors since the
// last check, each wrapping target.
func (rt *revT) wantErrs(what string, n int, target error) {
	rt.Helper()
	rt.mu.Lock()
	errs := rt.errs
	rt.errs = nil
	rt.mu.Unlock()
	for _, err := range errs {
		if target == nil || !errors.Is(err, target) {
			rt.Errorf("%s: reported %v, want %v", what, err, target)
		}
	}
	if len(errs) != n {
		rt.Errorf("%s: %d errors reported, want %d", what, len(errs), n)
	}
}

// errCommitted is the failure a retried transaction reports although it
// committed (a timeout after the commit).
var errCommitted = errors.New("storetest: injected failure of a transaction that committed")
