package cloud_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/redis/go-redis/v9"
	aeds "google.golang.org/appengine/v2/datastore"
	"google.golang.org/appengine/v2/memcache"
)

// Cross-backend tests: a session written through one backend is copied
// verbatim, its entity's properties and its cache value, into the other
// backend's services, and read there through the middleware with the
// same cookie. App Engine's side is the dev server (gaesessiontest), the
// cloud side Redis and the Datastore emulator, or the emulator alone in
// Datastore-only mode. Both sides use the same kind and key prefix.

// crossTest is one cross test: the cookie jar shared by both apps, and the
// kind and key prefix of both sides.
type crossTest struct {
	t            *testing.T
	c            *gaesessiontest.Client
	kind, prefix string
	calls        *calls // the cloud app's backend calls
	hashIDs      bool   // both apps store hashed IDs (store.Options.HashIDs)
}

func newCrossTest(t *testing.T) *crossTest {
	servers(t)
	gaesessiontest.Start(t)
	kind := newKind()
	return &crossTest{t: t, c: gaesessiontest.NewClient(t, nil), kind: kind, prefix: kind + ":", calls: &calls{}}
}

// get runs a request through h with the shared cookies; it returns the
// body.
func (x *crossTest) get(h http.Handler, target string) string {
	x.t.Helper()
	return gaesessiontest.Body(x.t, x.c.With(h).Get(target))
}

// serve returns gaesessiontest.App through a middleware of its own on opts.
func (x *crossTest) serve(opts store.Options) http.Handler {
	opts.KeyPrefix = x.prefix
	if x.hashIDs {
		// Raw IDs no longer looked for: the calls are those of hashed IDs.
		opts.HashIDs, opts.RawIDsUntil = true, time.Unix(1, 0)
	}
	s := gaesession.New(gaesession.Options{Store: opts})
	x.t.Cleanup(func() { _ = s.Shutdown(context.Background()) })
	return s.Handler(gaesessiontest.App)
}

// appEngine is the app on App Engine's backend (Memcache and Datastore).
func (x *crossTest) appEngine() http.Handler {
	return x.serve(store.Options{DSEntityName: x.kind})
}

// cloudApp is the app on Redis and the Datastore, its calls logged.
func (x *crossTest) cloudApp() http.Handler {
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	rc.AddHook(x.calls)
	x.t.Cleanup(func() { rc.Close() })
	return x.serve(store.Options{Cache: cloud.Redis(rc), Durable: countedDurable{cloud.Datastore(dsc, x.kind), x.calls}})
}

// datastoreOnly is the app in Datastore-only mode, its RPCs logged.
func (x *crossTest) datastoreOnly() http.Handler {
	c := cloud.DatastoreCache(countingClient(x.t, x.calls), x.kind, x.prefix)
	return x.serve(store.Options{Cache: c, OnlyMemcache: true})
}

// id returns the session ID in the jar.
func (x *crossTest) id() string {
	x.t.Helper()
	r := gaesessiontest.NewRequest(x.t, http.MethodGet, "/", nil)
	for _, c := range x.c.Jar.Cookies(r.URL) {
		if c.Name == "sessid" {
			return c.Value
		}
	}
	x.t.Fatal("no session cookie")
	return ""
}

// stored returns the ID both apps store session id under.
func (x *crossTest) stored(id string) string {
	if x.hashIDs {
		return store.HashID(id)
	}
	return id
}

// fromAppEngine reads a session's entity and Memcache value on the dev
// server (nil when Memcache has none).
func (x *crossTest) fromAppEngine(id string) (aeds.PropertyList, []byte) {
	x.t.Helper()
	ctx := gaesessiontest.Context(x.t)
	var props aeds.PropertyList
	ok(x.t, aeds.Get(ctx, aeds.NewKey(ctx, x.kind, id, 0, nil), &props))
	it, err := memcache.Get(ctx, x.prefix+id)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return props, nil
	}
	ok(x.t, err)
	if it.Flags != 0 && it.Flags != tier.FlagUnconfirmed {
		x.t.Fatalf("Memcache holds a tombstone (flags %d)", it.Flags)
	}
	return props, it.Value
}

