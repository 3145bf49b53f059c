package gaesession_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
)

// cookieClient returns client c with its session cookie set to value.
func setCookie(t *testing.T, c *gaesessiontest.Client, value string) {
	t.Helper()
	c.Jar.SetCookies(gaesessiontest.NewRequest(t, "GET", "/", nil).URL, []*http.Cookie{{Name: "sessid", Value: value}})
}

func TestMalformedCookiesCostNoRPC(t *testing.T) {
	gaesessiontest.Start(t) // every subtest needs the dev server
	_, c := setup(t, gaesession.Options{})
	cases := map[string]string{
		"junk":          strings.Repeat("x!", 2000),
		"too short":     "abc",
		"too long":      strings.Repeat("A", 251),
		"bad alphabet":  "AAAAAAAAAAAA/AAAAAAAAAAA",
		"inner padding": "AAAAAAAA=AAAAAAAAAAAAAAA",
		"dots":          "AAAAAAAAAAAA.AAAAAAAAAAA",
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) { rejectedFree(t, c, v) })
	}
}

// rejectedFree checks that a request with the cookie value v sees no
// session and makes no RPC.
func rejectedFree(t *testing.T, c *gaesessiontest.Client, v string) {
	t.Helper()
	setCookie(t, c, v)
	var rec rpcs
	if _, got := rec.do(t, c, "/"); got != "none" {
		t.Errorf("got %q", got)
	}
	if calls := rec.take(); len(calls) != 0 {
		t.Errorf("RPCs %v, want none", calls)
	}
}

func TestSignedIDs(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	opts, c := setup(t, gaesession.Options{Cookie: gaesession.CookieOptions{SigningKeys: [][]byte{oldKey}}})
	get(t, c, "/?op=new&a=1")
	signed := sessionID(t, c)
	id, _, ok := strings.Cut(signed, ".")
	if !ok {
		t.Fatalf("cookie %q is not signed", signed)
	}
	if got := get(t, c, "/"); got != "a=1" {
		t.Fatalf("signed session read as %q", got)
	}
	// Rotation: the new key signs, the old one still verifies.
	rotated := opts
	rotated.Cookie.SigningKeys = [][]byte{newKey, oldKey}
	c2 := c.With(mw(rotated)(gaesessiontest.App))
	if got := get(t, c2, "/"); got != "a=1" {
		t.Fatalf("after rotation: %q", got)
	}
	for name, v := range map[string]string{
		"unsigned ID":   id,
		"forged":        id + "." + strings.Repeat("A", 43),
		"other session": "BBBBBBBBBBBBBBBBBBBBBBBB" + signed[len(id):],
	} {
		t.Run(name, func(t *testing.T) { rejectedFree(t, c, v) })
	}
}

func TestShortSigningKeyPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a 5-byte key")
		}
	}()
	gaesession.Middleware(gaesession.Options{Cookie: gaesession.CookieOptions{SigningKeys: [][]byte{[]byte("short")}}})
}

// unregistered is a type gob cannot encode inside an interface value.
type unregistered struct{ X int }

func TestUnsavableSessionIsReported(t *testing.T) {
	gaesessiontest.Start(t) // every subtest needs the dev server
	cases := []struct {
		name  string
		value any
		want  error
	}{
		{"type not registered with gob", unregistered{1}, store.ErrEncode},
		{"larger than Memcache allows", strings.Repeat("x", store.MaxSize), store.ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var errs []error
			opts, c := setup(t, gaesession.Options{ErrorFunc: func(w http.ResponseWriter, r *http.Request, err error) { errs = append(errs, err) }})
			get(t, c, "/?op=new&a=1")
			id := sessionID(t, c)
			h := mw(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := gaesession.From(r.Context()).Get(r)
				s.SetAttr("a", "2")
				s.SetAttr("bad", tc.value)
			}))
			c.With(h).Get("/")
			if len(errs) != 1 || !errors.Is(errs[0], tc.want) {
				t.Fatalf("ErrorFunc got %v, want one %v", errs, tc.want)
			}
			var se *store.Error
			if !errors.As(errs[0], &se) || se.Session != store.ShortID(id) || strings.Contains(errs[0].Error(), id) {
				t.Errorf("error %q should name the session by its short form only", errs[0])
			}
			if got := get(t, c, "/"); got != "a=1" {
				t.Errorf("stored session became %q, want the earlier version intact", got)
			}
		})
	}
}

