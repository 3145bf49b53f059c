package app

import (
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/store"
)

// The "log out everywhere" routes: a user's list of sessions (one per
// device and browser they logged in with), ending one of them, ending all.
// Each answers 401 to a request that is not logged in; ending a session
// that is not the user's (another user's handle, or one that ended
// already) does nothing and redirects as usual, with a flash that says so.

// listSessions shows the sessions of the user the request is logged in as:
// a JSON array of gaesession.Device to a client that accepts application/json,
// else a page with a button to end each other session and one to end all.
func listSessions(w http.ResponseWriter, r *http.Request) {
	m := gaesession.From(r.Context())
	asJSON := acceptsJSON(r)
	sess := m.Get(r)
	devs, err := m.Devices(sess) // ErrNotBound for no session too
	if errors.Is(err, gaesession.ErrNotBound) {
		notLoggedIn(w, asJSON)
		return
	}
	if err != nil {
		m.Logger().Error("listing sessions", "err", err)
		http.Error(w, "Could not list your sessions, please try again.", http.StatusInternalServerError)
		return
	}
	// The list is personal and the answer depends on Accept.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Add("Vary", "Accept")
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(devs); err != nil {
			slog.Error("writing sessions", "err", err)
		}
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	data := sessionsData{UserName: userOf(sess), Devices: devs, Flashes: gaesession.Flashes(sess)}
	if err := sessionsPage.Execute(w, data); err != nil {
		slog.Error("rendering sessions page", "err", err)
	}
}

// revoke ends the user's session named by the form field handle, as
// finally as a logout, and goes back to the list.
func revoke(w http.ResponseWriter, r *http.Request) {
	m := gaesession.From(r.Context())
	sess := m.Get(r)
	handle := r.PostFormValue("handle")
	ended, err := m.Revoke(sess, handle)
	if errors.Is(err, gaesession.ErrNotBound) {
		notLoggedIn(w, false)
		return
	}
	if err != nil { // ErrorFunc has it
		http.Error(w, "Could not end the session, please try again.", http.StatusInternalServerError)
		return
	}
	// A flash needs a session to live in: not the one just ended.
	if current, _ := gaesession.Attr[string](sess, store.AttrHandle); handle != current {
		if ended {
			gaesession.AddFlash(sess, "Session ended.")
		} else {
			gaesession.AddFlash(sess, "No such session: it has ended already.")
		}
	}
	http.Redirect(w, r, "/sessions", http.StatusSeeOther)
}

// ConfirmAfter is how long after logging in (or confirming) a user may end
// another device's session without confirming who they are again.
const ConfirmAfter = 10 * time.Minute

// askConfirm is RequireRecentAuth's reauth handler: it answers a revoke
// that came too long after the login (or without one). The revoke did not
// happen, so the answer is never 2xx: to a browser, 303 to the page that
// asks the user to confirm who they are (a GET, so that reloading it posts
// nothing; the user then ends the session again); to a client that accepts
// JSON, 401 with an error it can act on; without a login, 401.
func askConfirm(w http.ResponseWriter, r *http.Request) {
	sess := gaesession.From(r.Context()).Get(r)
	asJSON := acceptsJSON(r)
	switch {
	case userOf(sess) == "":
		notLoggedIn(w, asJSON)
	case asJSON:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"confirm who you are: POST /sessions/confirm"}` + "\n"))
	default:
		http.Redirect(w, r, "/sessions/confirm", http.StatusSeeOther)
	}
}

// confirmForm shows the page that asks the user to confirm who they are
// (401 without a login).
func confirmForm(w http.ResponseWriter, r *http.Request) {
	if userOf(gaesession.From(r.Context()).Get(r)) == "" {
		notLoggedIn(w, false)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := confirmPage.Execute(w, nil); err != nil {
		slog.Error("rendering confirm page", "err", err)
	}
}

// confirm re-authenticates the user: here by their user name, where a real
// app checks the password. Manager.Reauthenticated keeps the session and
// its device entry.
func confirm(w http.ResponseWriter, r *http.Request) {
	m := gaesession.From(r.Context())
	sess := m.Get(r)
	user := userOf(sess)
	if user == "" {
		notLoggedIn(w, false)
		return
	}
	if strings.TrimSpace(r.PostFormValue("user")) != user {
		http.Error(w, "That is not you.", http.StatusForbidden)
		return
	}
	if err := m.Reauthenticated(sess); err != nil { // ErrorFunc has it
		http.Error(w, "Could not confirm, please try again.", http.StatusInternalServerError)
		return
	}
	gaesession.AddFlash(sess, "Confirmed: you can end sessions now.")
	http.Redirect(w, r, "/sessions", http.StatusSeeOther)
}

var confirmPage = template.Must(template.New("confirm").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Confirm · gaesession example</title></head>
<body>
<h1>Confirm it is you</h1>
<p>You logged in a while ago. To end sessions, enter your user name again
(a real app asks for the password).</p>
<form method="post" action="/sessions/confirm">
<input id="confirm-user" name="user" type="text" autofocus>
<button id="confirm" type="submit">Confirm</button>
</form>
<p><a href="/sessions">Back</a></p>
</body>
</html>
`))

// logoutEverywhere ends every session of the user, this one included, and
// deletes this one's cookie.
func logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	m := gaesession.From(r.Context())
	sess := m.Get(r)
	err := m.LogoutEverywhere(sess, w)
	if errors.Is(err, gaesession.ErrNotBound) {
		if sess != nil { // a session of no user: there is only this one
			m.Remove(sess, w)
		}
		err = nil
	}
	if err != nil { // ErrorFunc has it
		http.Error(w, "Could not log out everywhere, please try again.", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// acceptsJSON reports whether the request's Accept header names
// application/json.
func acceptsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			if mt, _, err := mime.ParseMediaType(part); err == nil && mt == "application/json" {
				return true
			}
		}
	}
	return false
}

// notLoggedIn answers 401: in JSON, or with the login form.
func notLoggedIn(w http.ResponseWriter, asJSON bool) {
	if asJSON {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"not logged in"}` + "\n"))
		return
	}
	render(w, http.StatusUnauthorized, pageData{Error: "Please log in first."})
}

// sessionsData fills the sessions page template.
type sessionsData struct {
	UserName string
	Devices  []gaesession.Device
	Flashes  []string
}

var sessionsPage = template.Must(template.New("sessions").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Your sessions · gaesession example</title></head>
<body>
<h1>Sessions of <span id="user">{{.UserName}}</span></h1>
{{range .Flashes}}<p class="flash" style="color:green">{{.}}</p>{{end}}
<table>
<tr><th>Logged in</th><th>Last seen</th><th>Browser</th><th>IP</th><th></th></tr>
{{range .Devices}}
<tr class="session{{if .Current}} current{{end}}" data-handle="{{.Handle}}">
<td>{{.Created.UTC.Format "2006-01-02 15:04:05 UTC"}}</td>
<td>{{.LastSeen.UTC.Format "2006-01-02 15:04:05 UTC"}}</td>
<td>{{.UserAgent}}</td>
<td>{{.IP}}</td>
<td>{{if .Current}}this session{{else}}<form method="post" action="/sessions/revoke">
<input type="hidden" name="handle" value="{{.Handle}}">
<button class="revoke" type="submit">Log out</button></form>{{end}}</td>
</tr>
{{end}}
</table>
<form method="post" action="/logout-everywhere"><button id="logout-everywhere" type="submit">Log out everywhere</button></form>
<p><a href="/">Back</a></p>
</body>
</html>
`))
