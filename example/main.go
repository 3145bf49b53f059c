// Command example is a small App Engine app that shows gaesession at work:
// log in with any user name, reload the page to watch the visit counter
// rise, and log out. It is icza/gaesession's demo written on the middleware.
//
// Run it locally on the App Engine development server with
//
//	scripts/run-example
//
// and open http://localhost:8080. Deploy it with `gcloud app deploy
// example/app.yaml example/cron.yaml`.
//
// Routes:
//
//	GET  /                      the page: login form, or greeting and counter
//	POST /login                 start a session (or renew the current one)
//	POST /logout                end the session
//	     /tasks/purge-sessions  delete expired sessions (cron.yaml)
package main

import (
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/purge"
	"github.com/icza/session"
	"github.com/justinas/alice"
	"google.golang.org/appengine/v2"
)

func main() {
	dev := appengine.IsDevAppServer()

	// Every route gets a session Manager from the middleware. The cookie is
	// Secure in production; the development server speaks plain http://.
	chain := alice.New(gaesession.Middleware(gaesession.Options{
		Cookie: gaesession.CookieOptions{AllowHTTP: dev},
	}))

	http.Handle("GET /{$}", chain.ThenFunc(home))
	http.Handle("POST /login", chain.ThenFunc(login))
	http.Handle("POST /logout", chain.ThenFunc(logout))
	// Outside the chain: a cron request has no session, so the middleware
	// would only add work. In production only App Engine cron may start a
	// purge; locally you can with curl.
	http.Handle("/tasks/purge-sessions", purge.Handler(purge.Options{AllowNonCron: dev}))

	appengine.Main()
}

// home shows the login form, or, to a logged-in user, how many times they
// have seen this page since login.
func home(w http.ResponseWriter, r *http.Request) {
	var data pageData
	if sess := gaesession.From(r.Context()).Get(r); sess != nil {
		n, _ := gaesession.Attr[int](sess, "Count") // 0, not a panic, if missing
		sess.SetAttr("Count", n+1)                  // written back when the request ends
		data.UserName, _ = gaesession.Attr[string](sess, "UserName")
		data.Count = n + 1
		data.Flashes = gaesession.Flashes(sess) // shown once
	}
	render(w, http.StatusOK, data)
}

// login starts a session for any non-empty user name. A user who already has
// a session gets it under a new ID (Renew), so that an ID planted before login
// is useless afterwards.
func login(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("UserName"))
	if name == "" {
		render(w, http.StatusBadRequest, pageData{Error: "Please enter a user name."})
		return
	}
	m := gaesession.From(r.Context())
	sess := m.Get(r)
	if sess == nil {
		sess = session.NewSession()
		m.Add(sess, w)
	} else {
		var err error
		if sess, err = m.Renew(sess, w); err != nil {
			http.Error(w, "Could not log in, please try again.", http.StatusInternalServerError)
			return
		}
	}
	sess.SetAttr("UserName", name)
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

// The forms post to this site only; the session cookie is SameSite=Lax, so
// browsers do not send it with another site's POST.
var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>gaesession example</title></head>
<body>
<h1>gaesession example</h1>
{{with .Error}}<p id="error" style="color:red">{{.}}</p>{{end}}
{{range .Flashes}}<p class="flash" style="color:green">{{.}}</p>{{end}}
{{if .UserName}}
<p id="greeting">Hello <b id="user">{{.UserName}}</b>! Since login you have seen this page
<b id="count">{{.Count}}</b> time(s). <a href="/">Reload</a></p>
<form method="post" action="/logout"><button id="logout" type="submit">Log out</button></form>
{{else}}
<form method="post" action="/login">
<label for="username">User name (any):</label>
<input id="username" name="UserName" type="text" autofocus>
<button id="login" type="submit">Log in</button>
</form>
{{end}}
</body>
</html>
`))
