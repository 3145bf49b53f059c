// Package apptest checks the HTTP contract of the example app (package
// app) wherever it runs: in-process on the App Engine development server
// (example/) and over HTTP on the Cloud Run example (example/cloudrun).
package apptest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gaesession/gaesession/gaesessiontest"
)

// Target is an app under test.
type Target struct {
	// BaseURL is the app's origin, e.g. http://localhost:8080. Cookies
	// are kept as a browser keeps them: Secure ones over https only.
	BaseURL string
	// Transport carries the requests; nil: http.DefaultTransport.
	Transport http.RoundTripper
}

// InProcess returns the Target of h run in-process against the shared App
// Engine development server (gaesessiontest): at gaesessiontest.BaseURL,
// each request with a context that routes App Engine API calls there.
func InProcess(tb testing.TB, h http.Handler) Target {
	return Target{BaseURL: gaesessiontest.BaseURL, Transport: handlerTransport{tb, h}}
}

type handlerTransport struct {
	tb testing.TB
	h  http.Handler
}

// RoundTrip serves r with the handler. Like net/http, it cancels the
// request's context when ServeHTTP returns.
func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body io.Reader
	if r.Body != nil {
		defer r.Body.Close()
		body = r.Body
	}
	req := gaesessiontest.NewRequest(t.tb, r.Method, r.URL.String(), body)
	req.Header = r.Header.Clone()
	ctx, cancel := context.WithCancel(req.Context())
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req.WithContext(ctx))
	cancel()
	res := rec.Result()
	res.Request = r
	return res, nil
}

// Client is a browser of its own: an http.Client with a cookie jar that
// does not follow redirects (Follow does).
type Client struct {
	HTTP *http.Client
	base *url.URL
	t    *testing.T
}