func TestInvalidIDIsReported(t *testing.T) {
	var errs []error
	opts, _ := setup(t, gaesession.Options{ErrorFunc: func(w http.ResponseWriter, r *http.Request, err error) { errs = append(errs, err) }})
	h := mw(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gaesession.From(r.Context()).Add(session.NewSessionOptions(&session.SessOptions{IDLength: 300}), w)
	}))
	var rec rpcs
	res := httptest.NewRecorder()
	h.ServeHTTP(res, rec.wrap(gaesessiontest.NewRequest(t, "GET", "/", nil)))
	if len(errs) != 1 || !errors.Is(errs[0], gaesession.ErrInvalidID) || len(rec.take()) != 0 || len(res.Result().Cookies()) != 0 {
		t.Errorf("errors %v; want ErrInvalidID, no RPC and no cookie", errs)
	}
}

func TestLateCookieIsReported(t *testing.T) {
	var errs []error
	opts, _ := setup(t, gaesession.Options{ErrorFunc: func(w http.ResponseWriter, r *http.Request, err error) { errs = append(errs, err) }})
	h := mw(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello"))
		gaesession.From(r.Context()).Add(session.NewSession(), w)
	}))
	h.ServeHTTP(httptest.NewRecorder(), gaesessiontest.NewRequest(t, "GET", "/", nil))
	if len(errs) != 1 || !errors.Is(errs[0], gaesession.ErrCookieNotSet) {
		t.Errorf("errors %v, want ErrCookieNotSet", errs)
	}
}

func TestWriterKeepsFlusherAndHijacker(t *testing.T) {
	h := gaesession.Middleware(gaesession.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			t.Error("no http.Flusher")
		}
		if _, ok := w.(http.Hijacker); !ok {
			t.Error("no http.Hijacker")
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if !rec.Flushed {
		t.Error("flush did not reach the underlying writer")
	}
}

// TestHijackPassesThrough: a handler behind the middleware can take over
// the connection of a real server (WebSockets and the like).
func TestHijackPassesThrough(t *testing.T) {
	srv := httptest.NewServer(gaesession.Middleware(gaesession.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		buf.Flush()
	})))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if body := gaesessiontest.Body(t, res); body != "hijacked" {
		t.Errorf("body %q, want the hijacked connection's", body)
	}
}

// TestVaryCookie: the response of a request that read or wrote a session
// carries "Vary: Cookie" once, also when the handler wrote nothing or set
// Vary itself; one that touched no session does not.
func TestVaryCookie(t *testing.T) {
	opts, c := setup(t, gaesession.Options{})
	get(t, c, "/?op=new&a=1")
	for _, tc := range []struct {
		name  string
		h     http.HandlerFunc
		query string
		want  []string
	}{
		{"get", gaesessiontest.App.ServeHTTP, "/", []string{"Cookie"}},
		{"new session", gaesessiontest.App.ServeHTTP, "/?op=new&b=2", []string{"Cookie"}},
		{"no session touched", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) }, "/", nil},
		{"nothing written", func(w http.ResponseWriter, r *http.Request) { gaesession.From(r.Context()).Get(r) }, "/", []string{"Cookie"}},
		{"handler's own Vary", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Vary", "Accept")
			gaesessiontest.App.ServeHTTP(w, r)
		}, "/", []string{"Accept", "Cookie"}},
		{"already named", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Vary", "Accept, cookie")
			gaesessiontest.App.ServeHTTP(w, r)
		}, "/", []string{"Accept, cookie"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.With(mw(opts)(tc.h)).Get(tc.query)
			gaesessiontest.Body(t, res)
			if got := res.Header.Values("Vary"); !slices.Equal(got, tc.want) {
				t.Errorf("Vary %q, want %q", got, tc.want)
			}
		})
	}
}
