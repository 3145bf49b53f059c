package gaesessiontest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
)

// emailApp is the app under test: POST /login logs in as the form's user,
// and POST /email, a sensitive action, asks for the password again (403)
// once the login is more than 5 minutes old.
func emailApp(sessions *gaesession.Sessions) http.Handler {
	askPassword := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintln(w, "Please enter your password again.")
	})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		if _, err := m.Login(m.Get(r), w, r.PostFormValue("user"), gaesession.LoginOptions{}); err != nil {
			http.Error(w, "please try again", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
	mux.Handle("POST /email", gaesession.RequireRecentAuth(5*time.Minute, askPassword)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintln(w, "Email address changed.")
		})))
	return sessions.Handler(mux)
}

// testEmailNeedsRecentLogin checks that the app's sensitive route asks for
// the password again once the login is more than 5 minutes old, against
// the development server's Memcache and Datastore.
//
// Time moves with a storetest.Clock given as store.Options.Now, never with
// a sleep: the store reads the time of login and every expiry from it.
// Set stops the clock, so that only its moves count, not how long the
// requests take. icza/session stamps a session's creation and last access
// with the wall clock, which Set leaves behind: to let a session expire,
// move the clock forward from the time it was created. The Client sends
// its requests to an https URL, so the session's Secure cookie is kept.
func testEmailNeedsRecentLogin(t *testing.T) {
	clock := &storetest.Clock{}
	start := time.Now()
	clock.Set(start)
	sessions := gaesession.New(gaesession.Options{Store: store.Options{Now: clock.Now}})
	defer sessions.Shutdown(context.Background())
	c := gaesessiontest.NewClient(t, emailApp(sessions))

	if res := c.PostForm("/login", url.Values{"user": {"ann"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /login: %s, want 303", res.Status)
	}
	for _, step := range []struct {
		since time.Duration // since the login
		want  int
	}{
		{0, http.StatusOK},
		{5 * time.Minute, http.StatusOK},
		{5*time.Minute + time.Second, http.StatusForbidden},
	} {
		clock.Set(start.Add(step.since))
		if res := c.PostForm("/email", nil); res.StatusCode != step.want {
			t.Errorf("POST /email %v after login: %s, want %d", step.since, res.Status, step.want)
		}
	}
}

// Example_movingTheClock is a test of an app's own handlers that moves the
// store's clock: testEmailNeedsRecentLogin, above. A test function runs
// it, in a package whose TestMain closes the development server (see the
// package documentation):
//
//	func TestEmailNeedsRecentLogin(t *testing.T) { testEmailNeedsRecentLogin(t) }
//
// This package's tests run it so.
func Example_movingTheClock() {
	var _ func(*testing.T) = testEmailNeedsRecentLogin
}
