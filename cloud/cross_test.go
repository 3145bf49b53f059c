package cloud_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/aestore"
	aeds "google.golang.org/appengine/v2/datastore"
)

// The cross-backend tests, from App Engine's dev server to the cloud
// backends and back; crossenv_test.go has their helpers.

// crossCases are the variants of the tests that carry a session across:
// with its Cache value or its entity alone, under its ID or its hash.
var crossCases = []struct {
	name               string
	withCache, hashIDs bool
}{
	{"EntityAndCacheValue", true, false},
	{"EntityOnly", false, false},
	{"HashIDs", true, true},
	{"HashIDsEntityOnly", false, true},
}

func TestCrossAppEngineToCloud(t *testing.T) {
	for _, tc := range crossCases {
		withCache := tc.withCache
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := newCrossTest(t)
			x.hashIDs = tc.hashIDs
			ae := x.appEngine()
			x.get(ae, "/?op=new&user=gopher")
			if got := x.get(ae, "/?op=set&n=1"); got != "n=1,user=gopher" {
				t.Fatalf("App Engine app: %q", got)
			}
			id := x.stored(x.id())
			props, value := x.fromAppEngine(id)
			wantSessionEntity(t, props)
			if value == nil {
				t.Fatal("Memcache has no session")
			}
			if !withCache {
				value = nil
			}
			x.toCloud(id, toCloudProps(t, props), value)

			h := x.cloudApp()
			if got := x.get(h, "/"); got != "n=1,user=gopher" {
				t.Fatalf("cloud app reads %q, want the App Engine session", got)
			}
			want := []string{"redis.get"} // from Redis
			if !withCache {
				// From the Datastore, put back unconfirmed (an Add), read
				// again and confirmed (a Get and a compare-and-swap).
				want = []string{"datastore.GetMulti", "datastore.GetMulti", "redis.evalsha", "redis.evalsha", "redis.get", "redis.get"}
			}
			if got := x.calls.take(); !slices.Equal(sorted(got), want) {
				t.Errorf("cloud read made calls %q, want %q", got, want)
			}
			if got := x.get(h, "/?op=set&m=2"); got != "m=2,n=1,user=gopher" {
				t.Errorf("cloud app writes %q", got)
			}
		})
	}
}

func TestCrossCloudToAppEngine(t *testing.T) {
	for _, tc := range crossCases {
		withCache := tc.withCache
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := newCrossTest(t)
			x.hashIDs = tc.hashIDs
			h := x.cloudApp()
			x.get(h, "/?op=new&user=gopher")
			if got := x.get(h, "/?op=set&n=1"); got != "n=1,user=gopher" {
				t.Fatalf("cloud app: %q", got)
			}
			id := x.stored(x.id())
			props, value := x.fromCloud(id)
			if value == nil {
				t.Fatal("Redis has no session")
			}
			if !withCache {
				value = nil
			}
			aeProps := toAppEngineProps(t, props)
			wantSessionEntity(t, aeProps)
			x.toAppEngine(id, aeProps, value)

			ae := x.appEngine()
			if got := x.get(ae, "/"); got != "n=1,user=gopher" {
				t.Fatalf("App Engine app reads %q, want the cloud session", got)
			}
			if _, cached := x.fromAppEngine(id); cached == nil {
				t.Error("after the read Memcache has no session")
			}
			if got := x.get(ae, "/?op=set&m=2"); got != "m=2,n=1,user=gopher" {
				t.Errorf("App Engine app writes %q", got)
			}
		})
	}
}

// TestCrossAppEngineToDatastoreOnly: an App Engine session (an entity
// without "ver") is read and written in Datastore-only mode.
func TestCrossAppEngineToDatastoreOnly(t *testing.T) {
	t.Parallel()
	x := newCrossTest(t)
	ae := x.appEngine()
	x.get(ae, "/?op=new&user=gopher")
	id := x.id()
	props, _ := x.fromAppEngine(id)
	x.toCloud(id, toCloudProps(t, props), nil)
	h := x.datastoreOnly()
	if got := x.get(h, "/"); got != "user=gopher" {
		t.Fatalf("Datastore-only app reads %q", got)
	}
	if got := x.get(h, "/?op=set&n=1"); got != "n=1,user=gopher" {
		t.Errorf("Datastore-only app writes %q", got)
	}
}

// TestCrossDatastoreOnlyToAppEngine: a session of Datastore-only mode, an
// entity with one property more ("ver"), is read by App Engine's backend.
// appengine/v2 loads such an entity into a struct of exp and val with an
// *ErrFieldMismatch; the test checks that much, and skips the rest while
// aestore.Datastore does not tolerate it (see the cloud README).
func TestCrossDatastoreOnlyToAppEngine(t *testing.T) {
	t.Parallel()
	x := newCrossTest(t)
	h := x.datastoreOnly()
	x.get(h, "/?op=new&user=gopher")
	id := x.id()
	props, _ := x.fromCloud(id)
	x.toAppEngine(id, toAppEngineProps(t, props), nil)

	ctx := gaesessiontest.Context(t)
	var e struct {
		Expires time.Time `datastore:"exp"`
		Value   []byte    `datastore:"val,noindex"`
	}
	var fm *aeds.ErrFieldMismatch
	err := aeds.Get(ctx, aeds.NewKey(ctx, x.kind, id, 0, nil), &e)
	if !errors.As(err, &fm) || fm.FieldName != "ver" || len(e.Value) == 0 || e.Expires.IsZero() {
		t.Fatalf("appengine/v2 loads the entity with %v, exp %v, %d bytes of val; want an ErrFieldMismatch on ver, both loaded",
			err, e.Expires, len(e.Value))
	}
	if _, err := store.ReadRecord(ctx, aestore.Datastore(x.kind), id); err != nil {
		t.Fatalf("aestore.Datastore reads the entity with %v: it must ignore *datastore.ErrFieldMismatch", err)
	}
	if got := x.get(x.appEngine(), "/"); got != "user=gopher" {
		t.Errorf("App Engine app reads %q", got)
	}
}
