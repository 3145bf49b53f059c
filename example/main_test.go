package main

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession/example/app"
	"github.com/gaesession/gaesession/example/app/apptest"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store/storetest"
)

// The tests run the example's routes in-process against the App Engine
// development server (gaesessiontest), each client with a cookie jar of
// its own, as separate browsers. The Cloud Run example's tests check the
// same contract (apptest.Contract).

func TestMain(m *testing.M) {
	code := m.Run()
	gaesessiontest.Close()
	os.Exit(code)
}

// TestContract: the example as production serves it: Secure cookies, which
// the clients keep because gaesessiontest.BaseURL is https.
func TestContract(t *testing.T) {
	gaesessiontest.Start(t) // every subtest needs the dev server
	apptest.Contract(t, apptest.InProcess(t, newApp(false, nil)))
}

// TestRevokeAsksToConfirm: more than app.ConfirmAfter after the login, ending
// another session asks the user to confirm who they are first (by the
// sessions' clock, moved forward, not slept through): a browser is sent to
// the confirm page, a JSON client told 401; a wrong answer changes
// nothing; after confirming, the revoke goes through, and no new device
// appeared.
func TestRevokeAsksToConfirm(t *testing.T) {
	var clock storetest.Clock
	clockApp := newApp(false, clock.Now)
	ann := apptest.NewUser("ann")
	tg := apptest.InProcess(t, clockApp)
	c1, c2 := tg.NewClient(t), tg.NewClient(t)
	apptest.PostLogin(t, c1, ann, false)
	apptest.PostLogin(t, c2, ann, false)
	devs, _ := apptest.Devices(t, c1)
	var other string
	for _, d := range devs {
		if !d.Current {
			other = d.Handle
		}
	}
	clock.Advance(app.ConfirmAfter + time.Minute)

	res := c1.PostForm("/sessions/revoke", url.Values{"handle": {other}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/sessions/confirm" {
		t.Fatalf("POST /sessions/revoke long after the login: %s to %q, want 303 to /sessions/confirm", res.Status, loc)
	}
	res = c1.Follow(res)
	if body := apptest.Body(t, res); res.StatusCode != http.StatusOK || !strings.Contains(body, `id="confirm"`) {
		t.Fatalf("GET /sessions/confirm: %s %s, want 200 and the confirm form", res.Status, body)
	}
	r := c1.NewRequest(http.MethodPost, "/sessions/revoke", strings.NewReader(url.Values{"handle": {other}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Accept", "application/json")
	if res := c1.Do(r); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST /sessions/revoke long after the login, Accept: application/json: %s, want 401", res.Status)
	}
	res = c1.PostForm("/sessions/confirm", url.Values{"user": {"someone-else"}})
	if body := apptest.Body(t, res); res.StatusCode != http.StatusForbidden {
		t.Errorf("confirming as another user: %s %s, want 403", res.Status, body)
	}
	if n, body := len(must(apptest.Devices(t, c2))), apptest.Body(t, c2.Get("/")); n != 2 || !strings.Contains(body, `id="greeting"`) {
		t.Fatalf("before confirming: %d sessions, the other client's page %s", n, body)
	}

	res = c1.PostForm("/sessions/confirm", url.Values{"user": {ann}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/sessions" {
		t.Fatalf("POST /sessions/confirm: %s to %q, want 303 to /sessions", res.Status, loc)
	}
	res.Body.Close()
	res = c1.PostForm("/sessions/revoke", url.Values{"handle": {other}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/sessions" {
		t.Fatalf("POST /sessions/revoke after confirming: %s to %q, want 303 to /sessions", res.Status, loc)
	}
	res.Body.Close()
	if devs, body := apptest.Devices(t, c1); len(devs) != 1 || !devs[0].Current {
		t.Errorf("ann's sessions after confirming and revoking: %s", body)
	}
}

// must returns v, dropping the second result.
func must[T any](v T, _ string) T { return v }
