package gaesession_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/icza/session"
)

type workKey struct{}

// TestHooks: WorkContext starts once per request that uses its sessions,
// every tier call and Observe event of the request carries its context,
// and done comes once, after the write-back; a request that never asks for
// its session, or has no cookie, starts nothing. Observe hears what each
// read found and what became of each write, and a junk cookie.
func TestHooks(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		log []string
		n   int
	)
	add := func(ctx context.Context, what string) {
		mu.Lock()
		defer mu.Unlock()
		log = append(log, fmt.Sprintf("%s %v", what, ctx.Value(workKey{})))
	}
	take := func() []string {
		mu.Lock()
		defer mu.Unlock()
		l := log
		log = nil
		return l
	}
	m := storetest.NewModel(storetest.ModelOptions{Before: func(ctx context.Context, op, _ string) error {
		add(ctx, op)
		return nil
	}})
	sessions := gaesession.New(gaesession.Options{
		Store: store.Options{Cache: m.Cache(), Durable: m.Durable(), Observe: func(ctx context.Context, ev store.Event, _ int) {
			add(ctx, string(ev))
		}},
		WorkContext: func(ctx context.Context, _ *http.Request) (context.Context, func()) {
			mu.Lock()
			n++
			w := n
			mu.Unlock()
			ctx = context.WithValue(ctx, workKey{}, w)
			add(ctx, "start")
			return ctx, func() { add(ctx, "done") }
		},
	})
	c := gaesessiontest.NewClient(t, sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mgr := gaesession.From(r.Context())
		switch r.URL.Path {
		case "/new":
			mgr.Add(session.NewSession(), w)
		case "/set":
			if sess := mgr.Get(r); sess != nil {
				sess.SetAttr("a", r.URL.RawQuery)
			}
		}
	})))
	get := func(target string) {
		c.Do(httptest.NewRequest(http.MethodGet, gaesessiontest.BaseURL+target, nil))
	}
	steps := []struct {
		target string
		want   []string
	}{
		{"/other", nil},
		{"/set", nil}, // no cookie: nothing read
		{"/new", []string{"start 1", "durable.PutMulti 1", "cache.Add 1", "write.written 1", "done 1"}},
		// The first read of a new session reads the Durable tier too.
		{"/set?1", []string{"start 2", "cache.Get 2", "read.fallback 2", "durable.GetMulti 2", "cache.CompareAndSwap 2", "durable.PutMulti 2", "write.written 2", "done 2"}},
		{"/set?2", []string{"start 3", "cache.Get 3", "read.hit 3", "cache.CompareAndSwap 3", "durable.PutMulti 3", "write.written 3", "done 3"}},
	}
	for _, s := range steps {
		get(s.target)
		if got := take(); !slices.Equal(got, s.want) {
			t.Errorf("%s:\n got %q\nwant %q", s.target, got, s.want)
		}
	}
	junk := gaesessiontest.NewClient(t, c.Handler)
	u, err := url.Parse(gaesessiontest.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	junk.Jar.SetCookies(u, []*http.Cookie{{Name: "sessid", Value: "not an ID"}})
	junk.Do(httptest.NewRequest(http.MethodGet, gaesessiontest.BaseURL+"/set", nil))
	if got, want := take(), []string{"read.junk-cookie <nil>"}; !slices.Equal(got, want) {
		t.Errorf("junk cookie: got %q, want %q", got, want)
	}
}
