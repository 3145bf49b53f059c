// Package app is the gaesession example's web app, one set of handlers
// for both examples: the App Engine one (example/) and the Cloud Run one
// (example/cloudrun). Log in with any user name (optionally "remember
// me"), reload the page to watch the visit counter rise, see where you are
// logged in and end any of those sessions, and log out, here or
// everywhere. What differs between the two is given in Options: the
// session middleware (with its store, cookie and clock) and the purge
// handler (App Engine cron, or Cloud Scheduler with a secret).
//
// Routes:
//
//	GET  /                      the page: login form, or greeting and counter
//	POST /login                 log in as form field user (remember=on: a
//	                            persistent cookie); 303 to /
//	POST /logout                end this session; 303 to /
//	GET  /sessions              the user's sessions: HTML, or JSON with
//	                            Accept: application/json; 401 if not logged in
//	POST /sessions/revoke       end the user's session with form field
//	                            handle (none if not the user's); 303 to
//	                            /sessions. More than ConfirmAfter after the
//	                            login: 303 to /sessions/confirm (401 with
//	                            Accept: application/json), nothing ended
//	GET  /sessions/confirm      the page that asks to confirm who you are
//	POST /sessions/confirm      confirm who you are (form field user, as a
//	                            password would be); 303 to /sessions
//	POST /logout-everywhere     end all the user's sessions, this one too;
//	                            303 to /
//	     /tasks/purge-sessions  delete expired sessions (Options.Purge)
//
// Every route but the purge answers 403 to a POST that a browser sent from
// another origin (a form on another site or a sibling subdomain): see
// sameOrigin, in crossorigin.go.
//
// The handlers of the "log out everywhere" routes are in sessions.go.
package app

import (
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gaesession/gaesession"
	"github.com/icza/session"
	"github.com/justinas/alice"
)

// Options is what differs between the examples.
type Options struct {
	// Sessions gives every route but the purge its session Manager:
	// gaesession.Middleware(opts), or the Handler method of a
	// *gaesession.Sessions. Required.
	Sessions func(http.Handler) http.Handler
	// Purge serves /tasks/purge-sessions (a purge.Handler); nil: no such
	// route.
	Purge http.Handler
}

// New returns the example's routes.
func New(opts Options) http.Handler {
	// A POST from another origin is refused before the session is read.
	chain := alice.New(sameOrigin, opts.Sessions)
	// Ending another device's session is sensitive: only within
	// ConfirmAfter of the login or of the last confirmation.
	sensitive := chain.Append(gaesession.RequireRecentAuth(ConfirmAfter, http.HandlerFunc(askConfirm)))

	mux := http.NewServeMux()
	mux.Handle("GET /{$}", chain.ThenFunc(home))
	mux.Handle("POST /login", chain.ThenFunc(login))
	mux.Handle("POST /logout", chain.ThenFunc(logout))
	mux.Handle("GET /sessions", chain.ThenFunc(listSessions))
	mux.Handle("POST /sessions/revoke", sensitive.ThenFunc(revoke))
	mux.Handle("GET /sessions/confirm", chain.ThenFunc(confirmForm))
	mux.Handle("POST /sessions/confirm", chain.ThenFunc(confirm))
	mux.Handle("POST /logout-everywhere", chain.ThenFunc(logoutEverywhere))
	// Outside the chain: a purge request has no session, so the
	// middleware would only add work.
	if opts.Purge != nil {
		mux.Handle("/tasks/purge-sessions", opts.Purge)
	}
	return mux
}

// userOf returns the user a session is logged in as (bound to by
// Manager.Login), or "".
func userOf(sess session.Session) string {
	u, _ := gaesession.User(sess)
	return u
}

// home shows the login form, or, to a logged-in user, how many times they
// have seen this page since login.
func home(w http.ResponseWriter, r *http.Request) {
	var data pageData
	if sess := gaesession.From(r.Context()).Get(r); sess != nil {
		data.Flashes = gaesession.Flashes(sess) // shown once
		if data.UserName = userOf(sess); data.UserName != "" {
			n, _ := gaesession.Attr[int](sess, "Count") // 0, not a panic, if missing
			sess.SetAttr("Count", n+1)                  // written back when the request ends
			data.Count = n + 1
		}
	}
	render(w, http.StatusOK, data)
}

// login logs in as any non-empty user name. Manager.Login binds the session
// to the user and lists it among the user's sessions; a session that
// exists gets a new ID, so that an ID planted before login is useless
// afterwards. With "remember me" the cookie outlives the browser.
func login(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("user"))
	if name == "" {
		render(w, http.StatusBadRequest, pageData{Error: "Please enter a user name."})
		return
	}
	m := gaesession.From(r.Context())
	opts := gaesession.LoginOptions{Remember: r.PostFormValue("remember") == "on"}
	sess, err := m.Login(m.Get(r), w, name, opts)
	if err != nil {
		http.Error(w, "Could not log in, please try again.", http.StatusInternalServerError)
		return
	}
	sess.SetAttr("Count", 0)
	gaesession.AddFlash(sess, "Welcome, "+name+".") // for the page after the redirect
	// Post/redirect/get: a reload of the page does not post the form again.
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout removes the session, from the store and from the browser.
func logout(w http.ResponseWriter, r *http.Request) {
	m := gaesession.From(r.Context())
	if sess := m.Get(r); sess != nil {
		m.Remove(sess, w)
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// pageData fills the page template.
type pageData struct {
	UserName string   // empty: not logged in
	Count    int      // visits since login
	Flashes  []string // messages from the previous request
	Error    string
}

// render writes the page with the given status.
func render(w http.ResponseWriter, status int, data pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := page.Execute(w, data); err != nil {
		slog.Error("rendering page", "err", err)
	}
}

// The forms post to this origin only: sameOrigin refuses those of others.
var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>gaesession example</title></head>
<body>
<h1>gaesession example</h1>
{{with .Error}}<p id="error" style="color:red">{{.}}</p>{{end}}
{{range .Flashes}}<p class="flash" style="color:green">{{.}}</p>{{end}}
{{if .UserName}}
<p id="greeting">Hello <b id="user">{{.UserName}}</b>! Since login you have seen this page
<b id="count">{{.Count}}</b> time(s). <a href="/">Reload</a> · <a id="sessions" href="/sessions">Your sessions</a></p>
<form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>
{{else}}
<form method="post" action="/login">
<label for="username">User name (any):</label>
<input id="username" name="user" type="text" autofocus>
<label><input id="remember" name="remember" type="checkbox"> Remember me</label>
<button id="login" type="submit">Log in</button>
</form>
{{end}}
</body>
</html>
`))
