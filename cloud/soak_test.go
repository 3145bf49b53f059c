package cloud_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/cloud/cloudtest"
	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
	"github.com/redis/go-redis/v9"
)

// soakCookie is the session cookie's name (CookieOptions' default).
const soakCookie = "sessid"

var (
	soakFor    = flag.Duration("soak", 0, "run TestSoak this long (0 skips it; .ci/run gives it 2m)")
	soakStrict = flag.Bool("soak.strictwrites", true, "TestSoak runs with store.Options.StrictWrites, and fails on a lost write too, not only on an ended session read again")
)

// TestSoak runs browsers of a few users against a real redis-server and
// the Datastore emulator while Redis is flushed, killed and restarted, or
// paused, every few hundred requests. Its oracle checks that no cookie read
// again after its logout, or after a log out everywhere that began after
// its login, and counts completed writes a later read of the same browser
// does not see (a write is completed when its response came and the store
// reported no failure for its request). It fails on a session read again;
// with StrictWrites (-soak.strictwrites, the default), on a lost write too.
func TestSoak(t *testing.T) {
	if *soakFor == 0 {
		t.Skip("run with -soak=2m (or longer)")
	}
	servers(t)
	ctx := context.Background()
	rs, err := cloudtest.StartRedis(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := &soakRedis{s: rs, admin: redis.NewClient(&redis.Options{Addr: rs.Addr})}
	defer func() { r.s.Stop() }()
	defer r.admin.Close()
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond, MaxRetries: -1})
	defer rc.Close()
	kind := newKind()
	w := &soakWorld{failed: map[string]bool{}, ended: map[string]bool{}}
	sessions := gaesession.New(gaesession.Options{
		Store:     store.Options{Cache: cloud.Redis(rc), Durable: cloud.Datastore(dsc, kind), KeyPrefix: kind + ":", StrictWrites: *soakStrict},
		Cookie:    gaesession.CookieOptions{AllowHTTP: true},
		ErrorFunc: func(_ http.ResponseWriter, r *http.Request, _ error) { w.fail(r.Header.Get("X-Soak")) },
	})
	srv := httptest.NewServer(sessions.Handler(soakApp()))
	defer srv.Close()
	defer func() { _ = sessions.Shutdown(context.Background()) }()

	const browsers, users = 20, 5
	stop := time.Now().Add(*soakFor)
	var wg sync.WaitGroup
	for i := range browsers {
		b := &soakBrowser{w: w, url: srv.URL, user: fmt.Sprintf("u%d", i%users), id: i, rng: rand.New(rand.NewPCG(uint64(i), 7))}
		b.c = &http.Client{Jar: mustJar(t)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				b.step()
				if n := w.requests.Add(1); n%400 == 0 {
					w.fault(t, r, int(n/400))
				}
			}
		}()
	}
	wg.Wait()
	w.probe(srv.URL)
	t.Logf("soak: %v, StrictWrites %v, %d requests, %d completed writes, %d faults (%s), %d lost writes (%d of them beside another write), %d ended sessions read again, %d probes of ended cookies",
		*soakFor, *soakStrict, w.requests.Load(), w.writes.Load(), w.faults.Load(), w.faultKinds(), w.lost.Load(), w.lostPaired.Load(), w.revived.Load(), w.probes.Load())
	if w.revived.Load() > 0 {
		t.Errorf("%d ended sessions read again", w.revived.Load())
	}
	if *soakStrict && w.lost.Load() > 0 {
		t.Errorf("%d completed writes lost", w.lost.Load())
	}
}

// soakApp is the app under test: set an attribute, read them all, log in,
// log out, log out everywhere.
func soakApp() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		sess := m.Get(r)
		q := r.URL.Query()
		switch r.URL.Path {
		case "/set":
			if sess == nil {
				sess = session.NewSession()
				m.Add(sess, w)
			}
			v, _ := strconv.Atoi(q.Get("v"))
			sess.SetAttr(q.Get("k"), v)
		case "/get":
			if sess == nil {
				fmt.Fprint(w, "none")
				return
			}
			for k, v := range sess.Attrs() {
				if strings.HasPrefix(k, "k") {
					fmt.Fprintf(w, "%s=%d ", k, v)
				}
			}
			return
		case "/login":
			if _, err := m.Login(sess, w, q.Get("user"), gaesession.LoginOptions{}); err != nil {
				http.Error(w, "login failed", http.StatusServiceUnavailable)
				return
			}
		case "/logout":
			if sess != nil {
				m.Remove(sess, w)
			}
		case "/everywhere":
			if sess == nil {
				http.Error(w, "no session", http.StatusBadRequest)
				return
			}
			if err := m.LogoutEverywhere(sess, w); err != nil {
				http.Error(w, "failed", http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprint(w, "ok")
	})
}

