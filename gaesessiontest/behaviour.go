package gaesessiontest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/purge"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// Backend is the storage of one subtest of TestBehaviour.
type Backend struct {
	// Store gives the tiers: Cache and Durable, or a Cache with
	// OnlyMemcache, and a KeyPrefix (and DSEntityName, if the tiers use it)
	// that no other subtest uses. The tiers must be set, not left to their
	// defaults: the suite reads them to check what they hold. TestBehaviour
	// sets Now and the options a behaviour is about (MaxLifetime,
	// TouchInterval, AsyncDatastoreSave) and keeps the rest.
	Store store.Options

	// Context is the context of every request the suite sends and of its
	// direct calls to the tiers. Default: context.Background(); on App
	// Engine a context of the dev server (Context).
	Context context.Context

	// Evict makes the Cache forget the item under key, as Memcache or Redis
	// may at any time. Default: nil, a Cache that forgets nothing before it
	// expires (Datastore-only mode): the behaviours about eviction are
	// skipped.
	Evict func(ctx context.Context, key string) error

	// Purge configures the purge handler for the subtest's sessions; its
	// Durable must be set, and Cache and KeyPrefix as the Store's.
	// TestBehaviour sets AllowNonCron and Now.
	Purge purge.Options
}

// TestBehaviour runs the behaviour suite of the middleware: what an app
// relies on (a session's lifecycle, concurrent writers merged, logout
// final, Renew, eviction, expiry and MaxLifetime, Login, Devices, Revoke,
// RevokeOthers, LogoutEverywhere, the per-user limit, purge), checked through a test app behind
// gaesession.New and a browser's cookie jar, as named parallel subtests.
// Every backend runs the same subtests with the same expected outcomes; a
// subtest about what a backend lacks (eviction without Backend.Evict, the
// per-user index with OnlyMemcache) checks that it is refused or is skipped.
//
// newBackend returns the storage of one subtest. now is the subtest's
// clock, which TestBehaviour also puts in store.Options.Now: it moves
// forward to make time pass, and tiers that take a clock should use it
// (storetest.ModelOptions.Now). A run on the in-process model:
//
//	gaesessiontest.TestBehaviour(t, func(t *testing.T, now func() time.Time) gaesessiontest.Backend {
//		m := storetest.NewModel(storetest.ModelOptions{Memcache: true, Now: now})
//		return gaesessiontest.Backend{
//			Store: store.Options{Cache: m.Cache(), Durable: m.Durable()},
//			Evict: func(_ context.Context, key string) error { m.Evict(key); return nil },
//			Purge: purge.Options{Durable: m.Durable(), Cache: m.Cache()},
//		}
//	})
func TestBehaviour(t *testing.T, newBackend func(t *testing.T, now func() time.Time) Backend) {
	t.Helper()
	for _, bc := range behaviours {
		t.Run(bc.name, func(t *testing.T) {
			t.Parallel()
			bc.f(&suite{t: t, newBackend: newBackend})
		})
	}
}

// suite makes the envs of one subtest.
type suite struct {
	t          *testing.T
	newBackend func(t *testing.T, now func() time.Time) Backend
}

// sub returns the suite of a subtest of s's test.
func (s *suite) sub(t *testing.T) *suite { return &suite{t: t, newBackend: s.newBackend} }

// env is the middleware on one subtest's backend, with a test clock, the
// errors sent to ErrorFunc, and a first browser.
type env struct {
	*testing.T
	b     Backend
	ctx   context.Context
	opts  gaesession.Options
	clock *storetest.Clock
	sess  *gaesession.Sessions
	h     http.Handler
	errs  *errLog
	*browser
}

// env returns the middleware on a new backend, with the Store options
// MaxLifetime, TouchInterval and AsyncDatastoreSave and the Users options
// of opts. The errors
// sent to ErrorFunc must be taken (takeErrs) before the subtest ends.
func (s *suite) env(opts gaesession.Options) *env {
	t := s.t
	clock := &storetest.Clock{}
	b := s.newBackend(t, clock.Now)
	if b.Context == nil {
		b.Context = context.Background()
	}
	o := b.Store
	o.Now = clock.Now
	o.MaxLifetime, o.TouchInterval = opts.Store.MaxLifetime, opts.Store.TouchInterval
	o.AsyncDatastoreSave = opts.Store.AsyncDatastoreSave
	e := &env{T: t, b: b, ctx: b.Context, clock: clock, errs: &errLog{}}
	e.opts = gaesession.Options{Store: o, Users: opts.Users, ErrorFunc: e.errs.add}
	e.sess = gaesession.New(e.opts)
	t.Cleanup(func() {
		if err := e.sess.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		if errs := e.errs.take(); len(errs) != 0 {
			t.Errorf("ErrorFunc got %v", errs)
		}
	})
	e.h = e.sess.Handler(App)
	e.browser = e.newBrowser()
	return e
}

// errLog collects what the middleware sends to ErrorFunc.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errLog) add(_ http.ResponseWriter, _ *http.Request, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

// take returns the errors so far and forgets them.
func (l *errLog) take() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	errs := l.errs
	l.errs = nil
	return errs
}

// wantErrs takes the errors sent to ErrorFunc and fails unless there is one
// for each of want, in order, matching it by errors.Is.
func (e *env) wantErrs(want ...error) {
	e.Helper()
	got := e.errs.take()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = errors.Is(got[i], want[i])
	}
	if !ok {
		e.Errorf("ErrorFunc got %v, want %v", got, want)
	}
}

