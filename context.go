package gaesession

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"

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
// with it unchanged. Its methods are safe for concurrent use.
//
// A nil *Manager, which From returns outside Middleware, is a wiring bug:
// its Get, Add, Remove, Renew and Close panic with a message that names the
// fix, rather than quietly returning no session (which would log users out).
// Its Logger returns slog.Default().
type Manager struct {
	cfg   *config
	store *store.Store
	w     *responseWriter
	onErr func(error) // the store's ErrorFunc
	log   *slog.Logger
	once  sync.Once
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
	return m.log
}

// Get returns the session named by r's cookie, or nil when there is none.
// A malformed cookie, or one with a bad signature, means no session and
// costs no RPC. Change attributes with SetAttr: the request writes back
// only what it set.
func (m *Manager) Get(r *http.Request) session.Session {
	m.mustExist()
	c, err := r.Cookie(m.cfg.cookie.Name)
	if err != nil {
		return nil
	}
	id, ok := m.cfg.cookie.decode(c.Value, m.cfg.maxID)
	if !ok {
		return nil
	}
	return m.store.Get(id)
}

// Add stores sess and sets its cookie on w. The session is written when
// the request ends.
func (m *Manager) Add(sess session.Session, w http.ResponseWriter) {
	m.mustExist()
	if !validID(sess.ID(), m.cfg.maxID) {
		m.report("add", sess.ID(), ErrInvalidID)
		return
	}
	m.setCookie(w, sess.ID(), m.cfg.cookie.encode(sess.ID()), int(m.cfg.cookie.MaxAge.Seconds()))
	m.store.Add(sess)
}

// Remove deletes sess from Memcache and Datastore at once and deletes its
// cookie. A request that loaded the session earlier cannot bring it back.
func (m *Manager) Remove(sess session.Session, w http.ResponseWriter) {
	m.mustExist()
	m.setCookie(w, sess.ID(), "", -1)
	m.store.Remove(sess)
}

// Renew gives sess a new ID, against session fixation: call it at login.
// It returns the new session, which has sess's attributes and timeout and
// counts as created now; the old ID is deleted from both tiers and the
// cookie is replaced. Use the returned session from then on. The copy is
// made with encoding/gob, so attribute types must be registered with gob
// even when the store uses another codec.
func (m *Manager) Renew(sess session.Session, w http.ResponseWriter) (session.Session, error) {
	m.mustExist()
	fresh, err := store.Renew(sess)
	if err != nil {
		m.report("renew", sess.ID(), err)
		return nil, err
	}
	m.store.Remove(sess)
	m.Add(fresh, w)
	return fresh, nil
}

// Close writes back the sessions the request changed. Middleware calls it
// when the handler returns; further calls do nothing.
func (m *Manager) Close() {
	m.mustExist()
	m.once.Do(m.store.Close)
}

// setCookie sets the session cookie, reporting when it is too late to.
func (m *Manager) setCookie(w http.ResponseWriter, id, value string, maxAge int) {
	if m.w.started() {
		m.report("set-cookie", id, ErrCookieNotSet)
	}
	http.SetCookie(w, m.cfg.cookie.cookie(value, maxAge))
}

// report sends a failure to the store's ErrorFunc.
func (m *Manager) report(op, id string, err error) {
	m.onErr(&store.Error{Op: op, Session: store.ShortID(id), Err: err})
}
