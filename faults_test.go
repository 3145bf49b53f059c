package gaesession_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
)

// errLog collects what reaches ErrorFunc.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errLog) record() func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.errs = append(l.errs, err)
	}
}

func TestFaults(t *testing.T) {
	gaesessiontest.Start(t) // every subtest needs the dev server
	cases := []struct {
		name     string
		failing  []string
		want     []string // answers to: new a=1, read, set b=2, read
		reported []string // tiers reported
	}{
		{"memcache down", []string{"memcache"}, []string{"a=1", "a=1", "a=1,b=2", "a=1,b=2"}, []string{"memcache"}},
		{"datastore down", []string{"datastore_v3"}, []string{"a=1", "a=1", "a=1,b=2", "a=1,b=2"}, []string{"datastore"}},
		{"both down", []string{"memcache", "datastore_v3"}, []string{"a=1", "none", "none", "none"}, []string{"memcache", "datastore"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var log errLog
			_, c := setup(t, gaesession.Options{ErrorFunc: log.record()})
			rec := rpcs{fail: failService(tc.failing...)}
			for i, target := range []string{"/?op=new&a=1", "/", "/?op=set&b=2", "/"} {
				res, got := rec.do(t, c, target)
				if res.StatusCode != http.StatusOK || got != tc.want[i] {
					t.Errorf("%s: %d %q, want 200 %q", target, res.StatusCode, got, tc.want[i])
				}
			}
			for _, tier := range tc.reported {
				if log.countTier(tier) == 0 {
					t.Errorf("no %s failure reached ErrorFunc", tier)
				}
			}
			calls := rec.take()
			for _, f := range tc.failing {
				n := 0
				for _, c := range calls {
					if strings.HasPrefix(c, f+".") {
						n++
					}
				}
				if n > 40 {
					t.Errorf("%d calls to failing %s: retries are not bounded", n, f)
				}
			}
			if leaked := storeGoroutines(); leaked != "" {
				t.Errorf("goroutines left behind:\n%s", leaked)
			}
		})
	}
}

// all returns the errors reported so far.
func (l *errLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

// countTier counts the reported errors that concern the tier.
func (l *errLog) countTier(tier string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, err := range l.errs {
		var se *store.Error
		if errors.As(err, &se) && se.Tier == tier {
			n++
		}
	}
	return n
}

// storeGoroutines returns the stacks of goroutines still running store code.
func storeGoroutines() string {
	waitAll()
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "gaesession/store.") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// TestCanceledRequestStillWrites: when the client goes away before the
// handler returns (net/http cancels the request's context), the request's
// changes and its logout still land.
func TestCanceledRequestStillWrites(t *testing.T) {
	opts, c := setup(t, gaesession.Options{})
	var cancel context.CancelFunc
	gone := c.With(mw(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("op") == "remove" {
			m := gaesession.From(r.Context())
			sess := m.Get(r)
			cancel() // before the logout itself
			m.Remove(sess, w)
			return
		}
		gaesessiontest.App.ServeHTTP(w, r)
		cancel()
	})))
	do := func(target string) {
		r := gaesessiontest.NewRequest(t, http.MethodGet, target, nil)
		ctx, cc := context.WithCancel(r.Context())
		cancel = cc
		gaesessiontest.Body(t, gone.Do(r.WithContext(ctx)))
	}
	do("/?op=new&a=1")
	do("/?op=set&b=2")
	if got := get(t, c, "/"); got != "a=1,b=2" {
		t.Errorf("after canceled writes: %q, want a=1,b=2", got)
	}
	id := sessionID(t, c)
	do("/?op=remove")
	if item, ent := tiers(t, opts, id); item == nil || len(item.Value) != 0 || ent != nil {
		t.Errorf("after a canceled logout: Memcache %v, Datastore entity %v; want a tombstone and no entity", item, ent)
	}
}