// browser is a client of the env's app with a cookie jar of its own.
type browser struct {
	e *env
	c *Client
}

// newBrowser returns another browser of the app.
func (e *env) newBrowser() *browser {
	return &browser{e: e, c: NewClient(e.T, e.h)}
}

// request returns a GET request for target on the backend's context.
func (e *env) request(target string) *http.Request {
	return httptest.NewRequest(http.MethodGet, BaseURL+target, nil).WithContext(e.ctx)
}

// do sends a GET request for target through h and returns the response.
func (b *browser) do(h http.Handler, target string) *http.Response {
	b.e.Helper()
	return b.c.With(h).Do(b.e.request(target))
}

// get sends a GET request for target to the app and returns the body.
func (b *browser) get(target string) string {
	b.e.Helper()
	return Body(b.e.T, b.do(b.e.h, target))
}

// id returns the session ID in the browser's jar, or "" if none.
func (b *browser) id() string {
	for _, c := range b.c.Jar.Cookies(b.e.request("/").URL) {
		if c.Name == "sessid" {
			return c.Value
		}
	}
	return ""
}

// setID puts a session cookie with id in the jar.
func (b *browser) setID(id string) {
	b.c.Jar.SetCookies(b.e.request("/").URL, []*http.Cookie{{Name: "sessid", Value: id, Path: "/"}})
}

// hold starts a request of b that loads its session and waits. When it has
// loaded the session, hold returns finish, which lets the request call
// then and waits until it has written back.
func (b *browser) hold(then func(m *gaesession.Manager, sess session.Session, w http.ResponseWriter)) (finish func()) {
	loaded, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	h := b.e.sess.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		sess := m.Get(r)
		close(loaded)
		<-release
		then(m, sess, w)
	}))
	go func() {
		defer close(done)
		res := b.c.With(h).Do(b.e.request("/"))
		res.Body.Close()
	}()
	<-loaded
	return sync.OnceFunc(func() { close(release); <-done })
}

// needEviction skips the test when the backend's Cache forgets nothing,
// or when the session would be lost with it (OnlyMemcache).
func (e *env) needEviction() {
	switch {
	case e.b.Evict == nil:
		e.Skip("the backend's Cache forgets nothing (Backend.Evict is nil)")
	case e.opts.Store.OnlyMemcache:
		e.Skip("OnlyMemcache: an evicted session is lost")
	}
}

// sid returns the ID a session is stored under: its hash with HashIDs.
func (e *env) sid(id string) string {
	if e.opts.Store.HashIDs {
		return store.HashID(id)
	}
	return id
}

// evict makes the Cache forget a session.
func (e *env) evict(id string) {
	e.Helper()
	if err := e.b.Evict(e.ctx, e.opts.Store.KeyPrefix+e.sid(id)); err != nil {
		e.Fatal(err)
	}
}

// tiers returns what each tier holds for a session, as App prints it
// (the binding's attributes left out): "gone" for nothing, "tombstone" for a tombstone in the Cache,
// "unconfirmed:" and the attributes for an item not yet vouched for (a new
// session, or a put-back), and "-"
// for the Durable tier with OnlyMemcache.
func (e *env) tiers(id string) (cache, durable string) {
	e.Helper()
	o := e.opts.Store
	cache, durable = "gone", "-"
	it, err := o.Cache.Get(e.ctx, o.KeyPrefix+e.sid(id))
	switch {
	case errors.Is(err, tier.ErrCacheMiss):
	case err != nil:
		e.Fatalf("Cache.Get: %v", err)
	case it.Flags == 0:
		cache = attrs(e.decode(it.Value), false)
	case it.Flags == tier.FlagUnconfirmed:
		cache = "unconfirmed:" + attrs(e.decode(it.Value), false)
	default:
		cache = "tombstone"
	}
	if o.OnlyMemcache {
		return cache, durable
	}
	rec, err := store.ReadRecord(e.ctx, o.Durable, e.sid(id))
	switch {
	case errors.Is(err, tier.ErrNotFound):
		durable = "gone"
	case err != nil:
		e.Fatalf("reading the Durable tier: %v", err)
	default:
		durable = attrs(e.decode(rec.Value), false)
	}
	return cache, durable
}

// wantTiers fails unless the tiers hold cache and durable for a session;
// with OnlyMemcache durable is not checked.
func (e *env) wantTiers(id, cache, durable string) {
	e.Helper()
	if e.opts.Store.OnlyMemcache {
		durable = "-"
	}
	if c, d := e.tiers(id); c != cache || d != durable {
		e.Errorf("the Cache holds %s, the Durable tier %s; want %s and %s", c, d, cache, durable)
	}
}

// codec is the store's codec.
func (e *env) codec() *store.Codec {
	if e.opts.Store.Codec != nil {
		return e.opts.Store.Codec
	}
	return &store.Gob
}

// encode encodes a session as the store does.
func (e *env) encode(s session.Session) ([]byte, error) { return e.codec().Marshal(s) }

// decode decodes a stored session with the store's codec.
func (e *env) decode(b []byte) session.Session {
	e.Helper()
	s := session.NewSession()
	if err := e.codec().Unmarshal(b, s); err != nil {
		e.Fatal(err)
	}
	return s
}

// isBound reports whether an attribute name is one of the binding's.
func isBound(name string) bool { return strings.HasPrefix(name, store.ReservedPrefix) }
