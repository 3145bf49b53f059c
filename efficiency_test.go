package gaesession_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"google.golang.org/appengine/v2/memcache"
)

func TestRPCCounts(t *testing.T) {
	_, c := setup(t, gaesession.Options{})
	var rec rpcs
	steps := []struct {
		name, target string
		want         []string
	}{
		{"no cookie", "/", nil},
		{"new session", "/?op=new&a=1", []string{"datastore_v3.Put", "memcache.Set"}},
		{"first read: vouched for against its record", "/", []string{"datastore_v3.Get", "memcache.Get", "memcache.Set"}},
		{"read only", "/", []string{"memcache.Get"}},
		{"read only again", "/", []string{"memcache.Get"}},
		{"write", "/?op=set&b=2", []string{"datastore_v3.Put", "memcache.Get", "memcache.Set"}},
		{"same value again is still a write", "/?op=set&b=2", []string{"datastore_v3.Put", "memcache.Get", "memcache.Set"}},
	}
	for _, s := range steps {
		rec.do(t, c, s.target)
		if got := rec.take(); !slices.Equal(got, s.want) {
			t.Errorf("%s: RPCs %v, want %v", s.name, got, s.want)
		}
	}
}

// TestRPCCountsStrictWrites: with StrictWrites a write's Datastore Put is
// a transaction (4 calls), followed by a memcache.Get; reads cost the same.
func TestRPCCountsStrictWrites(t *testing.T) {
	_, c := setup(t, gaesession.Options{Store: store.Options{StrictWrites: true}})
	var rec rpcs
	steps := []struct {
		name, target string
		want         []string
	}{
		{"new session", "/?op=new&a=1", []string{"datastore_v3.Put", "memcache.Set"}},
		{"first read", "/", []string{"datastore_v3.Get", "memcache.Get", "memcache.Set"}},
		{"read only", "/", []string{"memcache.Get"}},
		{"write", "/?op=set&b=2", []string{"datastore_v3.BeginTransaction", "datastore_v3.Commit", "datastore_v3.Get", "datastore_v3.Put", "memcache.Get", "memcache.Get", "memcache.Set"}},
	}
	for _, s := range steps {
		rec.do(t, c, s.target)
		if got := rec.take(); !slices.Equal(got, s.want) {
			t.Errorf("%s: RPCs %v, want %v", s.name, got, s.want)
		}
	}
}

// TestTouch: a read-only request writes the session back only when its
// stored access time is older than TouchInterval. The clock is placed
// relative to that stamp, so the time the requests take does not count.
func TestTouch(t *testing.T) {
	var clock storetest.Clock
	opts, c := setup(t, gaesession.Options{Store: store.Options{TouchInterval: time.Minute, Now: clock.Now}})
	get(t, c, "/?op=new&a=1")
	id := sessionID(t, c)
	_, before := tiers(t, opts, id)
	accessed := decoded(t, before.Value).Accessed()
	clock.Set(accessed)
	get(t, c, "/") // vouches for the new session
	var rec rpcs
	clock.Set(accessed.Add(59 * time.Second))
	rec.do(t, c, "/")
	if got := rec.take(); len(got) != 1 {
		t.Fatalf("read before TouchInterval: RPCs %v, want 1", got)
	}
	clock.Set(accessed.Add(time.Minute))
	rec.do(t, c, "/")
	if got := rec.take(); len(got) != 3 {
		t.Fatalf("touch RPCs %v, want Get, compare-and-swap and Put", got)
	}
	_, after := tiers(t, opts, id)
	if !after.Expires.After(before.Expires) {
		t.Errorf("touch did not extend expiry: %v -> %v", before.Expires, after.Expires)
	}
	touched := decoded(t, after.Value).Accessed() // the wall clock's time
	clock.Set(touched.Add(59 * time.Second))
	rec.do(t, c, "/")
	if got := rec.take(); len(got) != 1 {
		t.Errorf("read %v after a touch at %v: RPCs %v, want 1", 59*time.Second, touched, got)
	}
}

// TestAsyncDatastoreSave: the background backup lands although net/http
// cancels the request's context when the handler returns (Client does the
// same), so the session survives losing Memcache.
func TestAsyncDatastoreSave(t *testing.T) {
	_, c := setup(t, gaesession.Options{Store: store.Options{AsyncDatastoreSave: true}})
	get(t, c, "/?op=new&a=1")
	get(t, c, "/?op=set&b=2")
	waitAll()
	if err := memcache.Flush(gaesessiontest.Context(t)); err != nil {
		t.Fatal(err)
	}
	if got := get(t, c, "/"); got != "a=1,b=2" {
		t.Fatalf("after Memcache lost it: %q", got)
	}
}

// TestAsyncErrorIsLogged: a failed background write cannot reach the
// finished request's ErrorFunc; it is logged.
func TestAsyncErrorIsLogged(t *testing.T) {
	var logged logBuffer
	var called int
	opts, _ := setup(t, gaesession.Options{
		Store:     store.Options{AsyncDatastoreSave: true},
		Logger:    logged.logger(),
		ErrorFunc: func(w http.ResponseWriter, r *http.Request, err error) { called++ },
	})
	var rec rpcs
	c := gaesessiontest.NewClient(t, mw(opts)(gaesessiontest.App))
	rec.do(t, c, "/?op=new&a=1") // a new session's Put is in the request
	rec.do(t, c, "/")
	rec.fail = failService("datastore_v3")
	rec.do(t, c, "/?op=set&b=2")
	waitAll()
	if called != 0 || !logged.contains("err.op=save err.tier=datastore err.session=") {
		t.Errorf("ErrorFunc called %d times, log %q", called, logged.String())
	}
}

// TestNoSessionCostsLittle: a request that never asks for its session
// (static files, health checks) makes no RPC and allocates at most 2 times
// more than the bare handler: the request's Manager, response writer and
// context in one allocation, and the request that carries that context.
func TestNoSessionCostsLittle(t *testing.T) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	wrapped := gaesession.Middleware(gaesession.Options{})(bare)
	r := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	w := httptest.NewRecorder()
	base := testing.AllocsPerRun(100, func() { bare.ServeHTTP(w, r) })
	got := testing.AllocsPerRun(100, func() { wrapped.ServeHTTP(w, r) })
	t.Logf("%v allocations more than the bare handler", got-base)
	if got-base > 2 {
		t.Errorf("%v allocations more than the bare handler, want at most 2", got-base)
	}
}
