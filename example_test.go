package gaesession_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/purge"
	"github.com/icza/session"
	"github.com/justinas/alice"
)

// ExampleMiddleware puts the middleware in an alice chain. On App Engine,
// register the routes on http.DefaultServeMux and call appengine.Main().
// Here one request is served in-process: it carries no session cookie, so
// it needs no App Engine API and gets no cookie back.
func ExampleMiddleware() {
	chain := alice.New(gaesession.Middleware(gaesession.Options{}))

	mux := http.NewServeMux()
	mux.Handle("/", chain.ThenFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := gaesession.From(r.Context()).Get(r)
		if sess == nil {
			fmt.Fprintln(w, "Hello, guest")
			return
		}
		fmt.Fprintln(w, "Hello,", sess.Attr("UserName"))
	}))
	// Outside the chain: a cron request has no session.
	mux.Handle("/tasks/purge-sessions", purge.Handler(purge.Options{}))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "https://example.com/", nil))
	fmt.Print(rec.Body.String())
	fmt.Println("Set-Cookie:", len(rec.Result().Cookies()))
	// Output:
	// Hello, guest
	// Set-Cookie: 0
}

// ExampleFrom counts a visitor's page views. The session is written back
// when the handler returns, because SetAttr changed it.
func ExampleFrom() {
	counter := func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		sess := m.Get(r)
		if sess == nil {
			sess = session.NewSession()
			m.Add(sess, w) // sets the cookie; call it before writing the body
		}
		n, _ := sess.Attr("Count").(int)
		sess.SetAttr("Count", n+1)
		fmt.Fprintf(w, "You have been here %d time(s).\n", n+1)
	}
	handler := gaesession.Middleware(gaesession.Options{})(http.HandlerFunc(counter))
	_ = handler // http.Handle("/", handler); appengine.Main()

	// Outside the middleware there is no Manager.
	fmt.Println(gaesession.From(context.Background()) == nil)
	// Output: true
}

// ExampleManager_Renew logs a user in. Renewing the session at login
// gives it an ID that nobody could have planted in the browser before;
// the attributes stay.
func ExampleManager_Renew() {
	login := func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSpace(r.PostFormValue("UserName"))
		if name == "" {
			http.Error(w, "user name required", http.StatusBadRequest)
			return
		}
		m := gaesession.From(r.Context())
		sess := m.Get(r)
		if sess == nil {
			sess = session.NewSession()
			m.Add(sess, w)
		} else {
			var err error
			if sess, err = m.Renew(sess, w); err != nil { // ErrorFunc has been told
				http.Error(w, "please try again", http.StatusInternalServerError)
				return
			}
		}
		sess.SetAttr("UserName", name)
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
	logout := func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		if sess := m.Get(r); sess != nil {
			m.Remove(sess, w) // gone from both tiers at once
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}

	chain := alice.New(gaesession.Middleware(gaesession.Options{}))
	mux := http.NewServeMux()
	mux.Handle("POST /login", chain.ThenFunc(login))
	mux.Handle("POST /logout", chain.ThenFunc(logout))
	_ = mux // http.Handle("/", mux); appengine.Main()
}
