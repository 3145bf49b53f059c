package cloud_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
)

// Expiry and revocation through the middleware on the cloud backend, with
// Redis and the Datastore and in Datastore-only mode. Time passes on a test
// clock (store.Options.Now), not by sleeping.

// modes are the two ways to run on the cloud backend.
var modes = []struct {
	name string
	env  func(testing.TB, gaesession.Options) *env
}{{"RedisDatastore", newEnv}, {"ClusterDatastore", newClusterEnv}, {"DatastoreOnly", newDatastoreOnlyEnv}}

// testClock is the wall clock plus an offset a test moves: icza/session
// stamps Created and Accessed with the wall clock, so moving it forward
// ages the stored sessions.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// errSink collects what the middleware sends to ErrorFunc; at the end of
// the test it must be empty (take empties it).
type errSink chan error

func newErrSink(t testing.TB) errSink {
	errs := make(errSink, 100)
	t.Cleanup(func() {
		if len(errs) > 0 {
			t.Errorf("ErrorFunc got %v", errs.take())
		}
	})
	return errs
}

func (l errSink) add(_ http.ResponseWriter, _ *http.Request, err error) {
	select {
	case l <- err:
	default: // full: already a failure
	}
}

func (l errSink) take() (errs []error) {
	for len(l) > 0 {
		errs = append(errs, <-l)
	}
	return errs
}

// users is app's sibling for timeouts and users, driven by op: new (with
// a=1 and the given timeout), login (as "gopher"), devices (the handles,
// "*" marking the current one), revoke&h=handle, revokeall. It answers the
// result, or the session's handle if bound, else its attributes or "none".
var users = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	m := gaesession.From(r.Context())
	q := r.URL.Query()
	sess := m.Get(r)
	var (
		out any
		err error
	)
	switch q.Get("op") {
	case "new":
		timeout, _ := time.ParseDuration(q.Get("timeout"))
		sess = session.NewSessionOptions(&session.SessOptions{Timeout: timeout, Attrs: map[string]any{"a": "1"}})
		m.Add(sess, w)
	case "login":
		sess, err = m.Login(sess, w, "gopher", gaesession.LoginOptions{})
	case "devices":
		devs, derr := m.Devices(sess)
		var l []string
		for _, d := range devs {
			if d.Current {
				d.Handle = "*" + d.Handle
			}
			l = append(l, d.Handle)
		}
		out, err = strings.Join(l, ","), derr
	case "revoke":
		out, err = m.Revoke(sess, q.Get("h"))
	case "revokeall":
		out, err = "revoked", m.RevokeAll(sess, w, false)
	}
	switch h, bound := gaesession.Attr[string](sess, store.AttrHandle); {
	case err == store.ErrNoIndex: // exactly, not wrapped
		fmt.Fprint(w, "ErrNoIndex")
	case err != nil:
		fmt.Fprint(w, "error: ", err)
	case out != nil:
		fmt.Fprint(w, out)
	case bound:
		fmt.Fprint(w, h)
	default:
		fmt.Fprint(w, attrs(sess))
	}
})

// client returns another browser of e's app: its own cookie jar.
func (e *env) client() *env {
	c := *e
	c.jar, _ = cookiejar.New(nil)
	return &c
}

// hasCookie reports whether the jar holds a session cookie.
func (e *env) hasCookie() bool {
	u, _ := url.Parse(baseURL)
	return len(e.jar.Cookies(u)) > 0
}

