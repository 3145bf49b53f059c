package gaesession_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
	"google.golang.org/appengine/v2/datastore"
	"google.golang.org/appengine/v2/memcache"
)

func TestNewSessionCookie(t *testing.T) {
	_, c := setup(t, gaesession.Options{})
	res := c.Get("/?op=new&a=1")
	cookies := res.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("got %d cookies, want 1", len(cookies))
	}
	ck := cookies[0]
	if ck.Name != "sessid" || ck.Path != "/" || !ck.Secure || !ck.HttpOnly ||
		ck.SameSite != http.SameSiteLaxMode || ck.MaxAge != 30*24*3600 || ck.Domain != "" {
		t.Errorf("cookie = %+v", ck)
	}
	if len(ck.Value) != 24 {
		t.Errorf("cookie value has %d characters, want icza/session's 24", len(ck.Value))
	}
}

func TestCookieOptions(t *testing.T) {
	_, c := setup(t, gaesession.Options{Cookie: gaesession.CookieOptions{
		Name: "sid", Path: "/app", Domain: "example.test", MaxAge: time.Hour, AllowHTTP: true, SameSite: http.SameSiteStrictMode,
	}})
	ck := c.Get("/?op=new").Cookies()[0]
	if ck.Name != "sid" || ck.Path != "/app" || ck.Secure || ck.Domain != "example.test" ||
		ck.SameSite != http.SameSiteStrictMode || ck.MaxAge != 3600 || !ck.HttpOnly {
		t.Errorf("cookie = %+v", ck)
	}
}

func TestMemcacheFlushFallsBackToDatastore(t *testing.T) {
	opts, c := setup(t, gaesession.Options{})
	get(t, c, "/?op=new&a=1")
	id := sessionID(t, c)
	if err := memcache.Flush(gaesessiontest.Context(t)); err != nil {
		t.Fatal(err)
	}
	var rec rpcs
	if _, got := rec.do(t, c, "/"); got != "a=1" {
		t.Fatalf("after Memcache lost it: %q", got)
	}
	// The put-back is an Add, of an unconfirmed item, confirmed (CAS)
	// after a second Datastore read finds the session still live.
	want := []string{"datastore_v3.Get", "datastore_v3.Get", "memcache.Get", "memcache.Get", "memcache.Set", "memcache.Set"}
	if got := rec.take(); !slices.Equal(got, want) {
		t.Errorf("fallback read: RPCs %v, want %v", got, want)
	}
	if item, _ := tiers(t, opts, id); item == nil {
		t.Fatal("session not put back into Memcache")
	}
	if _, got := rec.do(t, c, "/?op=set&b=2"); got != "a=1,b=2" {
		t.Fatalf("set after fallback: %q", got)
	}
	if got, want := rec.take(), []string{"datastore_v3.Put", "memcache.Get", "memcache.Set"}; !slices.Equal(got, want) {
		t.Errorf("write after fallback: RPCs %v, want %v", got, want)
	}
	if _, ent := tiers(t, opts, id); ent == nil || gaesessiontest.Attrs(decoded(t, ent.Value)) != "a=1,b=2" {
		t.Error("change after fallback not in Datastore")
	}
}

func TestOnlyMemcache(t *testing.T) {
	opts, c := setup(t, gaesession.Options{Store: store.Options{OnlyMemcache: true}})
	get(t, c, "/?op=new&a=1")
	get(t, c, "/?op=set&b=2")
	item, ent := tiers(t, opts, sessionID(t, c))
	if item == nil || ent != nil {
		t.Errorf("memcache %v, datastore %v; want only memcache", item != nil, ent != nil)
	}
}

