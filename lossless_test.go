package gaesession_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gaesession/gaesession/gaesessiontest"
	"google.golang.org/appengine/v2/memcache"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
)

// TestRenewWithConcurrentSetAttr: goroutines of the request set attributes
// while Renew copies the session and while it is written back; the race
// detector must stay quiet and nothing crashes.
func TestRenewWithConcurrentSetAttr(t *testing.T) {
	opts, c := setup(t, gaesession.Options{Logger: (&logBuffer{}).logger()})
	get(t, c, "/?op=new&a=1")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	h := mw(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		sess := m.Get(r)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					sess.SetAttr(fmt.Sprintf("g%d_%d", g, i%50), i)
				}
			}()
		}
		if _, err := m.Renew(sess, w); err != nil {
			t.Error(err)
		}
	}))
	c.With(h).Get("/")
	close(stop)
	wg.Wait()
	if got := get(t, c, "/"); !strings.HasPrefix(got, "a=1") {
		t.Errorf("renewed session %q", got)
	}
}

// TestSecondRenewIsToldRenewed: of two requests that loaded one session
// and both Renew it, the one that comes second is told store.ErrRenewed
// (another request renewed it), not ErrGone, and gets no session.
func TestSecondRenewIsToldRenewed(t *testing.T) {
	var errs errLog
	opts, c := setup(t, gaesession.Options{ErrorFunc: errs.record()})
	get(t, c, "/?op=new&a=1")
	var lost error
	second := hold(t, opts, c, func(m *gaesession.Manager, sess session.Session, w http.ResponseWriter) {
		fresh, err := m.Renew(sess, w)
		if fresh != nil {
			t.Error("the second Renew returned a session")
		}
		lost = err
	})
	get(t, c, "/?op=renew")
	second()
	if !errors.Is(lost, store.ErrRenewed) || errors.Is(lost, store.ErrGone) {
		t.Errorf("second Renew: %v, want store.ErrRenewed", lost)
	}
	if len(errs.errs) != 1 || !errors.Is(errs.errs[0], store.ErrRenewed) {
		t.Errorf("reported %v, want one ErrRenewed", errs.errs)
	}
	if got := get(t, c, "/"); got != "a=1" {
		t.Errorf("the first Renew's session reads %q", got)
	}
}

// TestFailedTombstone: when the tombstone cannot be written, the session is
// deleted from Memcache instead; when that fails too, Remove reports that
// the session may still be readable and Renew fails, once.
func TestFailedTombstone(t *testing.T) {
	gaesessiontest.Start(t) // every subtest needs the dev server
	failSet := func(service, method string) error {
		if service == "memcache" && method == "Set" {
			return errors.New("injected memcache.Set failure")
		}
		return nil
	}
	failBoth := func(service, method string) error {
		if service == "memcache" && (method == "Set" || method == "Delete") {
			return errors.New("injected memcache failure")
		}
		return nil
	}
	t.Run("remove, delete instead", func(t *testing.T) {
		var errs errLog
		opts, c := setup(t, gaesession.Options{ErrorFunc: errs.record()})
		get(t, c, "/?op=new&a=1")
		id := sessionID(t, c)
		rec := rpcs{fail: failSet}
		rec.do(t, c, "/?op=remove")
		if cache, ds := both(t, opts, id); cache != "gone" || ds != "gone" {
			t.Errorf("Memcache %s, Datastore %s", cache, ds)
		}
		// Deleted, but a request that read it from the Datastore just
		// before could put it back: that is reported.
		if len(errs.errs) != 1 || !errors.Is(errs.errs[0], store.ErrStillReadable) {
			t.Errorf("errors %v, want one ErrStillReadable", errs.errs)
		}
	})
	t.Run("remove, nothing works", func(t *testing.T) {
		var errs errLog
		_, c := setup(t, gaesession.Options{ErrorFunc: errs.record()})
		get(t, c, "/?op=new&a=1")
		rec := rpcs{fail: failBoth}
		rec.do(t, c, "/?op=remove")
		if len(errs.errs) != 1 || !errors.Is(errs.errs[0], store.ErrStillReadable) {
			t.Errorf("errors %v, want one ErrStillReadable", errs.errs)
		}
	})
	t.Run("renew fails", func(t *testing.T) {
		var errs errLog
		_, c := setup(t, gaesession.Options{ErrorFunc: errs.record()})
		get(t, c, "/?op=new&a=1")
		rec := rpcs{fail: func(service, method string) error {
			if service == "memcache" {
				return errors.New("injected memcache failure")
			}
			return nil
		}}
		res, _ := rec.do(t, c, "/?op=renew")
		var renewErrs []error
		for _, err := range errs.errs {
			if se := (*store.Error)(nil); errors.As(err, &se) && se.Op == "renew" {
				renewErrs = append(renewErrs, err)
			}
		}
		if len(renewErrs) != 1 {
			t.Errorf("renew errors %v, want one", renewErrs)
		}
		if len(res.Cookies()) != 0 {
			t.Errorf("a failed Renew set cookies %v", res.Cookies())
		}
		if got := get(t, c, "/"); got != "a=1" {
			t.Errorf("after a failed Renew the session reads %q, want it unchanged", got)
		}
	})
}