// NewClient returns a Client with an empty cookie jar.
func (tg Target) NewClient(t *testing.T) *Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	base, err := url.Parse(tg.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{
		Jar:           jar,
		Transport:     tg.Transport,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Client{HTTP: hc, base: base, t: t}
}

// Do sends r, a request made with NewRequest.
func (c *Client) Do(r *http.Request) *http.Response {
	c.t.Helper()
	res, err := c.HTTP.Do(r)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

// NewRequest returns a request for target, resolved against the base URL.
func (c *Client) NewRequest(method, target string, body io.Reader) *http.Request {
	c.t.Helper()
	ref, err := url.Parse(target)
	if err != nil {
		c.t.Fatal(err)
	}
	r, err := http.NewRequest(method, c.base.ResolveReference(ref).String(), body)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// Get sends GET target.
func (c *Client) Get(target string) *http.Response {
	c.t.Helper()
	return c.Do(c.NewRequest(http.MethodGet, target, nil))
}

// PostForm posts form to target as a browser submits a form.
func (c *Client) PostForm(target string, form url.Values) *http.Response {
	c.t.Helper()
	r := c.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(r)
}

// Follow follows res's 303 (and 301, 302) redirects with GET requests and
// returns the first answer that is not one.
func (c *Client) Follow(res *http.Response) *http.Response {
	c.t.Helper()
	for i := 0; ; i++ {
		loc, err := res.Location()
		if err != nil || (res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound && res.StatusCode != http.StatusMovedPermanently) {
			return res
		}
		if i == 10 {
			c.t.Fatalf("more than 10 redirects, the last to %s", loc)
		}
		res.Body.Close()
		res = c.Get(loc.String())
	}
}

// Body reads and closes res's body.
func Body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// users makes user names unique within the test binary (-count=2 reuses
// the servers).
var users atomic.Int64

// NewUser returns a user name no other test uses.
func NewUser(name string) string {
	return fmt.Sprintf("%s-%d-%d", name, time.Now().UnixNano(), users.Add(1))
}

// Device is an element of GET /sessions in JSON.
type Device struct {
	Handle    string    `json:"handle"`
	Current   bool      `json:"current"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	UserAgent string    `json:"user_agent"`
	IP        string    `json:"ip"`
}

// PostLogin posts the login form and checks the redirect to /.
func PostLogin(t *testing.T, c *Client, user string, remember bool) *http.Response {
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

// GetJSON sends GET target with Accept: application/json.
func GetJSON(t *testing.T, c *Client, target string) (*http.Response, string) {
	t.Helper()
	r := c.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Accept", "application/json")
	res := c.Do(r)
	return res, Body(t, res)
}

// Devices returns the client's list of sessions, failing unless it is 200
// JSON.
func Devices(t *testing.T, c *Client) ([]Device, string) {
	t.Helper()
	res, body := GetJSON(t, c, "/sessions")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /sessions: %s %s: %s", res.Status, res.Header.Get("Content-Type"), body)
	}
	var devs []Device
	if err := json.Unmarshal([]byte(body), &devs); err != nil {
		t.Fatalf("GET /sessions: %v: %s", err, body)
	}
	return devs, body
}

// CookieValue returns the value of the client's session cookie, or "".
func CookieValue(t *testing.T, c *Client) string {
	t.Helper()
	for _, ck := range c.HTTP.Jar.Cookies(c.base) {
		if ck.Name == "sessid" {
			return ck.Value
		}
	}
	return ""
}

// SessionCookie returns the session cookie that res sets, or nil.
func SessionCookie(res *http.Response) *http.Cookie {
	for _, ck := range res.Cookies() {
		if ck.Name == "sessid" {
			return ck
		}
	}
	return nil
}

// Contract checks the app's HTTP contract at tg, each part as a subtest:
// login (remember-me, flash, counter), logout, the list of sessions (HTML,
// JSON, 401), revoke, logout everywhere. Revoking long after the login
// needs a clock the test moves; it is not part of it.
func Contract(t *testing.T, tg Target) {
	for _, c := range []struct {
		name string
		f    func(*testing.T, Target)
	}{
		{"LoginCounterLogout", testLoginCounterLogout},
		{"LoginWithoutUser", testLoginWithoutUser},
		{"SessionsListAndRevoke", testSessionsListAndRevoke},
		{"RevokeOtherUsersHandle", testRevokeOtherUsersHandle},
		{"LogoutEverywhere", testLogoutEverywhere},
		{"LoginAgainRenews", testLoginAgainRenews},
		{"RememberMe", testRememberMe},
		{"NotLoggedIn", testNotLoggedIn},
	} {
		t.Run(c.name, func(t *testing.T) { c.f(t, tg) })
	}
}

func testLoginCounterLogout(t *testing.T, tg Target) {
	c := tg.NewClient(t)
	if body := Body(t, c.Get("/")); !strings.Contains(body, `name="user"`) {
		t.Fatalf("no login form before login: %s", body)
	}
	user := NewUser("ann")
	body := Body(t, c.Follow(PostLogin(t, c, user, false)))
	for _, want := range []string{`<b id="user">` + user + `</b>`, `<b id="count">1</b>`, "Welcome, " + user + "."} {
		if !strings.Contains(body, want) {
			t.Errorf("after login: no %q in %s", want, body)
		}
	}
	if body := Body(t, c.Get("/")); !strings.Contains(body, `<b id="count">2</b>`) || strings.Contains(body, "Welcome") {
		t.Errorf("after reload: %s", body)
	}
	res := c.Follow(c.PostForm("/logout", nil))
	if body := Body(t, res); !strings.Contains(body, `name="user"`) {
		t.Errorf("no login form after logout: %s", body)
	}
	if res, body := GetJSON(t, c, "/sessions"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /sessions after logout: %s %s, want 401", res.Status, body)
	}
}

func testLoginWithoutUser(t *testing.T, tg Target) {
	c := tg.NewClient(t)
	res := c.PostForm("/login", url.Values{"user": {"  "}})
	if body := Body(t, res); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Please enter a user name.") {
		t.Errorf("POST /login with no user: %s %s", res.Status, body)
	}
	if SessionCookie(res) != nil {
		t.Error("POST /login with no user set a cookie")
	}
}

func testSessionsListAndRevoke(t *testing.T, tg Target) {
	ann := NewUser("ann")
	c1, c2 := tg.NewClient(t), tg.NewClient(t)
	PostLogin(t, c1, ann, false)
	PostLogin(t, c2, ann, false)

	devs, body := Devices(t, c1)
	if len(devs) != 2 {
		t.Fatalf("ann's sessions right after two logins: %d, want 2: %s", len(devs), body)
	}
	for _, key := range []string{`"handle"`, `"current"`, `"created"`, `"last_seen"`, `"user_agent"`, `"ip"`} {
		if !strings.Contains(body, key) {
			t.Errorf("no %s in %s", key, body)
		}
	}
	for _, v := range []string{CookieValue(t, c1), CookieValue(t, c2)} {
		if v == "" || strings.Contains(body, v) {
			t.Errorf("session cookie %q appears in the list (or is missing): %s", v, body)
		}
	}
	var current, other []Device
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
	if body := Body(t, res); res.StatusCode != http.StatusOK ||
		strings.Count(body, `class="revoke"`) != 1 || !strings.Contains(body, `value="`+other[0].Handle+`"`) ||
		!strings.Contains(body, `id="logout-everywhere"`) {
		t.Errorf("GET /sessions as HTML: %s %s", res.Status, body)
	}

	// Client 1 ends client 2's session: client 2 is logged out at once.
	res = c1.PostForm("/sessions/revoke", url.Values{"handle": {other[0].Handle}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/sessions" {
		t.Fatalf("POST /sessions/revoke: %s to %q, want 303 to /sessions", res.Status, loc)
	}
	if body := Body(t, c1.Follow(res)); !strings.Contains(body, "Session ended.") {
		t.Errorf("sessions page after revoking: %s", body)
	}
	if res, body := GetJSON(t, c2, "/sessions"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /sessions on the revoked client: %s %s, want 401", res.Status, body)
	}
	if body := Body(t, c2.Get("/")); !strings.Contains(body, `name="user"`) {
		t.Errorf("revoked client still logged in: %s", body)
	}
	if devs, body := Devices(t, c1); len(devs) != 1 || !devs[0].Current {
		t.Errorf("ann's sessions after revoking the other: %s", body)
	}
}

func testRevokeOtherUsersHandle(t *testing.T, tg Target) {
	ann, bob := tg.NewClient(t), tg.NewClient(t)
	PostLogin(t, ann, NewUser("ann"), false)
	PostLogin(t, bob, NewUser("bob"), false)
	devs, _ := Devices(t, ann)
	handle := devs[0].Handle

	res := bob.PostForm("/sessions/revoke", url.Values{"handle": {handle}})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/sessions" {
		t.Fatalf("POST /sessions/revoke of another user's handle: %s to %q, want 303 to /sessions", res.Status, loc)
	}
	if body := Body(t, bob.Follow(res)); !strings.Contains(body, "No such session") {
		t.Errorf("sessions page after revoking another user's handle: %s", body)
	}
	if devs, body := Devices(t, ann); len(devs) != 1 || devs[0].Handle != handle {
		t.Errorf("ann's sessions after bob's attempt: %s", body)
	}
}

func testLogoutEverywhere(t *testing.T, tg Target) {
	ann := NewUser("ann")
	c1, c2 := tg.NewClient(t), tg.NewClient(t)
	PostLogin(t, c1, ann, false)
	PostLogin(t, c2, ann, true)

	res := c1.PostForm("/logout-everywhere", nil)
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/" {
		t.Fatalf("POST /logout-everywhere: %s to %q, want 303 to /", res.Status, loc)
	}
	if ck := SessionCookie(res); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("POST /logout-everywhere does not delete the cookie: %v", ck)
	}
	for i, c := range []*Client{c1, c2} {
		if res, body := GetJSON(t, c, "/sessions"); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("client %d: GET /sessions after logging out everywhere: %s %s, want 401", i+1, res.Status, body)
		}
	}
}

func testLoginAgainRenews(t *testing.T, tg Target) {
	c := tg.NewClient(t)
	ann := NewUser("ann")
	PostLogin(t, c, ann, false)
	before := CookieValue(t, c)
	PostLogin(t, c, ann, false)
	if after := CookieValue(t, c); after == "" || after == before {
		t.Errorf("second login kept the session ID")
	}
	if devs, body := Devices(t, c); len(devs) != 1 {
		t.Errorf("sessions after logging in twice on one client: %s, want 1", body)
	}
}

func testRememberMe(t *testing.T, tg Target) {
	for _, tc := range []struct {
		name     string
		remember bool
	}{{"remember", true}, {"browser session", false}} {
		t.Run(tc.name, func(t *testing.T) {
			c := tg.NewClient(t)
			ck := SessionCookie(PostLogin(t, c, NewUser("ann"), tc.remember))
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

func testNotLoggedIn(t *testing.T, tg Target) {
	c := tg.NewClient(t)
	res, body := GetJSON(t, c, "/sessions")
	if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /sessions as JSON without a session: %s %s", res.Status, body)
	}
	res = c.Get("/sessions")
	if body := Body(t, res); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `name="user"`) {
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
