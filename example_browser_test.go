package gaesession_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
)

// What the examples of sessions per user share: tiers that need no
// server, the login handler of ExampleManager_Login, and a stand-in for
// a user's browser.

// inProcess returns store options on storetest's in-process model of
// Memcache and the Datastore, on the given clock (nil: the wall clock),
// so that the examples run without the development server. On App Engine
// leave store.Options without tiers: New then uses Memcache and the
// Datastore.
func inProcess(now func() time.Time) store.Options {
	m := storetest.NewModel(storetest.ModelOptions{Now: now})
	return store.Options{Cache: m.Cache(), Durable: m.Durable(), Now: now}
}

// login logs the request in as the form's user, as ExampleManager_Login
// shows.
func login(w http.ResponseWriter, r *http.Request) {
	m := gaesession.From(r.Context())
	if _, err := m.Login(m.Get(r), w, r.PostFormValue("user"), gaesession.LoginOptions{}); err != nil {
		http.Error(w, "please try again", http.StatusInternalServerError)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// hello greets the user the request is logged in as.
func hello(w http.ResponseWriter, r *http.Request) {
	user, ok := gaesession.User(gaesession.From(r.Context()).Get(r))
	if !ok {
		user = "guest"
	}
	fmt.Fprintln(w, "Hello,", user)
}

// browser sends requests to an app in-process, with a User-Agent of its
// own, and keeps the cookies it is sent, as a browser does. Its requests
// come from 192.0.2.1, httptest's client address.
type browser struct {
	app       http.Handler
	userAgent string
	jar       *cookiejar.Jar
}

func newBrowser(app http.Handler, userAgent string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		panic(err)
	}
	return &browser{app: app, userAgent: userAgent, jar: jar}
}

// get sends a GET request for target and returns the answer, as do does.
func (b *browser) get(target string) string { return b.do(http.MethodGet, target, nil) }

// post submits form to target and returns the answer, as do does.
func (b *browser) post(target string, form url.Values) string {
	return b.do(http.MethodPost, target, form)
}

// do sends a request to https://example.com and returns the status code
// and either the body or, for a redirect, where it leads.
func (b *browser) do(method, target string, form url.Values) string {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "https://example.com"+target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("User-Agent", b.userAgent)
	for _, c := range b.jar.Cookies(r.URL) {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.app.ServeHTTP(rec, r)
	res := rec.Result()
	b.jar.SetCookies(r.URL, res.Cookies())
	if loc := res.Header.Get("Location"); loc != "" {
		return fmt.Sprintf("%d to %s", res.StatusCode, loc)
	}
	return fmt.Sprintf("%d %s", res.StatusCode, strings.TrimSpace(rec.Body.String()))
}
