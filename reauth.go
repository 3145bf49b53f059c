package gaesession

import (
	"net/http"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
)

// AuthAge returns how long ago the user of sess authenticated: at Login,
// or at the latest Reauthenticated, by store.Options.Now. ok is false for a
// session not bound to a user (or bound by a release that did not record
// the time): treat it as not authenticated recently.
func (m *Manager) AuthAge(sess session.Session) (age time.Duration, ok bool) {
	m.mustExist()
	if _, bound := User(sess); !bound {
		return 0, false
	}
	at, ok := store.AuthTime(sess)
	if !ok {
		return 0, false
	}
	return m.cfg.tiers.Now().Sub(at), true
}

// RecentAuth reports whether the user of sess authenticated within maxAge:
// the check before a sensitive action (changing a password, ending other
// sessions). A session not bound to a user is not recent.
func (m *Manager) RecentAuth(sess session.Session, maxAge time.Duration) bool {
	age, ok := m.AuthAge(sess)
	return ok && age <= maxAge
}

// Reauthenticated records that the user of sess has just authenticated
// again (re-entered their password, say), so that RecentAuth holds anew.
// Unlike Login it keeps the session's ID and its entry in the user's list
// of sessions: no new device appears. It fails with ErrNotBound for a
// session no Login bound; other failures are also reported to ErrorFunc.
func (m *Manager) Reauthenticated(sess session.Session) error {
	m.mustExist()
	if _, bound := User(sess); !bound {
		return ErrNotBound
	}
	return m.store().Reauthenticated(sess)
}

// RequireRecentAuth returns middleware that lets a request through to the
// next handler only if its session's user authenticated within maxAge
// (Manager.RecentAuth); any other request, with no session or a stale
// one, goes to reauth instead (a page asking for the password again,
// which calls Manager.Reauthenticated). The guarded handler did not run,
// so reauth should not answer 2xx: to a browser, 303 See Other to that
// page; to an API client, 401; without a login, what the app's login
// wall answers. It must run inside Middleware:
//
//	mux.Handle("POST /sessions/revoke", chain.Append(gaesession.RequireRecentAuth(5*time.Minute, reauth)).ThenFunc(revoke))
func RequireRecentAuth(maxAge time.Duration, reauth http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m := From(r.Context())
			if m.RecentAuth(m.Get(r), maxAge) {
				next.ServeHTTP(w, r)
				return
			}
			reauth.ServeHTTP(w, r)
		})
	}
}
