package gaesession_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/icza/session"
	"google.golang.org/appengine/v2/datastore"
)

// userApp is a test handler for sessions bound to users, driven by the
// query: op=login (user, remember), devices (JSON), revoke (handle),
// revokeall (keep: RevokeOthers, else LogoutEverywhere), set (k=v); it answers JSON or the session's attributes.
var userApp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	m := gaesession.From(r.Context())
	q := r.URL.Query()
	sess := m.Get(r)
	var err error
	switch q.Get("op") {
	case "login":
		sess, err = m.Login(sess, w, q.Get("user"), gaesession.LoginOptions{Remember: q.Get("remember") != ""})
	case "devices":
		devs, err := m.Devices(sess)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(devs)
		return
	case "revoke":
		var ok bool
		ok, err = m.Revoke(sess, q.Get("handle"))
		fmt.Fprintf(w, "revoked=%v ", ok)
	case "revokeall":
		if q.Get("keep") != "" {
			err = m.RevokeOthers(sess)
		} else {
			err = m.LogoutEverywhere(sess, w)
		}
	case "set":
		if sess != nil {
			sess.SetAttr(q.Get("k"), q.Get("v"))
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprint(w, userAttrs(sess))
})

// userAttrs is attrs without the binding's attributes.
func userAttrs(sess session.Session) string {
	if sess == nil {
		return "none"
	}
	var kv []string
	for _, p := range strings.Split(gaesessiontest.Attrs(sess), ",") {
		if !strings.HasPrefix(p, "_gaesession.") {
			kv = append(kv, p)
		}
	}
	return strings.Join(kv, ",")
}

// users sets up n clients of userApp, each logged in as user.
func users(t *testing.T, opts gaesession.Options, user string, n int) (gaesession.Options, []*gaesessiontest.Client) {
	t.Helper()
	opts, c := setup(t, opts)
	h := mw(opts)(userApp)
	var cs []*gaesessiontest.Client
	for range n {
		cl := gaesessiontest.NewClient(t, h)
		get(t, cl, "/?op=login&user="+user)
		cs = append(cs, cl)
	}
	_ = c
	return opts, cs
}

// devices returns a client's list of sessions.
func devices(t *testing.T, c *gaesessiontest.Client) []gaesession.Device {
	t.Helper()
	res := c.Get("/?op=devices")
	body := gaesessiontest.Body(t, res)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("devices: %d %s", res.StatusCode, body)
	}
	var devs []gaesession.Device
	if err := json.Unmarshal([]byte(body), &devs); err != nil {
		t.Fatal(err, body)
	}
	return devs
}

// TestNoIP: with NoIP the list records no address.
func TestNoIP(t *testing.T) {
	opts, c := setup(t, gaesession.Options{Users: gaesession.UserOptions{NoIP: true}})
	c = c.With(mw(opts)(userApp))
	r := gaesessiontest.NewRequest(t, http.MethodGet, "/?op=login&user=ida", nil)
	r.Header.Set("X-Appengine-User-IP", "203.0.113.7")
	gaesessiontest.Body(t, c.Do(r))
	if devs := devices(t, c); len(devs) != 1 || devs[0].IP != "" {
		t.Errorf("devices %+v, want one without IP", devs)
	}
}

// TestMaxSessionsOverLimitPanics: New refuses a MaxSessions whose index
// could outgrow a Datastore entity, naming the limit; MaxSessionsLimit
// itself is accepted.
func TestMaxSessionsOverLimitPanics(t *testing.T) {
	gaesession.New(gaesession.Options{Users: gaesession.UserOptions{MaxSessions: store.MaxSessionsLimit}})
	defer func() {
		if msg := fmt.Sprint(recover()); !strings.Contains(msg, fmt.Sprint(store.MaxSessionsLimit)) {
			t.Errorf("New panicked with %q, want a message naming store.MaxSessionsLimit", msg)
		}
	}()
	gaesession.New(gaesession.Options{Users: gaesession.UserOptions{MaxSessions: store.MaxSessionsLimit + 1}})
}

// TestRememberMe: with remember the cookie lives as long as the session
// may (RememberFor, capped by MaxLifetime); without, it has no Max-Age.
func TestRememberMe(t *testing.T) {
	opts, c := setup(t, gaesession.Options{Store: store.Options{MaxLifetime: 24 * time.Hour}})
	c = c.With(mw(opts)(userApp))
	for _, tc := range []struct {
		query  string
		maxAge int
	}{
		{"/?op=login&user=eve", 0},
		{"/?op=login&user=eve&remember=1", 24 * 3600},
	} {
		res := c.Get(tc.query)
		gaesessiontest.Body(t, res)
		var got *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == "sessid" && ck.MaxAge >= 0 {
				got = ck
			}
		}
		if got == nil || got.MaxAge != tc.maxAge {
			t.Errorf("%s: cookie %v, want Max-Age %d", tc.query, got, tc.maxAge)
		}
	}
}

