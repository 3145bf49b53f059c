package gaesession_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/aestore"
	"github.com/gaesession/gaesession/store/tier"
)

// TestManyRequestsOneSession runs readers and writers on one session and one
// Manager's goroutines at once, for the race detector.
func TestManyRequestsOneSession(t *testing.T) {
	opts, c := setup(t, gaesession.Options{})
	get(t, c, "/?op=new&a=1")
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%3 == 0 {
				get(t, c, fmt.Sprintf("/?op=set&w%d=1", i))
			} else {
				get(t, c, "/")
			}
		}()
	}
	h := mw(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		var inner sync.WaitGroup
		for i := range 8 {
			inner.Add(1)
			go func() {
				defer inner.Done()
				if s := m.Get(r); s != nil {
					s.SetAttr(fmt.Sprint("g", i), i)
					_ = s.Attrs()
				}
			}()
		}
		inner.Wait()
	}))
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.With(h).Get("/")
	}()
	wg.Wait()
	if got := get(t, c, "/"); !strings.Contains(got, "g7=7") || !strings.Contains(got, "w27=1") {
		t.Errorf("session after the storm: %s", got)
	}
}

// TestMergeThatDoesNotFitKeepsNewer: when a request's change no longer fits
// on top of a newer version (together they exceed store.MaxSize), the newer
// version stays in both tiers and ErrorFunc hears ErrTooLarge.
func TestMergeThatDoesNotFitKeepsNewer(t *testing.T) {
	var log errLog
	opts, c := setup(t, gaesession.Options{ErrorFunc: log.record()})
	get(t, c, "/?op=new&a=1")
	id := sessionID(t, c)
	loaded, release := make(chan struct{}), make(chan struct{})
	setBig := func(name string) *gaesessiontest.Client {
		return c.With(mw(opts)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sess := gaesession.From(r.Context()).Get(r)
			if name == "A" {
				close(loaded)
				<-release
			}
			sess.SetAttr("big"+name, strings.Repeat(name, store.MaxSize*6/10))
		})))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		gaesessiontest.Body(t, setBig("A").Get("/"))
	}()
	<-loaded
	gaesessiontest.Body(t, setBig("B").Get("/"))
	close(release)
	<-done
	if errs := log.all(); len(errs) != 1 || !errors.Is(errs[0], store.ErrTooLarge) {
		t.Errorf("reported %v, want one ErrTooLarge", errs)
	}
	item, ent := tiers(t, opts, id)
	if item == nil || ent == nil {
		t.Fatal("session missing from a tier")
	}
	for tier, v := range map[string][]byte{"memcache": item.Value, "datastore": ent.Value} {
		if s := decoded(t, v); s.Attr("bigB") == nil || s.Attr("bigA") != nil {
			t.Errorf("%s does not hold the newer version (bigB set, bigA not)", tier)
		}
	}
}

// TestLateAsyncBackup: a background Datastore write that lands after a later
// request's write leaves Datastore with the newer value; one that lands
// after the logout may bring the entity back, but the logout's tombstone
// entity keeps it unreadable, also once Memcache has lost its tombstone.
func TestLateAsyncBackup(t *testing.T) {
	opts, c := setup(t, gaesession.Options{Store: store.Options{AsyncDatastoreSave: true}})
	syncOpts := opts
	syncOpts.Store.AsyncDatastoreSave = false
	syncClient := c.With(mw(syncOpts)(gaesessiontest.App))
	for _, next := range []string{"/?op=set&c=3", "/?op=remove"} {
		get(t, c, "/?op=new&a=1")
		waitAll()
		id := sessionID(t, c)
		nextDone := make(chan struct{})
		release := sync.OnceFunc(func() { close(nextDone) })
		defer release() // a late backup left waiting would hang waitAll
		late := rpcs{fail: func(service, method string) error {
			if service == "datastore_v3" && method == "Put" {
				<-nextDone
			}
			return nil
		}}
		late.do(t, c, "/?op=set&b=2") // returns; its backup waits
		get(t, syncClient, next)      // its backup is done when it returns
		release()
		waitAll()
		if next == "/?op=remove" {
			_, err := store.ReadRecord(gaesessiontest.Context(t), aestore.Datastore(opts.Store.DSEntityName), id)
			evict(t, opts, id)
			setCookie(t, c, id)
			if got := get(t, c, "/"); !errors.Is(err, tier.ErrNotFound) || got != "none" {
				t.Errorf("after the logout: Datastore read %v, session %q; want ErrNotFound and none", err, got)
			}
			continue
		}
		if _, ent := tiers(t, opts, id); ent == nil || gaesessiontest.Attrs(decoded(t, ent.Value)) != "a=1,b=2,c=3" {
			t.Errorf("after %s: Datastore holds %v, want a=1,b=2,c=3", next, ent)
		}
	}
}
