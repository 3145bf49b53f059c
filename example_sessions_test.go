package gaesession_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gaesession/gaesession"
)

// ExampleSessions_Devices lists a user's sessions outside that user's
// requests: on an admin page, mounted without the session middleware and
// behind the app's own admin check, or in a task. Keep the *Sessions that
// gaesession.New returned for this. On App Engine the context must reach
// App Engine's services: a request's does.
func ExampleSessions_Devices() {
	sessions := gaesession.New(gaesession.Options{Store: inProcess(nil)})
	userSessions := func(w http.ResponseWriter, r *http.Request) {
		devs, err := sessions.Devices(r.Context(), r.PathValue("user"))
		if err != nil {
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%d session(s)\n", len(devs))
		for _, d := range devs {
			fmt.Fprintf(w, "%s at %s\n", d.UserAgent, d.IP)
		}
	}

	mux := http.NewServeMux()
	mux.Handle("POST /login", sessions.Handler(http.HandlerFunc(login)))
	mux.Handle("GET /admin/users/{user}/sessions", http.HandlerFunc(userSessions)) // behind the admin check

	newBrowser(mux, "Firefox").post("/login", url.Values{"user": {"ann"}})
	newBrowser(mux, "Safari").post("/login", url.Values{"user": {"ann"}})
	admin := newBrowser(mux, "Chrome")
	fmt.Println(admin.get("/admin/users/ann/sessions"))
	fmt.Println(admin.get("/admin/users/bob/sessions"))
	// Output:
	// 200 2 session(s)
	// Firefox at 192.0.2.1
	// Safari at 192.0.2.1
	// 200 0 session(s)
}

// ExampleSessions_RevokeAll ends every session of a user outside that
// user's requests, when an admin disables the account: the user is
// logged out in every browser at once.
func ExampleSessions_RevokeAll() {
	sessions := gaesession.New(gaesession.Options{Store: inProcess(nil)})
	disable := func(w http.ResponseWriter, r *http.Request) {
		user := r.PathValue("user")
		// ... mark the account disabled, so that it cannot log in again ...
		if err := sessions.RevokeAll(r.Context(), user); err != nil {
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, user, "is disabled and logged out.")
	}

	mux := http.NewServeMux()
	mux.Handle("POST /login", sessions.Handler(http.HandlerFunc(login)))
	mux.Handle("GET /{$}", sessions.Handler(http.HandlerFunc(hello)))
	mux.Handle("POST /admin/users/{user}/disable", http.HandlerFunc(disable)) // behind the admin check

	laptop, phone := newBrowser(mux, "Firefox"), newBrowser(mux, "Safari")
	laptop.post("/login", url.Values{"user": {"ann"}})
	phone.post("/login", url.Values{"user": {"ann"}})
	fmt.Println(newBrowser(mux, "Chrome").post("/admin/users/ann/disable", nil))
	fmt.Println(laptop.get("/"))
	fmt.Println(phone.get("/"))
	// Output:
	// 200 ann is disabled and logged out.
	// 200 Hello, guest
	// 200 Hello, guest
}

// ExampleSessions_Revoke ends one session of a user outside that user's
// requests, named by a handle from Sessions.Devices: an admin ends the
// session of a lost phone, say.
func ExampleSessions_Revoke() {
	sessions := gaesession.New(gaesession.Options{Store: inProcess(nil)})
	revoke := func(w http.ResponseWriter, r *http.Request) {
		ended, err := sessions.Revoke(r.Context(), r.PathValue("user"), r.PostFormValue("handle"))
		if err != nil {
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ended:", ended)
	}

	mux := http.NewServeMux()
	mux.Handle("POST /login", sessions.Handler(http.HandlerFunc(login)))
	mux.Handle("GET /{$}", sessions.Handler(http.HandlerFunc(hello)))
	mux.Handle("POST /admin/users/{user}/revoke", http.HandlerFunc(revoke)) // behind the admin check

	laptop, phone := newBrowser(mux, "Firefox"), newBrowser(mux, "Safari")
	laptop.post("/login", url.Values{"user": {"ann"}})
	phone.post("/login", url.Values{"user": {"ann"}})
	devs, _ := sessions.Devices(context.Background(), "ann")
	admin := newBrowser(mux, "Chrome")
	fmt.Println(admin.post("/admin/users/ann/revoke", url.Values{"handle": {devs[1].Handle}})) // the phone's
	fmt.Println(laptop.get("/"))
	fmt.Println(phone.get("/"))
	// Output:
	// 200 ended: true
	// 200 Hello, ann
	// 200 Hello, guest
}