// TestBackgroundWritesAreBounded: with Datastore Puts held, at most
// MaxBackground writes wait in the background; the next one runs in its
// request. Shutdown waits for them, or gives up when its context ends.
func TestBackgroundWritesAreBounded(t *testing.T) {
	opts, c := setup(t, gaesession.Options{Store: store.Options{AsyncDatastoreSave: true, MaxBackground: 2}})
	s := gaesession.New(opts)
	get(t, c, "/?op=new&a=1")
	c = c.With(s.Handler(gaesessiontest.App))
	release, entered := make(chan struct{}), make(chan struct{}, 100)
	rec := rpcs{fail: func(service, method string) error {
		if service == "datastore_v3" && method == "Put" {
			entered <- struct{}{}
			<-release
		}
		return nil
	}}
	for i := range 2 {
		rec.do(t, c, fmt.Sprintf("/?op=set&k%d=1", i)) // returns: its Put is in the background
	}
	third := make(chan struct{})
	go func() { defer close(third); rec.do(t, c, "/?op=set&k2=1") }()
	for range 3 {
		<-entered // two background Puts and the third request's own
	}
	select {
	case <-third:
		t.Error("a third write went to the background past MaxBackground")
	default:
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Shutdown with writes held: %v, want context.Canceled", err)
	}
	close(release)
	<-third
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := get(t, c, "/"); got != "a=1,k0=1,k1=1,k2=1" {
		t.Errorf("session %q", got)
	}
}

// TestJunkCookieDoesNotShadow: a malformed or forged cookie of the same
// name before the real one (a sibling subdomain can plant it) is skipped.
func TestJunkCookieDoesNotShadow(t *testing.T) {
	opts, c := setup(t, gaesession.Options{})
	get(t, c, "/?op=new&a=1")
	id := sessionID(t, c)
	h := mw(opts)(gaesessiontest.App)
	for _, junk := range []string{"junk", strings.Repeat("A", 24)} {
		r := gaesessiontest.NewRequest(t, http.MethodGet, "/", nil)
		r.Header.Set("Cookie", "sessid="+junk+"; sessid="+id)
		res := httptest.NewRecorder()
		h.ServeHTTP(res, r)
		if got := res.Body.String(); got != "a=1" {
			t.Errorf("with sessid=%s first: %q, want a=1", junk, got)
		}
	}
}

// TestHostPrefixRules: a __Host- cookie name with a Domain, another Path or
// AllowHTTP makes Middleware panic; with the defaults it works.
func TestHostPrefixRules(t *testing.T) {
	for name, co := range map[string]gaesession.CookieOptions{
		"domain":    {Name: "__Host-s", Domain: "example.com"},
		"path":      {Name: "__Host-s", Path: "/app"},
		"allowHTTP": {Name: "__Host-s", AllowHTTP: true},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "__Host-") {
					t.Errorf("panic %v, want one about __Host-", p)
				}
			}()
			gaesession.Middleware(gaesession.Options{Cookie: co})
		})
	}
	gaesession.Middleware(gaesession.Options{Cookie: gaesession.CookieOptions{Name: "__Host-s"}})
}

