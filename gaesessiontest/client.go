package gaesessiontest

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"google.golang.org/appengine/v2/aetest"
)

// BaseURL is the origin the Client's requests appear to come to. It is HTTPS
// so that Secure cookies are kept.
const BaseURL = "https://app.example.test"

// Start returns the shared dev server for tb. When the SDK is missing it
// skips tb with a message that says what to install, or fails it when the
// environment variable named by RequireEnv is set.
func Start(tb testing.TB) aetest.Instance {
	tb.Helper()
	in, err := instance()
	if err != nil {
		if os.Getenv(RequireEnv) != "" {
			tb.Fatalf("dev server required (%s set): %v", RequireEnv, err)
		}
		tb.Skipf("skipping: %v", err)
	}
	return in
}

// NewRequest returns a request whose context routes App Engine API calls to
// the shared dev server. A target without a host is resolved against BaseURL.
func NewRequest(tb testing.TB, method, target string, body io.Reader) *http.Request {
	tb.Helper()
	u, err := url.Parse(BaseURL)
	if err != nil {
		tb.Fatal(err)
	}
	ref, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	r, err := Start(tb).NewRequest(method, u.ResolveReference(ref).String(), body)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// Context returns a context that routes App Engine API calls to the shared
// dev server, for calling store functions directly.
func Context(tb testing.TB) context.Context {
	tb.Helper()
	return NewRequest(tb, http.MethodGet, "/", nil).Context()
}

// Client runs requests through a handler in-process, keeping cookies between
// them like a browser. Like net/http, it cancels each request's context when
// ServeHTTP returns. It does not follow redirects: Do, Get and PostForm
// return a 3xx response as it is, so that tests can check it; Follow goes
// on from there. It is safe for concurrent use.
type Client struct {
	Handler http.Handler
	Jar     http.CookieJar
	tb      testing.TB
}

// NewClient returns a Client for h with an empty cookie jar.
func NewClient(tb testing.TB, h http.Handler) *Client {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &Client{Handler: h, Jar: jar, tb: tb}
}

// Do sends r (made with NewRequest) through the handler with the jar's
// cookies, stores the cookies of the response and returns it, with
// Request set to r.
func (c *Client) Do(r *http.Request) *http.Response {
	c.tb.Helper()
	for _, ck := range c.Jar.Cookies(r.URL) {
		r.AddCookie(ck)
	}
	ctx, cancel := context.WithCancel(r.Context())
	rec := httptest.NewRecorder()
	c.Handler.ServeHTTP(rec, r.WithContext(ctx))
	cancel()
	res := rec.Result()
	res.Request = r
	c.Jar.SetCookies(r.URL, res.Cookies())
	return res
}

// Get sends a GET request for target and returns the response.
func (c *Client) Get(target string) *http.Response {
	c.tb.Helper()
	return c.Do(NewRequest(c.tb, http.MethodGet, target, nil))
}

// PostForm sends a POST request for target with form as its
// application/x-www-form-urlencoded body, as a browser submits a form, and
// returns the response.
func (c *Client) PostForm(target string, form url.Values) *http.Response {
	c.tb.Helper()
	r := NewRequest(c.tb, http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.Do(r)
}

// maxRedirects is how many redirects Follow follows, as net/http's Client.
const maxRedirects = 10

// Follow follows res's redirects with GET requests, as a browser does after
// a form post answered with 303 See Other, and returns the first response
// that is not a redirect. A 307 or 308 answer to a request other than GET or
// HEAD is returned as it is: following it would send the body again. More
// than 10 redirects fail the test.
func (c *Client) Follow(res *http.Response) *http.Response {
	c.tb.Helper()
	for i := 0; ; i++ {
		loc, err := res.Location()
		if err != nil || !redirect(res) {
			return res
		}
		if i == maxRedirects {
			c.tb.Fatalf("gaesessiontest: more than %d redirects, the last to %s", maxRedirects, loc)
		}
		res.Body.Close()
		res = c.Do(NewRequest(c.tb, http.MethodGet, loc.String(), nil))
	}
}

// redirect reports whether Follow goes on from res.
func redirect(res *http.Response) bool {
	switch res.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther:
		return true
	case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return res.Request != nil && (res.Request.Method == http.MethodGet || res.Request.Method == http.MethodHead)
	}
	return false
}

// Body reads and closes res's body.
func Body(tb testing.TB, res *http.Response) string {
	tb.Helper()
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// With returns a Client for h that shares c's cookie jar, as a second
// handler of the same app would.
func (c *Client) With(h http.Handler) *Client {
	return &Client{Handler: h, Jar: c.Jar, tb: c.tb}
}