// TestExpiry: a session of a one-minute timeout lives 30 s, not 61; one
// of the default 30 minutes under a MaxLifetime of 10 lives 9 minutes (that
// request touches it), not 10.
func TestExpiry(t *testing.T) {
	t.Parallel()
	for _, mode := range modes {
		for _, c := range []struct {
			name, start        string
			life, alive, ended time.Duration
		}{
			{"Timeout", "/?op=new&timeout=1m", 0, 30 * time.Second, 61 * time.Second},
			{"MaxLifetime", "/?op=new", 10 * time.Minute, 9 * time.Minute, 10 * time.Minute},
		} {
			t.Run(mode.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				var clock testClock
				errs := newErrSink(t)
				e := mode.env(t, gaesession.Options{Store: store.Options{Now: clock.now, MaxLifetime: c.life},
					ErrorFunc: errs.add})
				h := e.sess.Handler(users)
				if got := e.do(h, c.start); got != "a=1" {
					t.Fatalf("new session: %q", got)
				}
				clock.advance(c.alive)
				if got := e.do(h, "/"); got != "a=1" {
					t.Fatalf("after %v: %q", c.alive, got)
				}
				clock.advance(c.ended - c.alive)
				if got := e.do(h, "/"); got != "none" {
					t.Errorf("after %v: %q, want none", c.ended, got)
				}
			})
		}
	}
}

func TestRevoke(t *testing.T) {
	t.Parallel()
	for _, r := range redisEnvs {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			errs := newErrSink(t)
			a := r.env(t, gaesession.Options{ErrorFunc: errs.add})
			b := a.client()
			h := a.sess.Handler(users)
			ha, hb := a.do(h, "/?op=login"), b.do(h, "/?op=login")
			devs := a.do(h, "/?op=devices")
			if l := strings.Split(devs, ","); len(l) != 2 || strings.Count(devs, "*") != 1 ||
				!strings.Contains(devs, "*"+ha) || !strings.Contains(devs, hb) {
				t.Fatalf("devices of %s (current) and %s: %q", ha, hb, devs)
			}
			bid := b.id()
			if got := a.do(h, "/?op=revoke&h="+hb); got != "true" {
				t.Fatalf("revoke: %q", got)
			}
			if got := b.do(h, "/"); got != "none" {
				t.Errorf("revoked session: %q", got)
			}
			if n, err := a.rdb.Del(context.Background(), a.opts.Store.KeyPrefix+bid).Result(); err != nil || n != 1 {
				t.Fatalf("evicting the revoked session's key: %d, %v", n, err) // its tombstone
			}
			b.setID(bid)
			if got := b.do(h, "/"); got != "none" {
				t.Errorf("revoked session after eviction: %q", got)
			}
			if got := a.do(h, "/"); got != ha {
				t.Errorf("the revoking session: %q, want %s", got, ha)
			}

			b.do(h, "/?op=login")
			aid := a.id()
			if got := a.do(h, "/?op=revokeall"); got != "revoked" {
				t.Fatalf("revoke all: %q", got)
			}
			if a.hasCookie() {
				t.Error("RevokeAll kept the cookie")
			}
			a.setID(aid)
			for name, c := range map[string]*env{"current": a, "other": b} {
				if got := c.do(h, "/"); got != "none" {
					t.Errorf("%s session after RevokeAll: %q", name, got)
				}
			}
			if devs, err := a.sess.List(context.Background(), "gopher"); err != nil || len(devs) != 0 {
				t.Errorf("after RevokeAll the user has %v, %v", devs, err)
			}
		})
	}
}

// TestDatastoreOnlyLogin: without the Durable tier there is no per-user
// index; Login fails with store.ErrNoIndex, reported once.
func TestDatastoreOnlyLogin(t *testing.T) {
	t.Parallel()
	errs := newErrSink(t)
	e := newDatastoreOnlyEnv(t, gaesession.Options{ErrorFunc: errs.add})
	if got := e.do(e.sess.Handler(users), "/?op=login"); got != "ErrNoIndex" {
		t.Errorf("Login in Datastore-only mode: %q, want ErrNoIndex", got)
	}
	if e.hasCookie() {
		t.Error("a failed Login set a cookie")
	}
	got := errs.take()
	var se *store.Error
	if len(got) != 1 || !errors.As(got[0], &se) || se.Op != "login" || se.Err != store.ErrNoIndex {
		t.Errorf("ErrorFunc got %v, want one login failure with ErrNoIndex", got)
	}
}