// TestSeedFormat reads a session written by icza/gaesession: a gob-encoded
// session in entity kind "sess_" with properties exp and val, and the same
// bytes in Memcache under KeyPrefix+ID.
func TestSeedFormat(t *testing.T) {
	opts, c := setup(t, gaesession.Options{Store: store.Options{DSEntityName: "sess_", KeyPrefix: "seed:"}})
	ctx := gaesessiontest.Context(t)
	sess := session.NewSession()
	sess.SetAttr("UserName", "gopher")
	b, err := memcache.Gob.Marshal(sess)
	if err != nil {
		t.Fatal(err)
	}
	key := datastore.NewKey(ctx, "sess_", sess.ID(), 0, nil)
	if _, err := datastore.Put(ctx, key, &storedEntity{Expires: sess.Accessed().Add(sess.Timeout()), Value: b}); err != nil {
		t.Fatal(err)
	}
	c.Jar.SetCookies(gaesessiontest.NewRequest(t, "GET", "/", nil).URL, []*http.Cookie{{Name: "sessid", Value: sess.ID()}})
	if got := get(t, c, "/?op=set&Count=1"); got != "Count=1,UserName=gopher" {
		t.Fatalf("seed session read as %q", got)
	}
	// What we wrote back is still readable by the seed's code path.
	item, ent := tiers(t, opts, sess.ID())
	if item == nil || ent == nil {
		t.Fatal("not written back to both tiers")
	}
	for _, v := range [][]byte{item.Value, ent.Value} {
		if got := gaesessiontest.Attrs(decoded(t, v)); got != "Count=1,UserName=gopher" {
			t.Errorf("stored %q", got)
		}
	}
}

func TestPanicDropsChangesAndPropagates(t *testing.T) {
	opts, c := setup(t, gaesession.Options{})
	get(t, c, "/?op=new&a=1")
	h := mw(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gaesession.From(r.Context()).Get(r).SetAttr("a", "changed")
		panic("boom")
	}))
	r := gaesessiontest.NewRequest(t, "GET", "/", nil)
	for _, ck := range c.Jar.Cookies(r.URL) {
		r.AddCookie(ck)
	}
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the handler's panic", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), r)
	}()
	if got := get(t, c, "/"); got != "a=1" {
		t.Errorf("after panic: %q, want the change dropped", got)
	}
}

func TestFromOutsideMiddleware(t *testing.T) {
	if m := gaesession.From(httptest.NewRequest("GET", "/", nil).Context()); m != nil {
		t.Errorf("From = %v, want nil", m)
	}
}

// TestRequestContext: the context the handler gets carries the Manager
// and the request context's values, deadline and cancellation, as
// context.WithValue would; contexts derived from it follow its
// cancellation.
func TestRequestContext(t *testing.T) {
	t.Parallel()
	type key struct{}
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
	deadline := time.Now().Add(time.Hour)
	parent, cancelDeadline := context.WithDeadline(parent, deadline)
	defer cancelDeadline()
	cause := errors.New("client went away")
	var checked bool
	h := gaesession.Middleware(gaesession.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if gaesession.From(ctx) == nil || ctx.Value(key{}) != "v" {
			t.Errorf("From = %v, parent's value = %v", gaesession.From(ctx), ctx.Value(key{}))
		}
		if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
			t.Errorf("Deadline = %v, %v, want %v", d, ok, deadline)
		}
		if s := fmt.Sprint(ctx); !strings.HasSuffix(s, ".WithValue(gaesession.Manager)") || !strings.Contains(s, "WithDeadline") {
			t.Errorf("String = %q", s)
		}
		child, stop := context.WithCancel(ctx)
		defer stop()
		after := make(chan struct{})
		context.AfterFunc(ctx, func() { close(after) })
		cancel(cause)
		<-child.Done()
		<-after
		if !errors.Is(ctx.Err(), context.Canceled) || context.Cause(ctx) != cause || context.Cause(child) != cause {
			t.Errorf("Err = %v, Cause = %v, child's Cause = %v", ctx.Err(), context.Cause(ctx), context.Cause(child))
		}
		checked = true
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil).WithContext(parent))
	if !checked {
		t.Fatal("handler not run")
	}
}

