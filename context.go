package gaesession

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
)

// ErrCookieNotSet is reported when Add, Remove or Renew is called after the
// handler has started the response, so the Set-Cookie header cannot be sent.
var ErrCookieNotSet = errors.New("response already started, session cookie not sent")

// ErrInvalidID is reported when a session given to Add has an ID that is not
// base64url, or is too short or too long for a Memcache key with the
// KeyPrefix.
var ErrInvalidID = errors.New("invalid session ID")

type contextKey struct{ name string }

var managerKey = &contextKey{"gaesession"}

// managerContext is the request's context with its Manager under
// managerKey, as context.WithValue(ctx, managerKey, m) would make it; it
// is part of the one allocation serve makes per request (see request).
type managerContext struct {
	context.Context
	m *Manager
}

// Value returns the Manager for managerKey, else the parent's value.
func (c *managerContext) Value(key any) any {
	if key == any(managerKey) {
		return c.m
	}
	return c.Context.Value(key)
}

// String names the context, as context.WithValue's String does: the
// parent's String, or its type.
func (c *managerContext) String() string {
	parent := fmt.Sprintf("%T", c.Context)
	if s, ok := c.Context.(fmt.Stringer); ok {
		parent = s.String()
	}
	return parent + ".WithValue(gaesession.Manager)"
}

// From returns the session manager that Middleware put in ctx, or nil when
// ctx did not pass through Middleware. Calling Get, Add, Remove, Renew or
// Close on that nil panics with a message that says to wrap the handler with
// Middleware; its Logger returns slog.Default().
func From(ctx context.Context) *Manager {
	m, _ := ctx.Value(managerKey).(*Manager)
	return m
}

// Manager is one request's session manager. It implements
// github.com/icza/session.Manager, so code written for icza/session works
// with it unchanged. Its methods are safe for concurrent use. It makes no
// App Engine call, and allocates little, until a session is asked for.
//
// A nil *Manager, which From returns outside Middleware, is a wiring bug:
// its methods (Get, Add, Remove, Renew, Login, Devices, Revoke,
// RevokeOthers, LogoutEverywhere, Close) panic with a message that names
// the fix, rather than quietly returning no session (which would log users out).
// Its Logger returns slog.Default().
type Manager struct {
	cfg  *config
	r    *http.Request
	w    *responseWriter
	done atomic.Bool // the write-back is over: failures are logged

	mu       sync.Mutex
	st       *store.Store    // opened on first use
	ctx      context.Context // of the store's calls, set when st is opened
	finish   func()          // from Options.WorkContext; nil: none
	log      *slog.Logger
	ended    bool
	followed bool // a remembered session's cookie was re-sent
}

var _ session.Manager = (*Manager)(nil)

// noManager is the panic message of a nil Manager's methods.
const noManager = "gaesession: no Manager in the request context: wrap the handler with gaesession.Middleware"

// mustExist panics with noManager when m is nil.
func (m *Manager) mustExist() {
	if m == nil {
		panic(noManager)
	}
}

