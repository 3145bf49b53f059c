package gaesession_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/justinas/alice"
)

// ExampleRequireRecentAuth guards a sensitive action. A request whose user
// logged in, or last re-entered the password, more than 5 minutes ago goes
// to a page that asks for the password again; its form posts to a handler
// that calls Manager.Reauthenticated, and then the action goes through.
//
// The example moves the store's clock, a storetest.Clock in
// store.Options.Now, as a test of such a route does instead of sleeping.
// Set stops the clock, so that only the moves count, not how long the
// requests take.
func ExampleRequireRecentAuth() {
	askPassword := func(w http.ResponseWriter, r *http.Request) {
		if _, ok := gaesession.User(gaesession.From(r.Context()).Get(r)); !ok {
			http.Error(w, "please log in", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintln(w, "Please enter your password again.") // a form posting to /confirm
	}
	confirm := func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		// ... check the password of the session's user ...
		if err := m.Reauthenticated(m.Get(r)); err != nil { // ErrNotBound: not logged in
			http.Error(w, "please log in", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, "/email", http.StatusSeeOther)
	}
	changeEmail := func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "Email address changed.")
	}

	clock := &storetest.Clock{}
	start := time.Now()
	clock.Set(start)
	chain := alice.New(gaesession.Middleware(gaesession.Options{Store: inProcess(clock.Now)}))
	recent := chain.Append(gaesession.RequireRecentAuth(5*time.Minute, http.HandlerFunc(askPassword)))
	mux := http.NewServeMux()
	mux.Handle("POST /login", chain.ThenFunc(login))
	mux.Handle("POST /confirm", chain.ThenFunc(confirm))
	mux.Handle("POST /email", recent.ThenFunc(changeEmail))

	b := newBrowser(mux, "Firefox")
	fmt.Println(b.post("/email", nil))
	b.post("/login", url.Values{"user": {"ann"}})
	fmt.Println(b.post("/email", nil))
	clock.Set(start.Add(6 * time.Minute))
	fmt.Println(b.post("/email", nil))
	fmt.Println(b.post("/confirm", url.Values{"password": {"..."}}))
	fmt.Println(b.post("/email", nil))
	// Output:
	// 401 please log in
	// 200 Email address changed.
	// 403 Please enter your password again.
	// 303 to /email
	// 200 Email address changed.
}

// ExampleManager_RecentAuth checks, inside a handler, that the user
// authenticated within the last 5 minutes, where RequireRecentAuth in
// front of the handler does not fit: here an API that answers the client
// in JSON. A request with no session, or one that nobody logged in to, is
// not recent.
func ExampleManager_RecentAuth() {
	changePassword := func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		if !m.RecentAuth(m.Get(r), 5*time.Minute) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintln(w, `{"error":"reauthenticate"}`)
			return
		}
		// ... store the new password ...
		fmt.Fprintln(w, `{"changed":true}`)
	}

	clock := &storetest.Clock{}
	start := time.Now()
	clock.Set(start)
	sessions := gaesession.New(gaesession.Options{Store: inProcess(clock.Now)})
	mux := http.NewServeMux()
	mux.Handle("POST /login", sessions.Handler(http.HandlerFunc(login)))
	mux.Handle("POST /api/password", sessions.Handler(http.HandlerFunc(changePassword)))

	b := newBrowser(mux, "Firefox")
	b.post("/login", url.Values{"user": {"ann"}})
	clock.Set(start.Add(4 * time.Minute))
	fmt.Println(b.post("/api/password", nil))
	clock.Set(start.Add(6 * time.Minute))
	fmt.Println(b.post("/api/password", nil))
	// Output:
	// 200 {"changed":true}
	// 403 {"error":"reauthenticate"}
}

// ExampleManager_AuthAge tells the user how long ago they logged in, by
// the store's clock (store.Options.Now). ok is false when nobody is
// logged in to the session.
func ExampleManager_AuthAge() {
	account := func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		age, ok := m.AuthAge(m.Get(r))
		if !ok {
			http.Error(w, "please log in", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "You logged in %v ago.\n", age.Round(time.Minute))
	}

	clock := &storetest.Clock{}
	start := time.Now()
	clock.Set(start)
	sessions := gaesession.New(gaesession.Options{Store: inProcess(clock.Now)})
	mux := http.NewServeMux()
	mux.Handle("POST /login", sessions.Handler(http.HandlerFunc(login)))
	mux.Handle("GET /account", sessions.Handler(http.HandlerFunc(account)))

	b := newBrowser(mux, "Firefox")
	fmt.Println(b.get("/account"))
	b.post("/login", url.Values{"user": {"ann"}})
	clock.Set(start.Add(25 * time.Minute))
	fmt.Println(b.get("/account"))
	// Output:
	// 401 please log in
	// 200 You logged in 25m0s ago.
}

// ExampleManager_Reauthenticated records that the user has just entered
// the password again, so that RecentAuth holds anew. Unlike Login it keeps
// the session's ID and its entry in the user's list of devices.
func ExampleManager_Reauthenticated() {
	confirm := func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		sess := m.Get(r)
		if _, ok := gaesession.User(sess); !ok {
			http.Error(w, "please log in", http.StatusUnauthorized)
			return
		}
		// ... check the password of that user ...
		if err := m.Reauthenticated(sess); err != nil { // ErrorFunc has been told
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "Confirmed.")
	}
	status := func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		fmt.Fprintln(w, "recent:", m.RecentAuth(m.Get(r), 5*time.Minute))
	}

	clock := &storetest.Clock{}
	start := time.Now()
	clock.Set(start)
	sessions := gaesession.New(gaesession.Options{Store: inProcess(clock.Now)})
	mux := http.NewServeMux()
	mux.Handle("POST /login", sessions.Handler(http.HandlerFunc(login)))
	mux.Handle("POST /confirm", sessions.Handler(http.HandlerFunc(confirm)))
	mux.Handle("GET /status", sessions.Handler(http.HandlerFunc(status)))

	b := newBrowser(mux, "Firefox")
	b.post("/login", url.Values{"user": {"ann"}})
	clock.Set(start.Add(10 * time.Minute))
	fmt.Println(b.get("/status"))
	fmt.Println(b.post("/confirm", url.Values{"password": {"..."}}))
	fmt.Println(b.get("/status"))
	devs, _ := sessions.Devices(context.Background(), "ann")
	fmt.Println("devices:", len(devs))
	// Output:
	// 200 recent: false
	// 200 Confirmed.
	// 200 recent: true
	// devices: 1
}
