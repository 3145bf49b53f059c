package cloud_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"slices"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/redis/go-redis/v9"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
)

// env is gaesessiontest.App on the cloud backend, isolated from other
// tests by its key prefix and kind, with a browser and a log of the
// backend calls its requests make.
type env struct {
	t     testing.TB
	opts  gaesession.Options
	sess  *gaesession.Sessions
	c     *gaesessiontest.Client // a browser of gaesessiontest.App
	calls *calls
}

// newEnv returns an env on Redis and
// the Datastore, with opts given their backend, prefix and kind.
func newEnv(t testing.TB, opts gaesession.Options) *env {
	t.Helper()
	servers(t)
	return newRedisEnv(t, opts, redis.NewClient(&redis.Options{Addr: redisAddr}))
}

// newClusterEnv is newEnv on the Redis Cluster, through a ClusterClient.
func newClusterEnv(t testing.TB, opts gaesession.Options) *env {
	t.Helper()
	servers(t)
	return newRedisEnv(t, opts, redis.NewClusterClient(&redis.ClusterOptions{Addrs: clusterAddr}))
}

// redisEnvs are the Redis deployments the middleware tests run on.
var redisEnvs = []struct {
	name string
	env  func(testing.TB, gaesession.Options) *env
}{{"Redis", newEnv}, {"Cluster", newClusterEnv}}

// newRedisEnv returns an env on rc, a new client that it counts and
// closes, and the Datastore.
func newRedisEnv(t testing.TB, opts gaesession.Options, rc redis.UniversalClient) *env {
	t.Helper()
	e := &env{t: t, calls: &calls{}}
	rc.AddHook(e.calls)
	t.Cleanup(func() { rc.Close() })
	kind := newKind()
	opts.Store.KeyPrefix = kind + ":"
	opts.Store.Cache = cloud.Redis(rc)
	opts.Store.Durable = countedDurable{cloud.Datastore(dsc, kind), e.calls}
	e.serve(opts)
	return e
}

// newDatastoreOnlyEnv returns an env in Datastore-only mode
// (DatastoreCache, OnlyMemcache), whose calls are the Datastore RPCs its
// requests make.
func newDatastoreOnlyEnv(t testing.TB, opts gaesession.Options) *env {
	t.Helper()
	servers(t)
	e := &env{t: t, calls: &calls{}}
	kind := newKind()
	opts.Store.KeyPrefix = kind + ":"
	opts.Store.Cache = cloud.DatastoreCache(countingClient(t, e.calls), kind, opts.Store.KeyPrefix)
	opts.Store.OnlyMemcache = true
	e.serve(opts)
	return e
}

// serve makes the env's middleware with opts.
func (e *env) serve(opts gaesession.Options) {
	e.opts = opts
	e.sess = gaesession.New(opts)
	e.t.Cleanup(func() {
		if err := e.sess.Shutdown(context.Background()); err != nil {
			e.t.Error(err)
		}
	})
	e.c = gaesessiontest.NewClient(e.t, e.sess.Handler(gaesessiontest.App))
}

// get runs a request for target through the app, with the browser's
// cookies and returns the body.
func (e *env) get(target string) string {
	e.t.Helper()
	return gaesessiontest.Body(e.t, e.c.Do(httptest.NewRequest(http.MethodGet, gaesessiontest.BaseURL+target, nil)))
}

// id returns the session ID in the browser's jar.
func (e *env) id() string {
	e.t.Helper()
	u, _ := url.Parse(gaesessiontest.BaseURL)
	for _, c := range e.c.Jar.Cookies(u) {
		if c.Name == "sessid" {
			return c.Value
		}
	}
	e.t.Fatal("no session cookie")
	return ""
}

// setID puts a session cookie with id in the browser's jar.
func (e *env) setID(id string) {
	u, _ := url.Parse(gaesessiontest.BaseURL)
	e.c.Jar.SetCookies(u, []*http.Cookie{{Name: "sessid", Value: id, Path: "/", Secure: true}})
}

// calls logs backend calls: Redis commands through a go-redis hook (not
// those that set up a new connection: they are per connection, not per
// request), Durable calls through countedDurable, and Datastore RPCs
// through countingClient.
type calls struct {
	mu  sync.Mutex
	log []string
}

// connSetup are the commands go-redis sends on a new connection.
var connSetup = []string{"redis.hello", "redis.client", "redis.auth", "redis.select"}

func (c *calls) add(name string) {
	if slices.Contains(connSetup, name) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, name)
}

// take returns the calls logged since the last take.
func (c *calls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.log
	c.log = nil
	return l
}

func (c *calls) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *calls) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add("redis." + cmd.Name())
		return next(ctx, cmd)
	}
}

func (c *calls) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			c.add("redis." + cmd.Name())
		}
		return next(ctx, cmds)
	}
}

// countedDurable logs the calls to a Durable.
type countedDurable struct {
	tier.Durable
	c *calls
}

func (d countedDurable) GetMulti(ctx context.Context, keys []string) ([]tier.Record, error) {
	d.c.add("datastore.GetMulti")
	return d.Durable.GetMulti(ctx, keys)
}

func (d countedDurable) PutMulti(ctx context.Context, keys []string, recs []tier.Record) error {
	d.c.add("datastore.PutMulti")
	return d.Durable.PutMulti(ctx, keys, recs)
}

func (d countedDurable) Expired(ctx context.Context, before time.Time, batch func([]string) error) error {
	d.c.add("datastore.Expired")
	return d.Durable.Expired(ctx, before, batch)
}

func (d countedDurable) DeleteMulti(ctx context.Context, ids []string) error {
	d.c.add("datastore.DeleteMulti")
	return d.Durable.DeleteMulti(ctx, ids)
}

// countingClient returns a Datastore client of the emulator that logs each
// RPC it makes ("datastore.Lookup", "datastore.Commit", ...) to c.
func countingClient(t testing.TB, c *calls) *datastore.Client {
	t.Helper()
	count := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		c.add("datastore." + path.Base(method))
		return invoke(ctx, method, req, reply, cc, opts...)
	}
	dc, err := datastore.NewClient(context.Background(), testProject,
		option.WithGRPCDialOption(grpc.WithChainUnaryInterceptor(count)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dc.Close() })
	return dc
}
