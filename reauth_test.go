package gaesession_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
)

// reauthApp serves userApp, and under /sensitive a handler behind
// RequireRecentAuth (5 minutes) whose reauth page answers "reauth"; op=
// reauthenticated refreshes the authentication, op=age answers RecentAuth.
func reauthApp(h func(http.Handler) http.Handler) http.Handler {
	sensitive := gaesession.RequireRecentAuth(5*time.Minute, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "reauth")
	}))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "done")
	}))
	return h(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		switch {
		case r.URL.Path == "/sensitive":
			sensitive.ServeHTTP(w, r)
		case r.URL.Query().Get("op") == "reauthenticated":
			fmt.Fprint(w, m.Reauthenticated(m.Get(r)))
		default:
			userApp.ServeHTTP(w, r)
		}
	}))
}

// TestReauthentication: Login records when the user authenticated;
// RequireRecentAuth lets a request through within its limit, by the
// store's clock, and sends it to re-authenticate after; Reauthenticated
// refreshes it without a new ID or a new device; a client cannot set it
// through the app's SetAttr; a session of no user is never recent.
func TestReauthentication(t *testing.T) {
	clock := &storetest.Clock{}
	var errs errLog
	opts, c := setup(t, gaesession.Options{Store: store.Options{Now: clock.Now}, ErrorFunc: errs.record()})
	c = c.With(reauthApp(mw(opts)))
	if got := get(t, c, "/sensitive"); got != "reauth" {
		t.Errorf("no session: %q, want reauth", got)
	}
	get(t, c, "/?op=new&a=1")
	if got := get(t, c, "/sensitive"); got != "reauth" {
		t.Errorf("a session of no user: %q, want reauth", got)
	}
	if got := get(t, c, "/?op=reauthenticated"); got != gaesession.ErrNotBound.Error() {
		t.Errorf("Reauthenticated of a session of no user: %q, want ErrNotBound", got)
	}
	get(t, c, "/?op=login&user=gus")
	id := sessionID(t, c)
	for _, step := range []struct {
		do      string
		advance time.Duration
		want    string
	}{
		{"", 0, "done"},
		{"", 4*time.Minute + 50*time.Second, "done"},
		{"", 20 * time.Second, "reauth"},
		{"/?op=set&k=" + store.AttrAuth + "&v=" + clock.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano), 0, "reauth"},
		{"/?op=reauthenticated", 0, "done"},
		{"", 4*time.Minute + 50*time.Second, "done"},
		{"", 20 * time.Second, "reauth"},
	} {
		if step.do != "" {
			get(t, c, step.do)
		}
		clock.Advance(step.advance)
		if got := get(t, c, "/sensitive"); got != step.want {
			t.Errorf("after %q and %v more: %q, want %q", step.do, step.advance, got, step.want)
		}
	}
	if sessionID(t, c) != id {
		t.Error("Reauthenticated changed the session's ID")
	}
	if n := len(devices(t, c)); n != 1 {
		t.Errorf("%d devices after Reauthenticated, want 1", n)
	}
}
