package gaesession_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// Tests that kill mutants that lived through the fast tests
// (scripts/mutation.sh), on the model of both tiers: no dev server.

// modelHandler serves /add (a new session), /renew and /remove (of the
// session the cookie names) with the middleware on a model of both tiers.
func modelHandler(t *testing.T, opts gaesession.Options) http.Handler {
	t.Helper()
	return onModel(t, opts, func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		switch r.URL.Path {
		case "/add":
			m.Add(session.NewSession(), w)
		case "/renew":
			if fresh, err := m.Renew(m.Get(r), w); fresh == nil || err != nil {
				t.Errorf("Renew = %v, %v; want a session", fresh, err)
			}
		case "/remove":
			m.Remove(m.Get(r), w)
		}
	})
}

// onModel returns h inside the middleware, on a model of both tiers.
func onModel(t *testing.T, opts gaesession.Options, h http.HandlerFunc) http.Handler {
	t.Helper()
	m := storetest.NewModel(storetest.ModelOptions{Memcache: true})
	opts.Store = store.Options{Cache: m.Cache(), Durable: m.Durable()}
	sessions := gaesession.New(opts)
	t.Cleanup(func() {
		if err := sessions.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return sessions.Handler(h)
}

// cookieOf serves a request to path with the cookie c (if not nil) and
// returns the session cookie the answer sets, failing the test if none.
func cookieOf(t *testing.T, h http.Handler, path string, c *http.Cookie) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if c != nil {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("%s: cookies %v, want one", path, cs)
	}
	return cs[0]
}

// TestCookieDefaultsAndRemoval: by default the cookie lasts 30 days and is
// SameSite Lax; Renew replaces it; Remove deletes it (Max-Age 0).
func TestCookieDefaultsAndRemoval(t *testing.T) {
	t.Parallel()
	h := modelHandler(t, gaesession.Options{})
	added := cookieOf(t, h, "/add", nil)
	if added.MaxAge != int(30*24*time.Hour/time.Second) || added.SameSite != http.SameSiteLaxMode || !added.Secure || !added.HttpOnly {
		t.Errorf("new cookie %v, want Max-Age 30 days, SameSite Lax, Secure, HttpOnly", added)
	}
	renewed := cookieOf(t, h, "/renew", added)
	if renewed.Value == "" || renewed.Value == added.Value || renewed.MaxAge <= 0 {
		t.Errorf("renewed cookie %v, want a new value that lasts", renewed)
	}
	removed := cookieOf(t, h, "/remove", renewed)
	if removed.MaxAge >= 0 || removed.Value != "" {
		t.Errorf("removal cookie %v, want Max-Age 0 (deleted)", removed)
	}
}

// TestKeyPrefixLimit: New takes the longest Store.KeyPrefix that leaves
// store.MinIDLen bytes of a Memcache key for the session ID (with HashIDs,
// those of a hashed ID), and panics on a longer one.
func TestKeyPrefixLimit(t *testing.T) {
	t.Parallel()
	hashed := len(store.HashID(""))
	for _, tc := range []struct {
		n       int
		hashIDs bool
		panic   bool
	}{
		{tier.MaxKeyLen - store.MinIDLen, false, false},
		{tier.MaxKeyLen - store.MinIDLen + 1, false, true},
		{tier.MaxKeyLen - hashed, true, false},
		{tier.MaxKeyLen - hashed + 1, true, true},
	} {
		func() {
			defer func() {
				if got := recover() != nil; got != tc.panic {
					t.Errorf("KeyPrefix of %d bytes: panic %v, want %v", tc.n, got, tc.panic)
				}
			}()
			opts := gaesession.Options{Store: store.Options{KeyPrefix: strings.Repeat("k", tc.n), HashIDs: tc.hashIDs}}
			s := gaesession.New(opts)
			if err := s.Shutdown(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
}

// TestGivenLoggerIsUsed: a request's Logger writes to Options.Logger.
func TestGivenLoggerIsUsed(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	sessions := gaesession.New(gaesession.Options{Logger: slog.New(slog.NewTextHandler(&buf, nil))})
	t.Cleanup(func() {
		if err := sessions.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	h := sessions.Handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		gaesession.From(r.Context()).Logger().Info("hello from the handler")
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if !strings.Contains(buf.String(), "hello from the handler") {
		t.Errorf("log %q, want the handler's line", buf.String())
	}
}

// TestResponseStartsAtItsFinalStatus: an explicit WriteHeader(200) starts
// the response (a session written before gets "Vary: Cookie"); an
// informational status (103 Early Hints) does not, so a session added
// after it still gets its cookie.
func TestResponseStartsAtItsFinalStatus(t *testing.T) {
	t.Parallel()
	t.Run("200", func(t *testing.T) {
		t.Parallel()
		h := onModel(t, gaesession.Options{}, func(w http.ResponseWriter, r *http.Request) {
			gaesession.From(r.Context()).Add(session.NewSession(), w)
			w.WriteHeader(http.StatusOK)
		})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
		if res := w.Result(); res.Header.Get("Vary") != "Cookie" || len(res.Cookies()) != 1 {
			t.Errorf("headers %v, want Vary: Cookie and the cookie", res.Header)
		}
	})
	t.Run("103", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(onModel(t, gaesession.Options{Cookie: gaesession.CookieOptions{AllowHTTP: true}},
			func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusEarlyHints)
				gaesession.From(r.Context()).Add(session.NewSession(), w)
				w.WriteHeader(http.StatusOK)
			}))
		defer srv.Close()
		res, err := srv.Client().Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || len(res.Cookies()) != 1 || res.Header.Get("Vary") != "Cookie" {
			t.Errorf("answer %d %v, want 200 with the cookie and Vary: Cookie", res.StatusCode, res.Header)
		}
	})
}
