package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gaesession/gaesession/gaesessiontest"
)

// The tests run the example's routes in-process against the App Engine
// development server (gaesessiontest), each client with a cookie jar of
// its own, as separate browsers.

func TestMain(m *testing.M) {
	code := m.Run()
	gaesessiontest.Close()
	os.Exit(code)
}

// app is the example as production serves it: Secure cookies, which the
// clients keep because gaesessiontest.BaseURL is https.
var app = newApp(false, nil)

// users makes user names unique within the test binary (-count=2 reuses
// the dev server).
var users atomic.Int64

// newUser returns a user name no other test uses.
func newUser(name string) string {
	return fmt.Sprintf("%s-%d-%d", name, time.Now().UnixNano(), users.Add(1))
}

// device is an element of GET /sessions in JSON.
type device struct {
	Handle    string    `json:"handle"`
	Current   bool      `json:"current"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	UserAgent string    `json:"user_agent"`
	IP        string    `json:"ip"`
}

// postLogin posts the login form and checks the redirect to /.
func postLogin(t *testing.T, c *gaesessiontest.Client, user string, remember bool) *http.Response {
	t.Helper()
	form := url.Values{"user": {user}}
	if remember {
		form.Set("remember", "on")
	}
	res := c.PostForm("/login", form)
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/" {
		t.Fatalf("POST /login: %s to %q, want 303 to /", res.Status, loc)
	}
	return res
}

// getJSON sends GET target with Accept: application/json.
func getJSON(t *testing.T, c *gaesessiontest.Client, target string) (*http.Response, string) {
	t.Helper()
	r := gaesessiontest.NewRequest(t, http.MethodGet, target, nil)
	r.Header.Set("Accept", "application/json")
	res := c.Do(r)
	return res, gaesessiontest.Body(t, res)
}

// devices returns the client's list of sessions, failing unless it is 200
// JSON.
func devices(t *testing.T, c *gaesessiontest.Client) ([]device, string) {
	t.Helper()
	res, body := getJSON(t, c, "/sessions")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /sessions: %s %s: %s", res.Status, res.Header.Get("Content-Type"), body)
	}
	var devs []device
	if err := json.Unmarshal([]byte(body), &devs); err != nil {
		t.Fatalf("GET /sessions: %v: %s", err, body)
	}
	return devs, body
}

// cookieValue returns the value of the client's session cookie, or "".
func cookieValue(t *testing.T, c *gaesessiontest.Client) string {
	t.Helper()
	u, _ := url.Parse(gaesessiontest.BaseURL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "sessid" {
			return ck.Value
		}
	}
	return ""
}

// sessionCookie returns the session cookie that res sets, or nil.
func sessionCookie(res *http.Response) *http.Cookie {
	for _, ck := range res.Cookies() {
		if ck.Name == "sessid" {
			return ck
		}
	}
	return nil
}

func TestLoginCounterLogout(t *testing.T) {
	c := gaesessiontest.NewClient(t, app)
	if body := gaesessiontest.Body(t, c.Get("/")); !strings.Contains(body, `name="user"`) {
		t.Fatalf("no login form before login: %s", body)
	}
	user := newUser("ann")
	body := gaesessiontest.Body(t, c.Follow(postLogin(t, c, user, false)))
	for _, want := range []string{`<b id="user">` + user + `</b>`, `<b id="count">1</b>`, "Welcome, " + user + "."} {
		if !strings.Contains(body, want) {
			t.Errorf("after login: no %q in %s", want, body)
		}
	}
	if body := gaesessiontest.Body(t, c.Get("/")); !strings.Contains(body, `<b id="count">2</b>`) || strings.Contains(body, "Welcome") {
		t.Errorf("after reload: %s", body)
	}
	res := c.Follow(c.PostForm("/logout", nil))
	if body := gaesessiontest.Body(t, res); !strings.Contains(body, `name="user"`) {
		t.Errorf("no login form after logout: %s", body)
	}
	if res, body := getJSON(t, c, "/sessions"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /sessions after logout: %s %s, want 401", res.Status, body)
	}
}

func TestLoginWithoutUser(t *testing.T) {
	c := gaesessiontest.NewClient(t, app)
	res := c.PostForm("/login", url.Values{"user": {"  "}})
	if body := gaesessiontest.Body(t, res); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Please enter a user name.") {
		t.Errorf("POST /login with no user: %s %s", res.Status, body)
	}
	if sessionCookie(res) != nil {
		t.Error("POST /login with no user set a cookie")
	}
}

func TestSessionsListAndRevoke(t *testing.T) {
	ann := newUser("ann")
	c1, c2 := gaesessiontest.NewClient(t, app), gaesessiontest.NewClient(t, app)
	postLogin(t, c1, ann, false)
	postLogin(t, c2, ann, false)

	devs, body := devices(t, c1)
	if len(devs) != 2 {
		t.Fatalf("ann's sessions right after two logins: %d, want 2: %s", len(devs), body)
	}
	for _, key := range []string{`"handle"`, `"current"`, `"created"`, `"last_seen"`, `"user_agent"`, `"ip"`} {
		if !strings.Contains(body, key) {
			t.Errorf("no %s in %s", key, body)
		}
	}
	for _, v := range []string{cookieValue(t, c1), cookieValue(t, c2)} {
		if v == "" || strings.Contains(body, v) {
			t.Errorf("session cookie %q appears in the list (or is missing): %s", v, body)
		}
	}
	var current, other []device
	for _, d := range devs {
		if d.Handle == "" || d.Created.IsZero() || d.LastSeen.IsZero() {
			t.Errorf("incomplete device %+v", d)
		}
		if d.Current {
			current = append(current, d)
		} else {
			other = append(other, d)
		}
	}
	if len(current) != 1 || len(other) != 1 || current[0].Handle == other[0].Handle {
		t.Fatalf("want one current session and one other: %s", body)
	}

	// The page: a revoke button for the other session only.
	res := c1.Get("/sessions")
	if body := gaesessiontest.Body(t, res); res.StatusCode != http.StatusOK ||
		strings.Count(body, `class="revoke"`) != 1 || !strings.Contains(body, `value="`+other[0].Handle+`"`) ||
		!strings.Contains(body, `id="logout-everywhere"`) {
		t.Errorf("GET /sessions as HTML: %s %s", res.Status, body)
	}

	// Client 1 ends client 2's session: client 2 is logged out at once.
	res = c1.PostForm("/sessions/revoke", url.Values{"handle": {other[0].Handle}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/sessions" {
		t.Fatalf("POST /sessions/revoke: %s to %q, want 303 to /sessions", res.Status, loc)
	}
	if body := gaesessiontest.Body(t, c1.Follow(res)); !strings.Contains(body, "Session ended.") {
		t.Errorf("sessions page after revoking: %s", body)
	}
	if res, body := getJSON(t, c2, "/sessions"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /sessions on the revoked client: %s %s, want 401", res.Status, body)
	}
	if body := gaesessiontest.Body(t, c2.Get("/")); !strings.Contains(body, `name="user"`) {
		t.Errorf("revoked client still logged in: %s", body)
	}
	if devs, body := devices(t, c1); len(devs) != 1 || !devs[0].Current {
		t.Errorf("ann's sessions after revoking the other: %s", body)
	}
}

func TestRevokeOtherUsersHandle(t *testing.T) {
	ann, bob := gaesessiontest.NewClient(t, app), gaesessiontest.NewClient(t, app)
	postLogin(t, ann, newUser("ann"), false)
	postLogin(t, bob, newUser("bob"), false)
	devs, _ := devices(t, ann)
	handle := devs[0].Handle

	res := bob.PostForm("/sessions/revoke", url.Values{"handle": {handle}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/sessions" {
		t.Fatalf("POST /sessions/revoke of another user's handle: %s to %q, want 303 to /sessions", res.Status, loc)
	}
	if body := gaesessiontest.Body(t, bob.Follow(res)); !strings.Contains(body, "No such session") {
		t.Errorf("sessions page after revoking another user's handle: %s", body)
	}
	if devs, body := devices(t, ann); len(devs) != 1 || devs[0].Handle != handle {
		t.Errorf("ann's sessions after bob's attempt: %s", body)
	}
}

func TestLogoutEverywhere(t *testing.T) {
	ann := newUser("ann")
	c1, c2 := gaesessiontest.NewClient(t, app), gaesessiontest.NewClient(t, app)
	postLogin(t, c1, ann, false)
	postLogin(t, c2, ann, true)

	res := c1.PostForm("/logout-everywhere", nil)
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/" {
		t.Fatalf("POST /logout-everywhere: %s to %q, want 303 to /", res.Status, loc)
	}
	if ck := sessionCookie(res); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("POST /logout-everywhere does not delete the cookie: %v", ck)
	}
	for i, c := range []*gaesessiontest.Client{c1, c2} {
		if res, body := getJSON(t, c, "/sessions"); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("client %d: GET /sessions after logging out everywhere: %s %s, want 401", i+1, res.Status, body)
		}
	}
}

func TestLoginAgainRenews(t *testing.T) {
	c := gaesessiontest.NewClient(t, app)
	ann := newUser("ann")
	postLogin(t, c, ann, false)
	before := cookieValue(t, c)
	postLogin(t, c, ann, false)
	if after := cookieValue(t, c); after == "" || after == before {
		t.Errorf("second login kept the session ID")
	}
	if devs, body := devices(t, c); len(devs) != 1 {
		t.Errorf("sessions after logging in twice on one client: %s, want 1", body)
	}
}

func TestRememberMe(t *testing.T) {
	gaesessiontest.Start(t) // every subtest needs the dev server
	for _, tc := range []struct {
		name     string
		remember bool
	}{{"remember", true}, {"browser session", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := gaesessiontest.NewClient(t, app)
			ck := sessionCookie(postLogin(t, c, newUser("ann"), tc.remember))
			if ck == nil {
				t.Fatal("login set no session cookie")
			}
			switch {
			case tc.remember && ck.MaxAge < 24*60*60:
				t.Errorf("remember=on: cookie %s, want a Max-Age of days", ck)
			case !tc.remember && (ck.MaxAge != 0 || strings.Contains(ck.Raw, "Max-Age") || !ck.Expires.IsZero()):
				t.Errorf("without remember: cookie %s, want no Max-Age nor Expires", ck)
			}
		})
	}
}

func TestNotLoggedIn(t *testing.T) {
	c := gaesessiontest.NewClient(t, app)
	res, body := getJSON(t, c, "/sessions")
	if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /sessions as JSON without a session: %s %s", res.Status, body)
	}
	res = c.Get("/sessions")
	if body := gaesessiontest.Body(t, res); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `name="user"`) {
		t.Errorf("GET /sessions without a session: %s %s, want 401 with the login form", res.Status, body)
	}
	res = c.PostForm("/sessions/revoke", url.Values{"handle": {"x"}})
	if res.Body.Close(); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /sessions/revoke without a session: %s, want 401", res.Status)
	}
	res = c.PostForm("/logout-everywhere", nil)
	if res.Body.Close(); res.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /logout-everywhere without a session: %s, want 303", res.Status)
	}
}

// TestRevokeAsksToConfirm: more than confirmAfter after the login, ending
// another session asks the user to confirm who they are first (by the
// sessions' clock, moved forward, not slept through); a wrong answer
// changes nothing; after confirming, the revoke goes through, and no new
// device appeared.
func TestRevokeAsksToConfirm(t *testing.T) {
	var offset atomic.Int64
	app := newApp(false, func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
	ann := newUser("ann")
	c1, c2 := gaesessiontest.NewClient(t, app), gaesessiontest.NewClient(t, app)
	postLogin(t, c1, ann, false)
	postLogin(t, c2, ann, false)
	devs, _ := devices(t, c1)
	var other string
	for _, d := range devs {
		if !d.Current {
			other = d.Handle
		}
	}
	offset.Store(int64(confirmAfter + time.Minute))

	res := c1.PostForm("/sessions/revoke", url.Values{"handle": {other}})
	if body := gaesessiontest.Body(t, res); res.StatusCode != http.StatusForbidden || !strings.Contains(body, `id="confirm"`) {
		t.Fatalf("POST /sessions/revoke long after the login: %s %s, want 403 and the confirm form", res.Status, body)
	}
	res = c1.PostForm("/sessions/confirm", url.Values{"user": {"someone-else"}})
	if body := gaesessiontest.Body(t, res); res.StatusCode != http.StatusForbidden {
		t.Errorf("confirming as another user: %s %s, want 403", res.Status, body)
	}
	if n, body := len(must(devices(t, c2))), gaesessiontest.Body(t, c2.Get("/")); n != 2 || !strings.Contains(body, `id="greeting"`) {
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
	if devs, body := devices(t, c1); len(devs) != 1 || !devs[0].Current {
		t.Errorf("ann's sessions after confirming and revoking: %s", body)
	}
}

// must returns v, dropping the second result.
func must[T any](v T, _ string) T { return v }
