package gaesession

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/aestore"
	"github.com/gaesession/gaesession/store/tier"
)

// Options configures Middleware. The zero value gives the defaults stated
// on each field.
type Options struct {
	// Store configures where sessions live. Default: store.Options{}. When
	// Store.Cache and Store.Durable are both nil, New uses App Engine's
	// bundled services: aestore.Memcache() and
	// aestore.Datastore(Store.DSEntityName). Setting one tier without the
	// other (unless Store.OnlyMemcache, which needs no Durable) panics.
	Store store.Options

	// Cookie configures the session cookie. Default: CookieOptions{}.
	Cookie CookieOptions

	// Users configures sessions bound to users (Manager.Login).
	// Default: UserOptions{}.
	Users UserOptions

	// ErrorFunc receives store failures (each a *store.Error) while the
	// request is being served. Failures found when the handler has returned
	// (writing sessions back) come after the response was written, so
	// ErrorFunc should record them, not write to w. Failures of background
	// Datastore writes (store.Options.AsyncDatastoreSave) are logged with
	// Logger instead. Default: log them with Logger at level Error.
	ErrorFunc func(w http.ResponseWriter, r *http.Request, err error)

	// Logger receives the middleware's and the store's logs. Default: on App
	// Engine (GAE_ENV=standard), JSON lines that Cloud Logging reads, grouped
	// under their request; elsewhere slog.Default().
	Logger *slog.Logger

	// WorkContext, when set, is called once in a request, when the request
	// first uses its sessions (Get with a well-formed cookie, Add, Remove,
	// Renew, Login, Devices, a revocation). The store's calls for the
	// request carry the context it returns, and done is called once, when
	// the request's session work is over: after the write-back (or at once,
	// for a request that used its sessions only after it ended). For a
	// tracing span around that work (the gaesession/otel module). It must
	// return a context derived from ctx. Default: nil: the calls carry the
	// request's context.
	WorkContext func(ctx context.Context, r *http.Request) (work context.Context, done func())
}

// config is Options with defaults applied, shared by all requests.
type config struct {
	Options
	cookie CookieOptions
	tiers  *store.Tiers
}

// Sessions is the middleware with what its requests share: the store's
// tiers and the background writes they started. Most apps only need
// Middleware; keep a Sessions to wait for background writes at shutdown.
type Sessions struct {
	c *config
}

// New returns the middleware for opts. It panics when opts are invalid: a
// KeyPrefix that leaves no room for session IDs in a Memcache key (44
// bytes for a hashed one, with Store.HashIDs), a signing
// key shorter than 32 bytes, a "__Host-" cookie with a Domain, another
// Path or AllowHTTP, a Users.MaxSessions over store.MaxSessionsLimit, a
// Store.Cache without a Store.Durable (unless Store.OnlyMemcache) or the
// reverse, or a Cache that takes another key prefix (tier.PrefixedCache).
//
// Store.HashIDs (off by default) keeps only a SHA-256 of each session ID
// in Memcache and the Datastore, so that a leaked export or cache dump
// holds no live cookie. Turn it on once you will not roll back to
// icza/gaesession or an earlier release, which cannot read hashed
// sessions; sessions stored before keep working and move on their next
// write (store.Options.RawIDsUntil says for how long they are looked
// for).
func New(opts Options) *Sessions {
	c := &config{Options: opts, cookie: opts.Cookie.withDefaults()}
	if tier.MaxKeyLen-len(opts.Store.KeyPrefix) < store.MinIDLen {
		panic("gaesession: Store.KeyPrefix leaves no room for session IDs in a 250-byte Memcache key")
	}
	if opts.Store.HashIDs && tier.MaxKeyLen-len(opts.Store.KeyPrefix) < len(store.HashID("")) {
		panic("gaesession: Store.KeyPrefix leaves no room for hashed session IDs (Store.HashIDs) in a 250-byte Memcache key")
	}
	if opts.Users.MaxSessions > store.MaxSessionsLimit {
		panic(fmt.Sprintf("gaesession: Users.MaxSessions is %d, over store.MaxSessionsLimit (%d): a user's sessions are listed in one Datastore entity",
			opts.Users.MaxSessions, store.MaxSessionsLimit))
	}
	if c.Logger == nil {
		c.Logger = defaultLogger()
	}
	c.tiers = store.NewTiers(withAppEngine(opts.Store))
	return &Sessions{c: c}
}

// withAppEngine returns o with App Engine's bundled services as its tiers
// when it names neither tier; store.NewTiers refuses a half-set pair.
func withAppEngine(o store.Options) store.Options {
	if o.Cache == nil && o.Durable == nil {
		o.Cache = aestore.Memcache()
		if !o.OnlyMemcache {
			o.Durable = aestore.Datastore(o.DSEntityName)
		}
	}
	return o
}

// Middleware returns middleware that gives each request a session Manager,
// found with From, and writes back the sessions the request changed when the
// handler returns: New(opts).Handler. The response of a request that read
// or wrote a session carries "Vary: Cookie", for shared caches. If the
// handler panics, the request's changes are dropped (removals, which
// happen at once, stay done), nothing is left open, and the panic goes on
// up. Middleware panics when opts are invalid (see New).
func Middleware(opts Options) func(http.Handler) http.Handler {
	return New(opts).Handler
}

// Handler wraps next with the middleware; it goes into an alice chain as
// alice.New(sessions.Handler).
func (s *Sessions) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.c.serve(next, w, r)
	})
}

// Shutdown waits until the background Datastore writes
// (store.Options.AsyncDatastoreSave) have finished, or ctx ends. Call it
// after http.Server.Shutdown, and in tests.
func (s *Sessions) Shutdown(ctx context.Context) error {
	return s.c.tiers.Wait(ctx)
}

// request is what serve allocates for a request, in one allocation: its
// Manager, the response writer that wraps w and the context that carries
// the Manager.
type request struct {
	m   Manager
	w   responseWriter
	ctx managerContext
}

// serve runs next with a session manager and closes it afterwards.
func (c *config) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	req := &request{}
	ww, m := &req.w, &req.m
	ww.ResponseWriter = w
	m.cfg, m.r, m.w = c, r, ww
	req.ctx = managerContext{Context: r.Context(), m: m}
	finished := false
	defer func() {
		if finished {
			m.Close()
		} else {
			m.discard()
		}
	}()
	next.ServeHTTP(ww, r.WithContext(&req.ctx))
	ww.start() // net/http sends the headers of a handler that wrote nothing
	finished = true
}
