package gaesession

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/aestore"
	"github.com/icza/session"
)

// UserOptions configures sessions bound to users by Manager.Login. The zero
// value gives the defaults stated on each field.
type UserOptions struct {
	// MaxSessions is how many sessions one user may have; a login beyond
	// it ends the least recently seen. Default: store.DefaultMaxSessions
	// (100). At most store.MaxSessionsLimit (256): New panics above it, as
	// a user's sessions are listed in one Datastore entity.
	MaxSessions int

	// NoIP turns off recording the client's IP address in the user's
	// list of sessions. Default: false: the address ClientIP gives.
	NoIP bool

	// ClientIP returns the IP address of a request's client, for an app
	// behind a proxy of its own that it trusts. A value that is not an IP
	// address is not recorded. Default: on App Engine (GAE_ENV=standard)
	// X-Appengine-User-IP, which App Engine sets; elsewhere the connection's
	// address (there a client can send that header).
	ClientIP func(r *http.Request) string

	// RememberFor is the idle timeout of a session logged in with
	// LoginOptions.Remember; its cookie lives as long (or as long as
	// store.Options.MaxLifetime, if shorter). Default: 30 days.
	RememberFor time.Duration
}

// LoginOptions are the choices of one login.
type LoginOptions struct {
	// Remember makes the session persistent: a long idle timeout
	// (UserOptions.RememberFor) and a cookie that lives as long, also
	// after a later Renew; a request that extends the session on the
	// server (at most once per store.Options.TouchInterval) re-sends the
	// cookie with that Max-Age, so it follows the session. Without it the
	// cookie is a browser-session cookie (no Max-Age) and the session
	// keeps its idle timeout (icza's default, 30 minutes, if it was a
	// remembered one).
	Remember bool
}

// ErrNotBound is returned for user operations on a session that no Login
// bound to a user.
var ErrNotBound = errors.New("session is not bound to a user")

// Login logs sess's client in as userID: against session fixation the
// session gets a new ID, as with Renew (sess may be nil: a session is
// started), it is bound to userID and recorded, with the device (its
// User-Agent and IP), in the user's list of sessions, and its cookie is
// set. Use the returned session from then on. Beyond
// UserOptions.MaxSessions, the user's least recently seen session ends. An
// empty userID fails with store.ErrNoUser and changes nothing.
func (m *Manager) Login(sess session.Session, w http.ResponseWriter, userID string, opts LoginOptions) (session.Session, error) {
	m.mustExist()
	u := m.cfg.Users
	l := store.Login{User: userID, Max: u.MaxSessions, UserAgent: m.r.UserAgent()}
	if !u.NoIP {
		l.IP = u.clientIP(m.r)
	}
	if opts.Remember {
		l.Timeout = u.rememberFor()
	} else if sess != nil && sess.Timeout() >= u.rememberFor() {
		l.Timeout = session.NewSession().Timeout() // not remembered any more
	}
	fresh, err := m.store().Login(sess, l)
	if err != nil {
		return nil, err
	}
	m.cfg.notify(m.context(), store.EventLogin, 1)
	m.setCookie(w, fresh.ID(), m.cfg.cookie.encode(fresh.ID()), m.maxAge(fresh))
	return fresh, nil
}

// maxAge is the cookie's Max-Age in seconds for a session: a session bound
// to a user lives in a browser-session cookie (0) unless it was logged in
// with Remember (its timeout is RememberFor), then as long as it may;
// others get CookieOptions.MaxAge.
func (m *Manager) maxAge(sess session.Session) int {
	if _, bound := User(sess); !bound {
		return int(m.cfg.cookie.MaxAge.Seconds())
	}
	remember := m.cfg.Users.rememberFor()
	if sess.Timeout() < remember {
		return 0
	}
	if lt := m.cfg.Store.MaxLifetime; lt > 0 && lt < remember {
		return int(lt.Seconds())
	}
	return int(remember.Seconds())
}

// rememberFor is RememberFor or its default.
func (u UserOptions) rememberFor() time.Duration {
	if u.RememberFor > 0 {
		return u.RememberFor
	}
	return 30 * 24 * time.Hour
}