// TestRememberedCookieFollowsSession: a request that extends a
// remembered session on the server (TouchInterval passed) re-sends its
// cookie with the full Max-Age; other requests, and sessions not
// remembered, send none.
func TestRememberedCookieFollowsSession(t *testing.T) {
	clock := &storetest.Clock{}
	opts, c := setup(t, gaesession.Options{Store: store.Options{Now: clock.Now, TouchInterval: time.Hour}})
	h := mw(opts)(userApp)
	sent := func(c *gaesessiontest.Client, target string) string {
		t.Helper()
		res := c.Get(target)
		gaesessiontest.Body(t, res)
		for _, ck := range res.Cookies() {
			if ck.Name == "sessid" {
				return fmt.Sprintf("Max-Age=%d same=%v", ck.MaxAge, ck.Value == sessionID(t, c))
			}
		}
		return "none"
	}
	remembered, plain := c.With(h), gaesessiontest.NewClient(t, h)
	get(t, remembered, "/?op=login&user=fay&remember=1")
	get(t, plain, "/?op=login&user=fay")
	month := fmt.Sprintf("Max-Age=%d same=true", 30*24*3600)
	// icza/session stamps the access time with the wall clock: each offset
	// is the time since the last touch.
	var offset time.Duration
	for _, step := range []struct {
		since           time.Duration
		remembered, not string
	}{
		{0, "none", "none"},                // not due for a touch
		{59 * time.Minute, "none", "none"}, // still not
		{61 * time.Minute, month, "none"},  // touched: the cookie follows
		{0, "none", "none"},                // once per TouchInterval
		{30 * time.Minute, "none", "none"},
		{61 * time.Minute, month, "none"},
	} {
		clock.Advance(step.since - offset) // the offset becomes step.since
		offset = step.since
		if got := sent(remembered, "/"); got != step.remembered {
			t.Errorf("%v after the last touch: remembered session's cookie %s, want %s", step.since, got, step.remembered)
		}
		if got := sent(plain, "/"); got != step.not {
			t.Errorf("%v after the last touch: plain session's cookie %s, want %s", step.since, got, step.not)
		}
	}
}

// TestUnboundSessionFormat: a session no Login bound has no binding
// attributes, and no user index is written.
func TestUnboundSessionFormat(t *testing.T) {
	opts, c := setup(t, gaesession.Options{})
	get(t, c, "/?op=new&a=1")
	_, ent := tiers(t, opts, sessionID(t, c))
	if ent == nil || gaesessiontest.Attrs(decoded(t, ent.Value)) != "a=1" {
		t.Fatalf("entity %v", ent)
	}
	keys, err := datastore.NewQuery(opts.Store.DSEntityName).KeysOnly().GetAll(gaesessiontest.Context(t), nil)
	if err != nil || len(keys) != 1 {
		t.Errorf("entities %v (%v), want only the session's", keys, err)
	}
}

// TestUser: User reports the binding of a session.
func TestUser(t *testing.T) {
	bound := session.NewSession()
	bound.SetAttr(store.AttrUser, "zoe")
	for _, tc := range []struct {
		sess session.Session
		user string
		ok   bool
	}{{nil, "", false}, {session.NewSession(), "", false}, {bound, "zoe", true}} {
		if u, ok := gaesession.User(tc.sess); u != tc.user || ok != tc.ok {
			t.Errorf("User = %q, %v; want %q, %v", u, ok, tc.user, tc.ok)
		}
	}
}

// TestRenewKeepsCookieKind: a later Renew of a bound session keeps its
// cookie a browser-session cookie, or a persistent one after remember.
func TestRenewKeepsCookieKind(t *testing.T) {
	opts, c := setup(t, gaesession.Options{})
	users, plain := c.With(mw(opts)(userApp)), c.With(mw(opts)(gaesessiontest.App))
	for _, tc := range []struct {
		login  string
		maxAge int
	}{{"/?op=login&user=kim", 0}, {"/?op=login&user=kim&remember=1", 30 * 24 * 3600}} {
		get(t, users, tc.login)
		res := plain.Get("/?op=renew")
		gaesessiontest.Body(t, res)
		var got *http.Cookie
		for _, ck := range res.Cookies() {
			if ck.Name == "sessid" && ck.MaxAge >= 0 {
				got = ck
			}
		}
		if got == nil || got.MaxAge != tc.maxAge {
			t.Errorf("after %s and Renew: cookie %v, want Max-Age %d", tc.login, got, tc.maxAge)
		}
	}
}

