package gaesession

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/gaesession/gaesession/store"
	"google.golang.org/appengine/v2"
)

// Options configures Middleware. The zero value gives the defaults stated
// on each field.
type Options struct {
	// Store configures where sessions live. Default: store.Options{}.
	Store store.Options

	// Cookie configures the session cookie. Default: CookieOptions{}.
	Cookie CookieOptions

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
}

// config is Options with defaults applied, shared by all requests.
type config struct {
	Options
	cookie CookieOptions
	maxID  int // longest session ID that fits a Memcache key with the prefix
}

// Middleware returns middleware that gives each request a session Manager,
// found with From, and writes back the sessions the request changed when the
// handler returns. If the handler panics, the request's changes are dropped
// (removals, which happen at once, stay done), nothing is left open, and the
// panic goes on up. Middleware panics when opts are invalid.
func Middleware(opts Options) func(http.Handler) http.Handler {
	c := &config{Options: opts, cookie: opts.Cookie.withDefaults()}
	c.maxID = maxKeyLen - len(opts.Store.KeyPrefix)
	if c.maxID < minIDLen {
		panic("gaesession: Store.KeyPrefix leaves no room for session IDs in a 250-byte Memcache key")
	}
	if c.Logger == nil {
		c.Logger = defaultLogger()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.serve(next, w, r)
		})
	}
}

// serve runs next with a session manager and closes it afterwards.
func (c *config) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	log := requestLogger(c.Logger, r)
	var done atomic.Bool
	onErr := func(err error) {
		switch {
		case done.Load() || c.ErrorFunc == nil:
			log.Error("gaesession: store failure", "err", err) // as store logs them
		default:
			c.ErrorFunc(w, r, err)
		}
	}
	so := c.Store
	so.Logger, so.ErrorFunc = log, onErr
	ww := &responseWriter{ResponseWriter: w}
	m := &Manager{cfg: c, store: store.New(appengine.NewContext(r), so), w: ww, onErr: onErr, log: log}
	finished := false
	defer func() {
		if finished {
			m.Close()
		} else {
			m.store.Discard()
		}
		done.Store(true)
	}()
	next.ServeHTTP(ww, r.WithContext(context.WithValue(r.Context(), managerKey, m)))
	finished = true
}