// TestNilManager: outside the middleware, every method but Logger panics
// with a message that names the fix.
func TestNilManager(t *testing.T) {
	t.Parallel()
	var m *gaesession.Manager
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	sess := session.NewSession()
	for name, call := range map[string]func(){
		"Get":    func() { m.Get(r) },
		"Add":    func() { m.Add(sess, w) },
		"Remove": func() { m.Remove(sess, w) },
		"Renew":  func() { _, _ = m.Renew(sess, w) },
		"Close":  func() { m.Close() },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, "wrap the handler with gaesession.Middleware") {
					t.Errorf("panic %q, want one that names gaesession.Middleware", msg)
				}
			}()
			call()
		})
	}
	if m.Logger() != slog.Default() {
		t.Error("nil Manager's Logger is not slog.Default()")
	}
}

func TestCloseIsIdempotent(t *testing.T) {
	var rec rpcs
	opts, _ := setup(t, gaesession.Options{})
	var calls int
	h := mw(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		m.Add(session.NewSession(), w)
		m.Close()
		calls = len(rec.take())
		m.Close()
	}))
	h.ServeHTTP(httptest.NewRecorder(), rec.wrap(gaesessiontest.NewRequest(t, "GET", "/", nil)))
	if calls != 2 || len(rec.take()) != 0 {
		t.Errorf("first Close made %d RPCs (want 2), later Closes must make none", calls)
	}
}

// TestErrorsCarryNoSessionID: failures, as ErrorFunc gets them and as the
// default logs them, name the session by its ShortID only.
func TestErrorsCarryNoSessionID(t *testing.T) {
	var log errLog
	var logged logBuffer
	opts, c := setup(t, gaesession.Options{ErrorFunc: log.record()})
	get(t, c, "/?op=new&a=1")
	id := sessionID(t, c)
	rec := rpcs{fail: failService("memcache", "datastore_v3")}
	rec.do(t, c, "/?op=set&b=2") // to ErrorFunc
	opts.ErrorFunc, opts.Logger = nil, logged.logger()
	rec.do(t, c.With(mw(opts)(gaesessiontest.App)), "/?op=set&b=2") // to the log
	errs := log.all()
	if len(errs) == 0 || !logged.contains("gaesession") {
		t.Fatalf("no failure reported (%d errors, log %q)", len(errs), logged.String())
	}
	for _, err := range append(errs, errors.New(logged.String())) {
		if strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), store.ShortID(id)) {
			t.Errorf("failure without the short ID or with the whole one: %q", err)
		}
	}
}

// TestCorruptMemcacheValueFallsBack: a Memcache value that does not decode
// (or belongs to another session) is reported and the session comes from
// Datastore, which then replaces the bad value in Memcache.
func TestCorruptMemcacheValueFallsBack(t *testing.T) {
	var errs []error
	opts, c := setup(t, gaesession.Options{ErrorFunc: func(w http.ResponseWriter, r *http.Request, err error) { errs = append(errs, err) }})
	get(t, c, "/?op=new&a=1")
	id := sessionID(t, c)
	other, _ := memcache.Gob.Marshal(session.NewSession())
	for name, v := range map[string][]byte{"garbage": []byte("\x07not gob"), "another session": other} {
		errs = nil
		if err := memcache.Set(gaesessiontest.Context(t), &memcache.Item{Key: opts.Store.KeyPrefix + id, Value: v}); err != nil {
			t.Fatal(err)
		}
		if got := get(t, c, "/"); got != "a=1" {
			t.Errorf("%s: read %q", name, got)
		}
		if len(errs) != 1 || !errors.Is(errs[0], store.ErrCorrupt) {
			t.Errorf("%s: reported %v, want ErrCorrupt", name, errs)
		}
		if item, _ := tiers(t, opts, id); item == nil || gaesessiontest.Attrs(decoded(t, item.Value)) != "a=1" {
			t.Errorf("%s: Memcache still holds the bad value", name)
		}
	}
}