// soakWorld is what the oracle knows.
type soakWorld struct {
	requests, writes, faults, lost, revived, probes atomic.Int64
	lostPaired                                      atomic.Int64 // lost writes made beside another of the browser
	seq                                             atomic.Int64 // request IDs

	mu      sync.Mutex
	failed  map[string]bool // request IDs the store reported a failure for
	ended   map[string]bool // cookie values that must read nothing
	kinds   map[string]int
	logins  map[string]map[string]int64 // user: cookie value: the seq its login completed at
	running map[string]int              // user: logs out everywhere in flight
	lastEnd map[string]int64            // user: the seq the latest log out everywhere ended at
}

func (w *soakWorld) fail(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failed[id] = true
}

func (w *soakWorld) hasFailed(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed[id]
}

func (w *soakWorld) end(cookie string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ended[cookie] = true
}

// loggedIn records a completed login of user with the given cookie.
func (w *soakWorld) loggedIn(user, cookie string, at int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.logins == nil {
		w.logins = map[string]map[string]int64{}
	}
	if w.logins[user] == nil {
		w.logins[user] = map[string]int64{}
	}
	w.logins[user][cookie] = at
}

// everywhereBegins notes that a log out everywhere of user began.
func (w *soakWorld) everywhereBegins(user string) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running == nil {
		w.running, w.lastEnd = map[string]int{}, map[string]int64{}
	}
	w.running[user]++
	return w.seq.Add(1)
}

// everywhereEnds notes that a log out everywhere of user ended.
func (w *soakWorld) everywhereEnds(user string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.running[user]--
	w.lastEnd[user] = w.seq.Add(1)
}

// everywhereDone ends every session of user whose login completed before
// the log out everywhere that began at seq began.
func (w *soakWorld) everywhereDone(user string, began int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for cookie, at := range w.logins[user] {
		if at < began {
			w.ended[cookie] = true
			delete(w.logins[user], cookie)
		}
	}
}

// revokedSince reports whether a log out everywhere of user may have
// ended a session whose login began at seq: one ended after that, or is
// still running.
func (w *soakWorld) revokedSince(user string, seq int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.running[user] > 0 || w.lastEnd[user] > seq
}

// probe reads every ended cookie once more: each must find no session.
func (w *soakWorld) probe(url string) {
	w.mu.Lock()
	var cookies []string
	for c := range w.ended {
		cookies = append(cookies, c)
	}
	w.mu.Unlock()
	for _, c := range cookies {
		w.read(url, c)
	}
}

// soakRedis is the soak's redis-server, which faults stop and restart.
type soakRedis struct {
	mu    sync.Mutex
	s     *cloudtest.Server
	admin *redis.Client
}

// probeOne reads a random ended cookie: it must find no session.
func (w *soakWorld) probeOne(url string, rng *rand.Rand) {
	w.mu.Lock()
	var cookie string
	if n := len(w.ended); n > 0 {
		i := rng.IntN(n)
		for c := range w.ended {
			if i == 0 {
				cookie = c
				break
			}
			i--
		}
	}
	w.mu.Unlock()
	if cookie != "" {
		w.read(url, cookie)
	}
}

// read reads an ended cookie, counting a session found.
func (w *soakWorld) read(url, cookie string) {
	req, _ := http.NewRequest(http.MethodGet, url+"/get", nil)
	req.AddCookie(&http.Cookie{Name: soakCookie, Value: cookie})
	body, err := do(http.DefaultClient, req)
	w.probes.Add(1)
	if err == nil && body != "none" {
		w.revived.Add(1)
	}
}

// fault flushes Redis, stops and restarts it empty, or pauses it.
func (w *soakWorld) fault(t *testing.T, r *soakRedis, n int) {
	kind := []string{"flush", "restart", "pause"}[n%3]
	ctx := context.Background()
	r.mu.Lock()
	defer r.mu.Unlock()
	switch kind {
	case "flush":
		_ = r.admin.FlushAll(ctx).Err()
	case "restart":
		r.s.Stop()
		s, err := cloudtest.RestartRedis(ctx, r.s)
		if err != nil {
			t.Errorf("restarting Redis: %v", err)
			return
		}
		r.s = s
	case "pause":
		_ = r.admin.Do(ctx, "CLIENT", "PAUSE", "500", "ALL").Err()
	}
	w.faults.Add(1)
	w.mu.Lock()
	if w.kinds == nil {
		w.kinds = map[string]int{}
	}
	w.kinds[kind]++
	w.mu.Unlock()
}

func (w *soakWorld) faultKinds() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("flush %d, restart %d, pause %d", w.kinds["flush"], w.kinds["restart"], w.kinds["pause"])
}