// clientIP is the client's address as ClientIP gives it, else as App
// Engine reports it, else the connection's. Only App Engine's front end
// strips a client-sent X-Appengine-User-IP.
func (u UserOptions) clientIP(r *http.Request) string {
	if u.ClientIP != nil {
		return u.ClientIP(r)
	}
	if ip := r.Header.Get("X-Appengine-User-IP"); ip != "" && aestore.Standard() {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// User returns the user ID that Login bound sess to, and whether it is
// bound at all.
func User(sess session.Session) (string, bool) {
	user, _, err := binding(sess)
	return user, err == nil
}

// binding returns the user and handle a session is bound to.
func binding(sess session.Session) (user, handle string, err error) {
	if sess == nil {
		return "", "", ErrNotBound
	}
	user, _ = Attr[string](sess, store.AttrUser)
	handle, _ = Attr[string](sess, store.AttrHandle)
	if user == "" {
		return "", "", ErrNotBound
	}
	return user, handle, nil
}

// Device is one of a user's sessions, as Manager.Devices and
// Sessions.Devices list it: its handle (for Revoke), whether it is the
// current one, when it was created and last seen, and the User-Agent and
// IP address of its login. It is store.Device.
type Device = store.Device

// Devices returns the sessions of the user sess is bound to, sess marked
// as the current one. It costs two Datastore lookups by key.
func (m *Manager) Devices(sess session.Session) ([]Device, error) {
	m.mustExist()
	user, handle, err := binding(sess)
	if err != nil {
		return nil, err
	}
	return m.cfg.tiers.Devices(m.context(), user, handle)
}

// Revoke ends the session with the given handle among those of the user
// sess is bound to, as finally as a logout. It reports whether there was
// such a session; another user's handle does nothing. Failures are also
// reported to ErrorFunc.
func (m *Manager) Revoke(sess session.Session, handle string) (bool, error) {
	m.mustExist()
	user, _, err := binding(sess)
	if err != nil {
		return false, err
	}
	ok, err := m.cfg.tiers.Revoke(context.WithoutCancel(m.context()), user, handle)
	if err != nil {
		m.report("revoke", sess.ID(), err)
	}
	return ok, err
}

// RevokeOthers ends every session of the user sess is bound to but sess
// itself (after a password change, say); sess and its cookie stay.
// Failures are also reported to ErrorFunc.
func (m *Manager) RevokeOthers(sess session.Session) error {
	m.mustExist()
	user, handle, err := binding(sess)
	if err != nil {
		return err
	}
	return m.revokeAll(sess, user, handle)
}

// LogoutEverywhere ends every session of the user sess is bound to, sess
// included, and deletes its cookie on w. Failures are also reported to
// ErrorFunc.
func (m *Manager) LogoutEverywhere(sess session.Session, w http.ResponseWriter) error {
	m.mustExist()
	user, _, err := binding(sess)
	if err != nil {
		return err
	}
	m.setCookie(w, sess.ID(), "", -1)
	return m.revokeAll(sess, user, "")
}

// revokeAll ends the user's sessions but the one with the handle keep ("":
// none) and reports a failure.
func (m *Manager) revokeAll(sess session.Session, user, keep string) error {
	if err := m.cfg.tiers.RevokeAll(context.WithoutCancel(m.context()), user, keep); err != nil {
		m.report("revoke-all", sess.ID(), err)
		return err
	}
	return nil
}

// Devices returns the sessions of a user, outside a request (an admin
// page, a password-reset task): ctx must be able to reach the tiers (on
// App Engine, an App Engine context).
func (s *Sessions) Devices(ctx context.Context, userID string) ([]Device, error) {
	return s.c.tiers.Devices(ctx, userID, "")
}

// Revoke ends one session of a user, by its handle, outside a request.
func (s *Sessions) Revoke(ctx context.Context, userID, handle string) (bool, error) {
	return s.c.tiers.Revoke(ctx, userID, handle)
}

// RevokeAll ends every session of a user, outside a request (for example
// when the account is disabled).
func (s *Sessions) RevokeAll(ctx context.Context, userID string) error {
	return s.c.tiers.RevokeAll(ctx, userID, "")
}