// toAppEngine puts an entity on the dev server, and value into Memcache
// unless it is nil.
func (x *crossTest) toAppEngine(id string, props aeds.PropertyList, value []byte) {
	x.t.Helper()
	ctx := gaesessiontest.Context(x.t)
	_, err := aeds.Put(ctx, aeds.NewKey(ctx, x.kind, id, 0, nil), &props)
	ok(x.t, err)
	if value != nil {
		ok(x.t, memcache.Set(ctx, &memcache.Item{Key: x.prefix + id, Value: value, Expiration: time.Hour}))
	}
}

// fromCloud reads a session's entity in the emulator and its value in
// Redis (nil when Redis has none).
func (x *crossTest) fromCloud(id string) (datastore.PropertyList, []byte) {
	x.t.Helper()
	ctx := testContext(x.t)
	var props datastore.PropertyList
	ok(x.t, dsc.Get(ctx, datastore.NameKey(x.kind, id, nil), &props))
	it, err := cloud.Redis(rdb).Get(ctx, x.prefix+id)
	if errors.Is(err, tier.ErrCacheMiss) {
		return props, nil
	}
	ok(x.t, err)
	return props, it.Value
}

// toCloud puts an entity into the emulator, and value into Redis through
// cloud.Redis (whose item format is its own) unless it is nil.
func (x *crossTest) toCloud(id string, props datastore.PropertyList, value []byte) {
	x.t.Helper()
	ctx := testContext(x.t)
	if err := dsc.Get(ctx, datastore.NameKey(x.kind, id, nil), &datastore.PropertyList{}); !errors.Is(err, datastore.ErrNoSuchEntity) {
		x.t.Fatalf("the emulator has the session before the copy (%v): not a separate Datastore", err)
	}
	_, err := dsc.Put(ctx, datastore.NameKey(x.kind, id, nil), &props)
	ok(x.t, err)
	if value != nil {
		var exp time.Time // the session's, as the store writes it
		for _, p := range props {
			if p.Name == tier.PropExpires {
				exp = p.Value.(time.Time)
			}
		}
		ok(x.t, cloud.Redis(rdb).Set(ctx, &tier.Item{Key: x.prefix + id, Value: value, Expires: exp}))
	}
}

// wantSessionEntity checks that props are App Engine's session entity:
// exp (a time, indexed) and val (bytes, unindexed), and no more.
func wantSessionEntity(t *testing.T, props aeds.PropertyList) {
	t.Helper()
	names := []string{}
	for _, p := range props {
		names = append(names, p.Name)
		_, isTime := p.Value.(time.Time)
		_, isBytes := p.Value.([]byte)
		if p.Name == tier.PropExpires && (!isTime || p.NoIndex) || p.Name == tier.PropValue && (!isBytes || !p.NoIndex) {
			t.Errorf("property %s = %T, NoIndex %v", p.Name, p.Value, p.NoIndex)
		}
	}
	if slices.Sort(names); !slices.Equal(names, []string{tier.PropExpires, tier.PropValue}) {
		t.Errorf("entity properties %q, want exp and val", names)
	}
}

// toCloudProps converts an App Engine entity's properties, value for value.
func toCloudProps(t *testing.T, props aeds.PropertyList) datastore.PropertyList {
	t.Helper()
	out := datastore.PropertyList{}
	for _, p := range props {
		checkValue(t, p.Name, p.Value)
		out = append(out, datastore.Property{Name: p.Name, Value: p.Value, NoIndex: p.NoIndex})
	}
	return out
}

// toAppEngineProps converts a Cloud Datastore entity's properties, value for
// value.
func toAppEngineProps(t *testing.T, props datastore.PropertyList) aeds.PropertyList {
	t.Helper()
	out := aeds.PropertyList{}
	for _, p := range props {
		checkValue(t, p.Name, p.Value)
		out = append(out, aeds.Property{Name: p.Name, Value: p.Value, NoIndex: p.NoIndex})
	}
	return out
}

// checkValue fails t unless v has a type both clients store as such.
func checkValue(t *testing.T, name string, v any) {
	t.Helper()
	switch v.(type) {
	case time.Time, []byte, int64, string, bool, float64:
	default:
		t.Fatalf("property %s: %T, not one the copy converts", name, v)
	}
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}
