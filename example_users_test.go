package gaesession_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gaesession/gaesession"
)

// ExampleManager_Login logs a user in from a form. Login gives the session
// a new ID (so an ID planted in the browser before is useless after), binds
// it to the user, lists it among the user's devices and sets its cookie;
// with "remember me" the cookie outlives the browser. Login trusts the user
// ID it is given: check the password first.
func ExampleManager_Login() {
	login := func(w http.ResponseWriter, r *http.Request) {
		user := r.PostFormValue("user") // ... once the password is checked
		m := gaesession.From(r.Context())
		opts := gaesession.LoginOptions{Remember: r.PostFormValue("remember") == "on"}
		sess, err := m.Login(m.Get(r), w, user, opts)
		if err != nil { // ErrorFunc has been told
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		gaesession.AddFlash(sess, "Welcome, "+user+".") // saved with the session
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
	home := func(w http.ResponseWriter, r *http.Request) {
		sess := gaesession.From(r.Context()).Get(r)
		user, ok := gaesession.User(sess) // the user Login bound the session to
		if !ok {
			fmt.Fprintln(w, "Please log in.")
			return
		}
		for _, msg := range gaesession.Flashes(sess) {
			fmt.Fprintln(w, msg)
		}
		fmt.Fprintln(w, "Logged in as", user)
	}

	sessions := gaesession.New(gaesession.Options{Store: inProcess(nil)})
	mux := http.NewServeMux()
	mux.Handle("POST /login", sessions.Handler(http.HandlerFunc(login)))
	mux.Handle("GET /{$}", sessions.Handler(http.HandlerFunc(home)))

	b := newBrowser(mux, "Firefox")
	fmt.Println(b.get("/"))
	fmt.Println(b.post("/login", url.Values{"user": {"ann"}, "remember": {"on"}}))
	fmt.Println(b.get("/"))
	fmt.Println(b.get("/"))
	// Output:
	// 200 Please log in.
	// 303 to /
	// 200 Welcome, ann.
	// Logged in as ann
	// 200 Logged in as ann
}

// ExampleManager_Devices lists where the user is logged in, for a page with
// a button to end each other session. A Device's Handle names the session
// in such a form (never put the session ID in a page: it is a
// credential), and Current marks the session of this request.
func ExampleManager_Devices() {
	devices := func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		devs, err := m.Devices(m.Get(r))
		if errors.Is(err, gaesession.ErrNotBound) { // no session, or not logged in
			http.Error(w, "please log in", http.StatusUnauthorized)
			return
		}
		if err != nil {
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Cache-Control", "no-store") // the list is personal
		for _, d := range devs {
			fmt.Fprintf(w, "%s at %s, this one: %v\n", d.UserAgent, d.IP, d.Current)
		}
	}

	sessions := gaesession.New(gaesession.Options{Store: inProcess(nil)})
	mux := http.NewServeMux()
	mux.Handle("POST /login", sessions.Handler(http.HandlerFunc(login)))
	mux.Handle("GET /sessions", sessions.Handler(http.HandlerFunc(devices)))

	laptop, phone := newBrowser(mux, "Firefox on Linux"), newBrowser(mux, "Safari on iPhone")
	fmt.Println(laptop.get("/sessions"))
	laptop.post("/login", url.Values{"user": {"ann"}})
	phone.post("/login", url.Values{"user": {"ann"}})
	fmt.Println(phone.get("/sessions"))
	// Output:
	// 401 please log in
	// 200 Firefox on Linux at 192.0.2.1, this one: false
	// Safari on iPhone at 192.0.2.1, this one: true
}

// ExampleManager_Revoke ends one of the user's sessions, named by the handle
// that Devices gave the sessions page, as finally as a logout. Another
// user's handle ends nothing. Guard the route with RequireRecentAuth, so
// that a borrowed browser cannot end its owner's other sessions.
func ExampleManager_Revoke() {
	revoke := func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		ended, err := m.Revoke(m.Get(r), r.PostFormValue("handle"))
		if errors.Is(err, gaesession.ErrNotBound) {
			http.Error(w, "please log in", http.StatusUnauthorized)
			return
		}
		if err != nil { // ErrorFunc has been told
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ended:", ended)
	}

	sessions := gaesession.New(gaesession.Options{Store: inProcess(nil)})
	mux := http.NewServeMux()
	mux.Handle("POST /login", sessions.Handler(http.HandlerFunc(login)))
	mux.Handle("GET /{$}", sessions.Handler(http.HandlerFunc(hello)))
	mux.Handle("POST /sessions/revoke", sessions.Handler(http.HandlerFunc(revoke)))

	laptop, phone, bobs := newBrowser(mux, "Firefox"), newBrowser(mux, "Safari"), newBrowser(mux, "Chrome")
	laptop.post("/login", url.Values{"user": {"ann"}})
	phone.post("/login", url.Values{"user": {"ann"}})
	bobs.post("/login", url.Values{"user": {"bob"}})
	// The handles that the users' sessions pages show.
	anns, _ := sessions.Devices(context.Background(), "ann")
	bob, _ := sessions.Devices(context.Background(), "bob")
	fmt.Println(laptop.post("/sessions/revoke", url.Values{"handle": {anns[1].Handle}})) // ann's phone
	fmt.Println(laptop.post("/sessions/revoke", url.Values{"handle": {bob[0].Handle}}))
	fmt.Println(phone.get("/"))
	fmt.Println(laptop.get("/"))
	fmt.Println(bobs.get("/"))
	// Output:
	// 200 ended: true
	// 200 ended: false
	// 200 Hello, guest
	// 200 Hello, ann
	// 200 Hello, bob
}

// ExampleManager_RevokeOthers ends the user's other sessions when the
// password changes: whoever knew the old one is logged out everywhere, and
// the user stays logged in here.
func ExampleManager_RevokeOthers() {
	changePassword := func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		sess := m.Get(r)
		if _, ok := gaesession.User(sess); !ok {
			http.Error(w, "please log in", http.StatusUnauthorized)
			return
		}
		// ... check the old password, store the new one ...
		if err := m.RevokeOthers(sess); err != nil { // ErrorFunc has been told
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Password changed. Your other sessions have ended.")
	}

	sessions := gaesession.New(gaesession.Options{Store: inProcess(nil)})
	mux := http.NewServeMux()
	mux.Handle("POST /login", sessions.Handler(http.HandlerFunc(login)))
	mux.Handle("GET /{$}", sessions.Handler(http.HandlerFunc(hello)))
	mux.Handle("POST /password", sessions.Handler(http.HandlerFunc(changePassword)))

	laptop, phone, tablet := newBrowser(mux, "Firefox"), newBrowser(mux, "Safari"), newBrowser(mux, "Chrome")
	for _, b := range []*browser{laptop, phone, tablet} {
		b.post("/login", url.Values{"user": {"ann"}})
	}
	fmt.Println(laptop.post("/password", url.Values{"old": {"..."}, "new": {"..."}}))
	fmt.Println(phone.get("/"))
	fmt.Println(tablet.get("/"))
	fmt.Println(laptop.get("/"))
	// Output:
	// 200 Password changed. Your other sessions have ended.
	// 200 Hello, guest
	// 200 Hello, guest
	// 200 Hello, ann
}

// ExampleManager_LogoutEverywhere ends every session of the user, the one
// of this request included, and deletes this browser's cookie. A session
// that no Login bound to a user is the only one there is: Remove ends it.
func ExampleManager_LogoutEverywhere() {
	logoutEverywhere := func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		sess := m.Get(r)
		err := m.LogoutEverywhere(sess, w)
		if errors.Is(err, gaesession.ErrNotBound) {
			if sess != nil {
				m.Remove(sess, w)
			}
			err = nil
		}
		if err != nil { // ErrorFunc has been told
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}

	sessions := gaesession.New(gaesession.Options{Store: inProcess(nil)})
	mux := http.NewServeMux()
	mux.Handle("POST /login", sessions.Handler(http.HandlerFunc(login)))
	mux.Handle("GET /{$}", sessions.Handler(http.HandlerFunc(hello)))
	mux.Handle("POST /logout-everywhere", sessions.Handler(http.HandlerFunc(logoutEverywhere)))

	laptop, phone := newBrowser(mux, "Firefox"), newBrowser(mux, "Safari")
	laptop.post("/login", url.Values{"user": {"ann"}})
	phone.post("/login", url.Values{"user": {"ann"}})
	fmt.Println(laptop.post("/logout-everywhere", nil))
	fmt.Println(laptop.get("/"))
	fmt.Println(phone.get("/"))
	// Output:
	// 303 to /
	// 200 Hello, guest
	// 200 Hello, guest
}