// TestLoginWithoutUser: Login with an empty user ID fails with
// store.ErrNoUser; the session keeps its ID and stays unbound.
func TestLoginWithoutUser(t *testing.T) {
	opts, c := setup(t, gaesession.Options{})
	get(t, c, "/?op=new&a=1")
	before := sessionID(t, c)
	var got error
	opts.ErrorFunc = func(_ http.ResponseWriter, _ *http.Request, err error) { got = err }
	res := c.With(mw(opts)(userApp)).Get("/?op=login&user=")
	body := gaesessiontest.Body(t, res)
	if res.StatusCode != http.StatusInternalServerError || !errors.Is(got, store.ErrNoUser) || len(res.Cookies()) != 0 {
		t.Errorf("Login(\"\"): %d %q, cookies %v, reported %v; want a failure with ErrNoUser and no cookie", res.StatusCode, body, res.Cookies(), got)
	}
	if sessionID(t, c) != before {
		t.Error("Login(\"\") renewed the session")
	}
	if got := get(t, c, "/"); got != "a=1" {
		t.Errorf("session reads %q after Login(\"\"), want a=1, unbound", got)
	}
}

// TestDeviceIP: X-Appengine-User-IP is trusted only on App Engine
// (GAE_ENV=standard); elsewhere, Cloud Run included, the connection's
// address is recorded, or what UserOptions.ClientIP gives; a value that is
// not an IP is not recorded. Not parallel: it sets GAE_ENV and K_SERVICE.
func TestDeviceIP(t *testing.T) {
	fromProxy := func(r *http.Request) string { return r.Header.Get("X-Real-IP") }
	junk := strings.Repeat("1", 4096)
	for _, tc := range []struct {
		name, gaeEnv, kService string
		clientIP               func(*http.Request) string
		header, realIP, want   string
	}{
		{"App Engine", "standard", "", nil, "203.0.113.7", "", "203.0.113.7"},
		{"App Engine, junk header", "standard", "", nil, junk, "", ""},
		{"VM", "", "", nil, "203.0.113.7", "", "198.51.100.9"},
		{"dev server", "localdev", "", nil, "203.0.113.7", "", "198.51.100.9"},
		{"Cloud Run", "", "app", nil, "203.0.113.7", "", "198.51.100.9"},
		{"app's proxy", "", "", fromProxy, "203.0.113.7", "192.0.2.5", "192.0.2.5"},
		{"app's proxy, junk", "", "", fromProxy, "", junk, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GAE_ENV", tc.gaeEnv)
			t.Setenv("K_SERVICE", tc.kService)
			opts, c := setup(t, gaesession.Options{Users: gaesession.UserOptions{ClientIP: tc.clientIP}})
			c = c.With(mw(opts)(userApp))
			r := gaesessiontest.NewRequest(t, http.MethodGet, "/?op=login&user=ida", nil)
			r.RemoteAddr = "198.51.100.9:4711"
			r.Header.Set("X-Appengine-User-IP", tc.header)
			r.Header.Set("X-Real-IP", tc.realIP)
			gaesessiontest.Body(t, c.Do(r))
			if devs := devices(t, c); len(devs) != 1 || devs[0].IP != tc.want {
				t.Errorf("devices %+v, want one with IP %q", devs, tc.want)
			}
		})
	}
}

// TestBindingCannotBeForged: an app that stores attributes under names a
// client chooses cannot be made to bind a session to another user: SetAttr
// of a name under store.ReservedPrefix on a loaded, logged-in or renewed
// session is ignored, a new session is written without it, and each is
// reported with store.ErrReserved.
func TestBindingCannotBeForged(t *testing.T) {
	var mu sync.Mutex
	var reported []error
	opts := gaesession.Options{ErrorFunc: func(_ http.ResponseWriter, _ *http.Request, err error) {
		mu.Lock()
		defer mu.Unlock()
		reported = append(reported, err)
	}}
	opts, cs := users(t, opts, "ann", 1)
	whoami := mw(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := gaesession.User(gaesession.From(r.Context()).Get(r))
		fmt.Fprintf(w, "%s %v", user, ok)
	}))
	forge := "k=" + store.AttrUser + "&v=eve"
	get(t, cs[0], "/?op=set&"+forge)
	if got := get(t, cs[0].With(whoami), "/"); got != "ann true" {
		t.Errorf("logged-in session after a forged write: User = %s, want ann", got)
	}
	c := gaesessiontest.NewClient(t, mw(opts)(gaesessiontest.App))
	for _, q := range []string{"op=new", "op=get", "op=renew"} {
		get(t, c, "/?"+q+"&"+store.AttrUser+"=eve")
		if got := get(t, c.With(whoami), "/"); got != " false" {
			t.Errorf("%s with a forged binding: User = %s, want unbound", q, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 4 {
		t.Errorf("reported %v, want 4 errors", reported)
	}
	for _, err := range reported {
		if !errors.Is(err, store.ErrReserved) {
			t.Errorf("reported %v, want store.ErrReserved", err)
		}
	}
}