// Logger returns the request's logger: Options.Logger (or its default),
// with the request's Cloud Trace on App Engine, so that lines logged with it
// appear under the request in Cloud Logging. On a nil Manager (outside the
// middleware) it returns slog.Default().
func (m *Manager) Logger() *slog.Logger {
	if m == nil {
		return slog.Default()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.logger()
}

func (m *Manager) logger() *slog.Logger {
	if m.log == nil {
		m.log = requestLogger(m.cfg.Logger, m.r)
	}
	return m.log
}

// store returns the request's store, opening it on first use.
func (m *Manager) store() *store.Store {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st == nil {
		m.ctx, m.finish = m.cfg.work(m.r)
		m.st = m.cfg.tiers.Open(m.ctx, m.onErr, m.logger())
		if m.ended { // used after the request: nothing will be written
			m.st.Discard()
			if m.finish != nil {
				m.finish()
				m.finish = nil
			}
		}
	}
	return m.st
}

// onErr receives the store's failures: ErrorFunc while the request is
// being served and written back, the logger afterwards.
func (m *Manager) onErr(err error) {
	if m.done.Load() || m.cfg.ErrorFunc == nil {
		m.Logger().Error("gaesession: store failure", "err", err) // as store logs them
		return
	}
	m.cfg.ErrorFunc(m.w, m.r, err)
}

// maxCandidates bounds the session cookies of one request that Get looks
// up: each well-formed one costs an RPC.
const maxCandidates = 3

// Get returns the session named by r's cookie, or nil when there is none.
// Of several cookies with the session cookie's name (a sibling subdomain
// can plant one), malformed ones and those with a bad signature are skipped
// at no cost, and the first of the others (at most three) that names a
// stored session wins. Change attributes with SetAttr: the request writes
// back only what it set. When the request extends a remembered session
// (LoginOptions.Remember), Get re-sends its cookie.
func (m *Manager) Get(r *http.Request) session.Session {
	m.mustExist()
	m.w.cookie.Store(true)
	prefix, tried := len(m.cfg.Store.KeyPrefix), 0
	for _, c := range r.CookiesNamed(m.cfg.cookie.Name) {
		id, ok := m.cfg.cookie.decode(c.Value, prefix)
		if !ok {
			m.cfg.notify(r.Context(), store.EventReadJunkCookie, 1)
			continue
		}
		if sess := m.store().Get(id); sess != nil {
			m.followCookie(sess)
			return sess
		}
		if tried++; tried == maxCandidates {
			break
		}
	}
	return nil
}

// followCookie re-sends the cookie of a remembered session (logged in with
// LoginOptions.Remember) with its full Max-Age when this request extends
// the session on the server, at most once per TouchInterval, so that the
// browser keeps the cookie as long as the session lives. It does nothing
// once the response has started.
func (m *Manager) followCookie(sess session.Session) {
	if _, bound := User(sess); !bound || !m.store().Touching(sess.ID()) {
		return
	}
	maxAge := m.maxAge(sess)
	m.mu.Lock()
	again := m.followed
	m.followed = true
	m.mu.Unlock()
	if again || maxAge <= 0 || m.w.started() {
		return
	}
	http.SetCookie(m.w, m.cfg.cookie.cookie(m.cfg.cookie.encode(sess.ID()), maxAge))
}

// Add stores sess and sets its cookie on w. The session is written when
// the request ends.
func (m *Manager) Add(sess session.Session, w http.ResponseWriter) {
	m.mustExist()
	if !store.ValidID(sess.ID(), len(m.cfg.Store.KeyPrefix)) {
		m.report("add", sess.ID(), ErrInvalidID)
		return
	}
	m.setCookie(w, sess.ID(), m.cfg.cookie.encode(sess.ID()), int(m.cfg.cookie.MaxAge.Seconds()))
	m.store().Add(sess)
}

// Remove deletes sess from Memcache and Datastore at once and deletes its
// cookie. A request that loaded the session earlier cannot bring it back.
func (m *Manager) Remove(sess session.Session, w http.ResponseWriter) {
	m.mustExist()
	m.setCookie(w, sess.ID(), "", -1)
	m.store().Remove(sess)
	m.cfg.notify(m.context(), store.EventLogout, 1)
}

// Renew gives sess a new ID, against session fixation: call it at login.
// It returns the new session, which carries the newest stored version of
// sess's attributes with this request's changes, keeps its timeout and
// counts as created now; the old ID is retired in both tiers (a request
// still using it is told store.ErrRenewed) and the cookie is replaced. Use
// the returned session from then on. The copy is made with encoding/gob,
// so attribute types must be registered with gob even when the store uses
// another codec. On failure (reported once to ErrorFunc) the old session
// may still be valid and no cookie is set.
func (m *Manager) Renew(sess session.Session, w http.ResponseWriter) (session.Session, error) {
	m.mustExist()
	fresh, err := m.store().Renew(sess)
	if err != nil {
		return nil, err
	}
	m.cfg.notify(m.context(), store.EventRenewal, 1)
	m.setCookie(w, fresh.ID(), m.cfg.cookie.encode(fresh.ID()), m.maxAge(fresh))
	return fresh, nil
}

// Close writes back the sessions the request changed. Middleware calls it
// when the handler returns; further calls do nothing.
func (m *Manager) Close() {
	m.mustExist()
	m.end(func(s *store.Store) { s.Close() })
}

// discard ends the request without writing anything back.
func (m *Manager) discard() {
	m.end(func(s *store.Store) { s.Discard() })
}

// end closes or discards the store, once; later failures are logged.
func (m *Manager) end(f func(*store.Store)) {
	m.mu.Lock()
	st, ended := m.st, m.ended
	m.ended = true
	m.mu.Unlock()
	if !ended && st != nil {
		f(st)
		m.workDone()
	}
	m.done.Store(true)
}

// setCookie sets the session cookie, reporting when it is too late to.
func (m *Manager) setCookie(w http.ResponseWriter, id, value string, maxAge int) {
	m.w.cookie.Store(true)
	if m.w.started() {
		m.report("set-cookie", id, ErrCookieNotSet)
	}
	http.SetCookie(w, m.cfg.cookie.cookie(value, maxAge))
}

// report sends a failure to the store's ErrorFunc.
func (m *Manager) report(op, id string, err error) {
	m.onErr(&store.Error{Op: op, Session: store.ShortID(id), Err: err})
}