// soakBrowser is one browser: its cookie jar, its user, and the values of
// its completed writes.
type soakBrowser struct {
	w    *soakWorld
	c    *http.Client
	url  string
	user string
	id   int
	rng  *rand.Rand

	v       int             // the last value written
	done    map[string]int  // attribute: the value of its latest completed write
	paired  map[string]bool // attribute: its latest completed write ran beside another
	session string          // the cookie the values belong to
	login   int64           // the seq its login began at; 0: not logged in
}

// step runs one action: mostly writes and reads, sometimes two concurrent
// writes, a login, a logout, or a log out everywhere.
func (b *soakBrowser) step() {
	switch n := b.rng.IntN(100); {
	case n < 45:
		b.set(fmt.Sprintf("k%d", b.rng.IntN(4)), false)
	case n < 50:
		if b.session == "" {
			b.set("k0", false)
			return
		}
		var wg sync.WaitGroup
		for _, k := range []string{"k0", "k1"} {
			wg.Add(1)
			go func() { defer wg.Done(); b.set(k, true) }()
		}
		wg.Wait()
	case n < 85:
		b.get()
	case n < 93:
		began := b.w.seq.Add(1)
		_, ok := b.call("/login?user=" + b.user)
		b.reset()
		if ok {
			b.login = began
			b.w.loggedIn(b.user, b.session, b.w.seq.Add(1))
		}
	case n < 98:
		old := b.cookie()
		if _, ok := b.call("/logout"); ok && old != "" {
			b.w.end(old)
		}
		b.reset()
	default:
		if b.login == 0 {
			return
		}
		began := b.w.everywhereBegins(b.user)
		if _, ok := b.call("/everywhere"); ok {
			b.w.everywhereDone(b.user, began)
		}
		b.w.everywhereEnds(b.user)
		b.reset()
	}
	if b.id == 0 && b.rng.IntN(5) == 0 {
		b.w.probeOne(b.url, b.rng)
	}
}

// reset starts the browser's record over, for the cookie it now holds
// (after a failed login or logout too: the session may have changed).
func (b *soakBrowser) reset() {
	b.session, b.done, b.login = b.cookie(), map[string]int{}, 0
}

// set writes a new value to attribute k; pair says another write of the
// browser runs beside it.
func (b *soakBrowser) set(k string, pair bool) {
	b.w.mu.Lock()
	b.v++
	v := b.v
	b.w.mu.Unlock()
	before := b.cookie()
	_, ok := b.call(fmt.Sprintf("/set?k=%s&v=%d", k, v))
	after := b.cookie()
	b.w.mu.Lock()
	defer b.w.mu.Unlock()
	if after != before || after != b.session {
		// A new session: the old one ended. Beside another write, which
		// session took this one is not known.
		b.session, b.done, b.login = after, map[string]int{}, 0
		if pair {
			return
		}
	}
	if !ok {
		return
	}
	if b.done[k] < v {
		b.done[k] = v
		if b.paired == nil {
			b.paired = map[string]bool{}
		}
		b.paired[k] = pair
	}
	b.w.writes.Add(1)
}

// get reads the session and checks it holds every completed write.
func (b *soakBrowser) get() {
	body, ok := b.call("/get")
	if !ok || b.cookie() != b.session || b.session == "" {
		return
	}
	if body == "none" {
		if b.login == 0 || !b.w.revokedSince(b.user, b.login) {
			b.w.lost.Add(int64(len(b.done)))
		}
		b.reset()
		return
	}
	got := map[string]int{}
	for _, f := range strings.Fields(body) {
		k, v, _ := strings.Cut(f, "=")
		got[k], _ = strconv.Atoi(v)
	}
	b.w.mu.Lock()
	defer b.w.mu.Unlock()
	for k, v := range b.done {
		if got[k] < v {
			b.w.lost.Add(1)
			if b.paired[k] {
				b.w.lostPaired.Add(1)
			}
			b.done[k] = got[k]
		}
	}
}

// call sends a request and reports its body and whether it completed: a
// 200 with no store failure reported for it.
func (b *soakBrowser) call(path string) (string, bool) {
	id := strconv.FormatInt(b.w.seq.Add(1), 10)
	req, _ := http.NewRequest(http.MethodGet, b.url+path, nil)
	req.Header.Set("X-Soak", id)
	body, err := do(b.c, req)
	return body, err == nil && !b.w.hasFailed(id)
}

// cookie returns the browser's session cookie, or "".
func (b *soakBrowser) cookie() string {
	req, _ := http.NewRequest(http.MethodGet, b.url, nil)
	for _, c := range b.c.Jar.Cookies(req.URL) {
		if c.Name == soakCookie {
			return c.Value
		}
	}
	return ""
}

// do sends req and returns the body of a 200.
func do(c *http.Client, req *http.Request) (string, error) {
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return string(b), err
}

func mustJar(t *testing.T) http.CookieJar {
	j, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
