package cloud_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/purge"
	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
)

// The middleware in Datastore-only mode: DatastoreCache as the only tier,
// its items the session entities.

func TestDatastoreOnlyLifecycle(t *testing.T) {
	t.Parallel()
	e := newDatastoreOnlyEnv(t, gaesession.Options{})
	for _, step := range []struct{ target, want string }{
		{"/?op=new&a=1", "a=1"},
		{"/", "a=1"},
		{"/?op=set&b=2", "a=1,b=2"},
		{"/", "a=1,b=2"},
	} {
		if got := e.get(step.target); got != step.want {
			t.Fatalf("GET %s = %q, want %q", step.target, got, step.want)
		}
	}
	// One entity, read as a Cache item and as a Durable record.
	if c, d := e.tiers(e.id()); c != "a=1,b=2" || d != c {
		t.Errorf("the entity reads as %s through the Cache, %s as a record", c, d)
	}
}

// TestDatastoreOnlyCallsPerRequest counts the Datastore RPCs of each kind
// of request. A write is a transaction: BeginTransaction, Lookup of the
// record and its tombstone, Commit.
func TestDatastoreOnlyCallsPerRequest(t *testing.T) {
	t.Parallel()
	e := newDatastoreOnlyEnv(t, gaesession.Options{})
	const (
		begin  = "datastore.BeginTransaction"
		commit = "datastore.Commit"
		lookup = "datastore.Lookup"
	)
	steps := []struct {
		target string
		want   []string
	}{
		{"/?op=new&a=1", []string{begin, commit, lookup}},                                      // Add
		{"/", []string{lookup}},                                                                // Get
		{"/?op=set&b=2", []string{begin, commit, lookup, lookup}},                              // Get, CompareAndSwap
		{"/?op=renew", []string{begin, begin, commit, commit, lookup, lookup, lookup, lookup}}, // Get, Get and CompareAndSwap of a tombstone, Add
		{"/?op=remove", []string{begin, commit, lookup}},                                       // Get, Set of a tombstone
	}
	for _, step := range steps {
		e.get(step.target)
		got := e.calls.take()
		slices.Sort(got)
		if !slices.Equal(got, step.want) {
			t.Errorf("GET %s made calls %q, want %q", step.target, got, step.want)
		}
	}
	e.setID("no-such-session-0123456789")
	e.get("/")
	if got, want := e.calls.take(), []string{lookup}; !slices.Equal(got, want) {
		t.Errorf("an unknown session made calls %q, want %q", got, want)
	}
}

func TestDatastoreOnlyConcurrentWritersMerged(t *testing.T) {
	t.Parallel()
	e := newDatastoreOnlyEnv(t, gaesession.Options{})
	e.get("/?op=new&base=0")
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		goRun(&wg, func() { e.get(fmt.Sprintf("/?op=set&k%02d=%d", i, i)) })
	}
	wg.Wait()
	want := []string{"base=0"}
	for i := range n {
		want = append(want, fmt.Sprintf("k%02d=%d", i, i))
	}
	if c, _ := e.tiers(e.id()); c != strings.Join(want, ",") {
		t.Errorf("after %d concurrent writers the entity holds %s", n, c)
	}
}

// TestDatastoreOnlyLogoutIsFinal: a request that loaded the session before
// the logout and writes after it cannot bring it back.
func TestDatastoreOnlyLogoutIsFinal(t *testing.T) {
	t.Parallel()
	e := newDatastoreOnlyEnv(t, gaesession.Options{})
	e.get("/?op=new&user=gopher")
	id := e.id()
	finish := e.hold(func(_ *gaesession.Manager, sess session.Session, _ http.ResponseWriter) {
		sess.SetAttr("late", "write")
	})
	e.get("/?op=remove")
	finish()
	if c, d := e.tiers(id); c != "tombstone" || d != "gone" {
		t.Errorf("after logout and a late write, the Cache holds %s, the Durable tier %s", c, d)
	}
	e.setID(id)
	if got := e.get("/"); got != "none" {
		t.Errorf("logged-out session readable: %q", got)
	}
}

