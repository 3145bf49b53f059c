package gaesession_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/icza/session"
	"google.golang.org/appengine/v2"
	"google.golang.org/appengine/v2/datastore"
	"google.golang.org/appengine/v2/memcache"
	"google.golang.org/protobuf/runtime/protoiface"
)

func TestMain(m *testing.M) {
	code := m.Run()
	waitAll()
	gaesessiontest.Close()
	os.Exit(code)
}

// made lists the middleware the tests made, to wait for their background
// writes.
var made struct {
	sync.Mutex
	all []*gaesession.Sessions
}

// mw returns the middleware for opts, remembered by waitAll.
func mw(opts gaesession.Options) func(http.Handler) http.Handler {
	s := gaesession.New(opts)
	made.Lock()
	defer made.Unlock()
	made.all = append(made.all, s)
	return s.Handler
}

// waitAll waits for the background writes of every middleware made by mw.
func waitAll() {
	made.Lock()
	all := made.all
	made.Unlock()
	for _, s := range all {
		if err := s.Shutdown(context.Background()); err != nil {
			panic(err)
		}
	}
}

// setup returns options isolated from other tests (own key prefix and
// entity kind) and a client for gaesessiontest.App behind Middleware.
func setup(t testing.TB, opts gaesession.Options) (gaesession.Options, *gaesessiontest.Client) {
	t.Helper()
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	if opts.Store.KeyPrefix == "" {
		opts.Store.KeyPrefix = name + ":"
	}
	if opts.Store.DSEntityName == "" {
		opts.Store.DSEntityName = "s_" + name
	}
	return opts, gaesessiontest.NewClient(t, mw(opts)(gaesessiontest.App))
}

// rpcs records the App Engine calls made with a context.
type rpcs struct {
	mu    sync.Mutex
	calls []string
	fail  func(service, method string) error // injected fault, or nil
}

// wrap returns r with its API calls recorded (and failed where fail says).
func (c *rpcs) wrap(r *http.Request) *http.Request {
	return r.WithContext(c.context(r.Context()))
}

func (c *rpcs) context(ctx context.Context) context.Context {
	return appengine.WithAPICallFunc(ctx, func(ctx context.Context, service, method string, in, out protoiface.MessageV1) error {
		c.mu.Lock()
		c.calls = append(c.calls, service+"."+method)
		fail := c.fail
		c.mu.Unlock()
		if fail != nil {
			if err := fail(service, method); err != nil {
				return err
			}
		}
		return appengine.APICall(ctx, service, method, in, out)
	})
}

// take returns the calls so far, sorted, and forgets them.
func (c *rpcs) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	calls := c.calls
	c.calls = nil
	slices.Sort(calls)
	return calls
}

// do sends a request for target through client, recording its RPCs in c.
func (c *rpcs) do(t testing.TB, client *gaesessiontest.Client, target string) (*http.Response, string) {
	t.Helper()
	res := client.Do(c.wrap(gaesessiontest.NewRequest(t, http.MethodGet, target, nil)))
	return res, gaesessiontest.Body(t, res)
}

// get sends a request for target and returns the body.
func get(t testing.TB, client *gaesessiontest.Client, target string) string {
	t.Helper()
	return gaesessiontest.Body(t, client.Get(target))
}

// sessionID returns the session ID in the client's cookie jar.
func sessionID(t testing.TB, client *gaesessiontest.Client) string {
	t.Helper()
	r := gaesessiontest.NewRequest(t, http.MethodGet, "/", nil)
	for _, c := range client.Jar.Cookies(r.URL) {
		if c.Name == "sessid" {
			return c.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// tiers reports what each tier holds for a session: the Memcache item (nil
// if missing) and whether the Datastore entity exists with its value.
func tiers(t *testing.T, opts gaesession.Options, id string) (item *memcache.Item, ent *storedEntity) {
	t.Helper()
	ctx := gaesessiontest.Context(t)
	item, err := memcache.Get(ctx, opts.Store.KeyPrefix+id)
	if err == memcache.ErrCacheMiss {
		item = nil
	} else if err != nil {
		t.Fatal(err)
	}
	var e storedEntity
	err = datastore.Get(ctx, datastore.NewKey(ctx, opts.Store.DSEntityName, id, 0, nil), &e)
	if err == datastore.ErrNoSuchEntity {
		return item, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return item, &e
}

// storedEntity is icza/gaesession's entity format.
type storedEntity struct {
	Expires time.Time `datastore:"exp"`
	Value   []byte    `datastore:"val"`
}

// decoded decodes a stored value with gob into a session.
func decoded(t testing.TB, b []byte) session.Session {
	t.Helper()
	s := session.NewSession()
	if err := memcache.Gob.Unmarshal(b, s); err != nil {
		t.Fatal(err)
	}
	return s
}

// failService returns a fault that fails every call to the given services.
func failService(services ...string) func(service, method string) error {
	return func(service, method string) error {
		if slices.Contains(services, service) {
			return fmt.Errorf("injected %s.%s failure", service, method)
		}
		return nil
	}
}

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) contains(s string) bool { return strings.Contains(l.String(), s) }

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// hold starts a request on c's session that loads it and waits. When it has
// loaded the session, hold returns finish, which lets the request go on to
// call then and waits until the request has ended (written back).
func hold(t testing.TB, opts gaesession.Options, c *gaesessiontest.Client, then func(m *gaesession.Manager, sess session.Session, w http.ResponseWriter)) (finish func()) {
	t.Helper()
	loaded, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	h := mw(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		sess := m.Get(r)
		close(loaded)
		<-release
		then(m, sess, w)
	}))
	go func() {
		defer close(done)
		res := c.With(h).Get("/")
		res.Body.Close()
	}()
	<-loaded
	return sync.OnceFunc(func() {
		close(release)
		<-done
	})
}

// evict deletes a session's Memcache item, as Memcache may at any time.
func evict(t testing.TB, opts gaesession.Options, id string) {
	t.Helper()
	if err := memcache.Delete(gaesessiontest.Context(t), opts.Store.KeyPrefix+id); err != nil {
		t.Fatal(err)
	}
}

// both returns what each tier holds for a session, as attrs would print
// it ("gone" when a tier has no session).
func both(t *testing.T, opts gaesession.Options, id string) (cache, durable string) {
	t.Helper()
	item, ent := tiers(t, opts, id)
	cache, durable = "gone", "gone"
	if item != nil && item.Flags == 0 {
		cache = gaesessiontest.Attrs(decoded(t, item.Value))
	}
	if ent != nil {
		durable = gaesessiontest.Attrs(decoded(t, ent.Value))
	}
	return cache, durable
}