// TestSetAttrAfterHandlerIsLogged: a goroutine that outlives the handler and
// sets an attribute is told, in the log, that nothing was saved; the log
// names the session by its short ID only.
func TestSetAttrAfterHandlerIsLogged(t *testing.T) {
	var logged logBuffer
	opts, c := setup(t, gaesession.Options{Logger: logged.logger()})
	get(t, c, "/?op=new&a=1")
	id := sessionID(t, c)
	var late session.Session
	c.With(mw(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		late = gaesession.From(r.Context()).Get(r)
	}))).Get("/")
	late.SetAttr("b", "2")
	if !logged.contains("level=ERROR") || !logged.contains(store.ShortID(id)) || !logged.contains(store.ErrClosed.Error()) || logged.contains(id) {
		t.Errorf("log %q", logged.String())
	}
	if got := get(t, c, "/"); got != "a=1" {
		t.Errorf("session %q", got)
	}
}

// TestMaxSizeEdge: a session that encodes to exactly store.MaxSize bytes is
// stored in both tiers and read back; one byte more is reported as
// ErrTooLarge and leaves the stored version intact.
func TestMaxSizeEdge(t *testing.T) {
	gaesessiontest.Start(t) // every subtest needs the dev server
	for _, extra := range []int{0, 1} {
		t.Run(fmt.Sprint("MaxSize+", extra), func(t *testing.T) {
			var errs errLog
			opts, c := setup(t, gaesession.Options{ErrorFunc: errs.record()})
			get(t, c, "/?op=new&a=1")
			id := sessionID(t, c)
			finish := hold(t, opts, c, func(m *gaesession.Manager, sess session.Session, w http.ResponseWriter) {
				sess.SetAttr("big", sized(t, sess, store.MaxSize+extra))
			})
			finish()
			item, ent := tiers(t, opts, id)
			if extra == 0 {
				if len(errs.errs) != 0 || item == nil || ent == nil || len(item.Value) != store.MaxSize || len(ent.Value) != store.MaxSize {
					t.Fatalf("errors %v; want %d bytes in both tiers", errs.errs, store.MaxSize)
				}
				if got := get(t, c, "/"); !strings.HasPrefix(got, "a=1,big=") {
					t.Errorf("read back %.20q", got)
				}
				return
			}
			if len(errs.errs) != 1 || !errors.Is(errs.errs[0], store.ErrTooLarge) {
				t.Errorf("errors %v, want ErrTooLarge", errs.errs)
			}
			if got := get(t, c, "/"); got != "a=1" {
				t.Errorf("stored session %.20q, want a=1 intact", got)
			}
		})
	}
}

// sized returns a string that makes sess, with it as attribute "big",
// encode with gob to exactly n bytes.
func sized(t *testing.T, sess session.Session, n int) string {
	t.Helper()
	probe := session.NewSessionOptions(&session.SessOptions{Attrs: sess.Attrs(), Timeout: sess.Timeout()})
	// The save stamps its write ID, 12 characters, and records it as the
	// setter of "big".
	wid := strings.Repeat("w", 12)
	ids, _ := probe.Attr(store.AttrWrites).(string)
	probe.SetAttr(store.AttrWrites, strings.TrimSpace(ids+" "+wid))
	by := map[string]string{}
	if s, ok := probe.Attr(store.AttrSetBy).(string); ok {
		_ = json.Unmarshal([]byte(s), &by)
	}
	by["big"] = wid
	b, _ := json.Marshal(by)
	probe.SetAttr(store.AttrSetBy, string(b))
	pad := n - 100
	for range 10 {
		probe.SetAttr("big", strings.Repeat("x", pad))
		b, err := memcache.Gob.Marshal(probe)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == n {
			return strings.Repeat("x", pad)
		}
		pad += n - len(b)
	}
	t.Fatalf("no padding gives %d bytes", n)
	return ""
}