func TestDatastoreOnlyRenew(t *testing.T) {
	t.Parallel()
	e := newDatastoreOnlyEnv(t, gaesession.Options{})
	e.get("/?op=new&user=gopher")
	old := e.id()
	finish := e.hold(func(_ *gaesession.Manager, sess session.Session, _ http.ResponseWriter) {
		sess.SetAttr("late", "write") // to the old ID, after Renew
	})
	if got := e.get("/?op=renew&n=1"); got != "n=1,user=gopher" {
		t.Fatalf("renew: %q", got)
	}
	fresh := e.id()
	finish()
	if fresh == old {
		t.Fatal("Renew kept the ID")
	}
	if c, d := e.tiers(fresh); c != "n=1,user=gopher" || d != c {
		t.Errorf("new ID: the Cache holds %s, the Durable tier %s", c, d)
	}
	if c, d := e.tiers(old); c != "tombstone" || d != "gone" {
		t.Errorf("old ID: the Cache holds %s, the Durable tier %s", c, d)
	}
	e.setID(old)
	if got := e.get("/"); got != "none" {
		t.Errorf("old ID readable: %q", got)
	}
}

// TestDatastoreOnlyPurge: purge on cloud.Datastore of the same kind
// deletes the expired sessions and tombstones of Datastore-only mode (an
// expiry in the past stands for time passing), and keeps live ones.
func TestDatastoreOnlyPurge(t *testing.T) {
	t.Parallel()
	e := newDatastoreOnlyEnv(t, gaesession.Options{})
	ctx, prefix := testContext(t), e.opts.Store.KeyPrefix
	e.get("/?op=new&who=live")
	live := e.id()
	e.get("/?op=new&who=out")
	out := e.id()
	e.get("/?op=remove")
	past := time.Now().Add(-time.Minute)
	ok(t, e.cache.Set(ctx, &store.Item{Key: prefix + out, Value: []byte{}, Flags: store.FlagRemoved, Expires: past}))
	ok(t, e.cache.Add(ctx, &store.Item{Key: prefix + "expired-0123456789", Value: []byte("v"), Expires: past}))

	kind := strings.TrimSuffix(prefix, ":")
	r := httptest.NewRequest(http.MethodPost, "/purge", nil)
	r.Header.Set(purge.SecretHeader, "s3cret")
	rec := httptest.NewRecorder()
	purge.Handler(purge.Options{Durable: cloud.Datastore(dsc, kind), Secret: "s3cret"}).ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"deleted":2`) {
		t.Fatalf("purge: %d %s, want 2 deleted", rec.Code, rec.Body)
	}
	var names []string
	keys, err := dsc.GetAll(ctx, datastore.NewQuery(kind).KeysOnly(), nil)
	ok(t, err)
	for _, k := range keys {
		names = append(names, k.Name)
	}
	if !slices.Equal(names, []string{live}) {
		t.Errorf("after purge the kind holds %q, want only the live session", names)
	}
	e.setID(live)
	if got := e.get("/"); got != "who=live" {
		t.Errorf("live session after purge: %q", got)
	}
}

// TestDatastoreOnlyKeyPrefix: a DatastoreCache whose key prefix is not
// store.Options.KeyPrefix is refused when the middleware is made, with a
// message naming both; a key without the prefix fails without the session
// ID in the error.
func TestDatastoreOnlyKeyPrefix(t *testing.T) {
	t.Parallel()
	servers(t)
	kind := newKind()
	t.Run("mismatch refused", func(t *testing.T) {
		defer func() {
			msg := fmt.Sprint(recover())
			if !strings.Contains(msg, `"a:"`) || !strings.Contains(msg, `"b:"`) {
				t.Errorf("New panicked with %q, want a message naming both prefixes", msg)
			}
		}()
		gaesession.New(gaesession.Options{Store: store.Options{
			Cache: cloud.DatastoreCache(dsc, kind, "a:"), KeyPrefix: "b:", OnlyMemcache: true}})
		t.Error("New accepted a DatastoreCache with another key prefix")
	})
	t.Run("match accepted", func(t *testing.T) {
		gaesession.New(gaesession.Options{Store: store.Options{
			Cache: cloud.DatastoreCache(dsc, kind, "a:"), KeyPrefix: "a:", OnlyMemcache: true}})
	})
	t.Run("no ID in errors", func(t *testing.T) {
		const id = "Zm9yZ2VkLXNlc3Npb24taWQtMDEyMzQ1"
		_, err := cloud.DatastoreCache(dsc, kind, "a:").Get(testContext(t), "b:"+id)
		if err == nil || strings.Contains(err.Error(), id) || !strings.Contains(err.Error(), store.ShortID("b:"+id)) {
			t.Errorf("Get of a key without the prefix: %v; want an error with the ShortID, not the ID", err)
		}
	})
}
