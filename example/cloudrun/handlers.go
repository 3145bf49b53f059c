package main

import (
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gaesession/gaesession"
	"github.com/icza/session"
)

// The handlers are those of the App Engine example (example/main.go): the
// library's API is the same on both.

// home shows the login form, or, to a logged-in user, how many times they
// have seen this page since login.
func home(w http.ResponseWriter, r *http.Request) {
	var data pageData
	if sess := gaesession.From(r.Context()).Get(r); sess != nil {
		n, _ := sess.Attr("Count").(int)
		sess.SetAttr("Count", n+1) // written back when the request ends
		data.UserName, _ = sess.Attr("UserName").(string)
		data.Count = n + 1
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
	UserName string // empty: not logged in
	Count    int    // visits since login
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
<head><meta charset="utf-8"><title>gaesession on Cloud Run</title></head>
<body>
<h1>gaesession on Cloud Run</h1>
{{with .Error}}<p id="error" style="color:red">{{.}}</p>{{end}}
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
