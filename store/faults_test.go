package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
)

// Failures of the tiers, retries, and background writes, on the model.

// failing returns a fault that fails every call whose op starts with one
// of the prefixes.
func failing(prefixes ...string) func(context.Context, string, string) error {
	return func(_ context.Context, op, _ string) error {
		for _, p := range prefixes {
			if strings.HasPrefix(op, p) {
				return fmt.Errorf("injected %s failure", op)
			}
		}
		return nil
	}
}

// unregistered is a type gob cannot encode inside an interface value.
type unregistered struct{ X int }

func TestUnsavableSessionIsReportedAndNothingWritten(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		value any
		want  error
	}{
		{"type not registered with gob", unregistered{1}, store.ErrEncode},
		{"larger than MaxSize", strings.Repeat("x", store.MaxSize), store.ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, store.Options{})
			id := r.create(0, "a", "1")
			s := r.open()
			sess := s.Get(id)
			sess.SetAttr("a", "3")
			sess.SetAttr("bad", tc.value)
			fresh := r.newSession(0)
			fresh.SetAttr("bad", tc.value)
			s.Add(fresh)
			r.take()
			s.Close()
			r.wantCalls("Close")
			r.wantErrs("Close", 2, "", tc.want) // one for each session
			if c, d := r.cached(id), r.stored(id); c != "a=1" || d != "a=1" {
				t.Errorf("cache %q, durable %q; want the version stored before", c, d)
			}
		})
	}
}

func TestCacheDownSessionsLiveInDurable(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{Retries: 1})
	r.setFault(failing("cache."))
	sess := r.newSession(0, "a", "1")
	s := r.open()
	s.Add(sess)
	s.Close()
	id := sess.ID()
	r.wantCalls("new session", "cache.Add", "durable.PutMulti")
	r.wantErrs("new session", 1, "memcache", nil)
	if got := r.read(id); got != "a=1" {
		t.Fatalf("read %q from the durable tier", got)
	}
	r.wantCalls("read", "cache.Get", "durable.GetMulti")
	r.wantErrs("read", 1, "memcache", nil)
	r.set(id, "b", "2")
	// Load: cache.Get, durable.Get. Save: after a failed load, the cache
	// is read first (cache.Get), which fails: the changes go onto the
	// durable copy (durable.Get); the merged backup (durable.Put) is
	// followed by a check of the cache (cache.Get), which fails too.
	r.wantCalls("write", "cache.Get", "durable.GetMulti", "cache.Get", "durable.GetMulti", "durable.PutMulti", "cache.Get")
	r.wantErrs("write", 3, "memcache", nil)
	if got := r.stored(id); got != "a=1,b=2" {
		t.Errorf("durable tier holds %q", got)
	}
}

func TestDurableDownCacheStillWorks(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{Retries: 1})
	r.setFault(failing("durable."))
	sess := r.newSession(0, "a", "1")
	s := r.open()
	s.Add(sess)
	s.Close()
	id := sess.ID()
	r.wantCalls("new session", "durable.PutMulti", "cache.Add")
	r.wantErrs("new session", 1, "datastore", nil)
	if got := r.cached(id); got != "a=1" {
		t.Errorf("cache holds %q, want a=1: no record could vouch for it", got)
	}
	r.set(id, "b", "2")
	r.wantCalls("write", "cache.Get", "cache.CompareAndSwap", "durable.PutMulti")
	r.wantErrs("write", 1, "datastore", nil)
	if got := r.read(id); got != "a=1,b=2" {
		t.Errorf("read %q from the cache", got)
	}
	r.wantCalls("read", "cache.Get")
	r.wantErrs("read", 0, "", nil)
	r.m.Evict(prefix + id)
	if got := r.read(id); got != "none" {
		t.Errorf("read %q with the session evicted and the durable tier failing", got)
	}
	r.wantCalls("read after eviction", "cache.Get", "durable.GetMulti")
	r.wantErrs("read after eviction", 1, "datastore", nil)
}

func TestRetriesHideATransientFailure(t *testing.T) {
	t.Parallel()
	write := []string{"cache.Get", "cache.CompareAndSwap", "durable.PutMulti"}
	cases := []struct {
		op      string
		retries int
		errs    int
		tier    string
	}{
		{"cache.Get", 0, 0, ""}, // 0: the default, 3 tries
		{"cache.CompareAndSwap", 0, 0, ""},
		{"durable.PutMulti", 0, 0, ""},
		{"durable.PutMulti", 1, 1, "datastore"}, // one try: reported
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s Retries=%d", tc.op, tc.retries), func(t *testing.T) {
			r := newRig(t, store.Options{Retries: tc.retries})
			id := r.create(0, "a", "1")
			var once sync.Once
			r.setFault(func(_ context.Context, op, _ string) error {
				var err error
				if op == tc.op {
					once.Do(func() { err = errors.New("transient failure") })
				}
				return err
			})
			r.set(id, "b", "2")
			want := write
			if tc.errs == 0 {
				want = append(slices.Clone(write), tc.op) // tried twice
			}
			r.wantCalls("write", want...)
			r.wantErrs("write", tc.errs, tc.tier, nil)
			if got := r.cached(id); got != "a=1,b=2" {
				t.Errorf("cache holds %q", got)
			}
		})
	}
}

func TestErrorsNameSessionsByShortIDOnly(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{Retries: 1, AsyncDatastoreSave: true})
	ids := []string{r.create(0, "a", "1"), r.create(0, "a", "1")}
	bg := r.create(0, "a", "1")
	s := r.open()
	s.Get(ids[0]).SetAttr("bad", unregistered{})
	s.Close() // ErrEncode
	r.setFault(failing("cache.", "durable."))
	r.read(ids[1]) // both tiers fail
	r.setFault(failing("durable."))
	r.set(bg, "b", "2") // a background write that fails: logged
	if err := r.tiers.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	errs := r.takeErrs()
	if len(errs) != 3 {
		t.Fatalf("got %d errors %v, want an encoding error and failures of both tiers", len(errs), errs)
	}
	for i, err := range errs {
		var se *store.Error
		short := store.ShortID(ids[min(i, 1)])
		if !errors.As(err, &se) || se.Session != short || !strings.Contains(err.Error(), short) {
			t.Errorf("error %q, want a *store.Error naming session %s", err, short)
		}
		for _, id := range ids {
			if strings.Contains(err.Error(), id) || strings.Contains(se.LogValue().String(), id) {
				t.Errorf("error %q holds a full session ID", err)
			}
		}
	}
	if log := r.log.String(); !strings.Contains(log, "err.session="+store.ShortID(bg)) || strings.Contains(log, bg) {
		t.Errorf("background failure logged as %q, want the short ID only", log)
	}
}

// With StrictWrites, a write whose transaction loses to concurrent ones
// (ErrContention) tries again after a pause, and is not reported.
func TestStrictWriteRetriesContention(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{StrictWrites: true}) // Retries as by default: contention has one owner
	id := r.create(0, "a", "1")
	left := 2
	r.setFault(func(_ context.Context, op, key string) error {
		if op == "durable.Update" && key == id && left > 0 {
			left--
			return fmt.Errorf("injected: %w", tier.ErrContention)
		}
		return nil
	})
	r.set(id, "b", "2")
	r.wantCalls("write", "cache.Get", "cache.CompareAndSwap", "durable.Update", "durable.Update", "durable.Update", "cache.Get")
	r.wantErrs("write", 0, "", nil)
	if got := r.stored(id); got != "a=1,b=2" {
		t.Errorf("durable tier holds %q", got)
	}
}

// With StrictWrites, a write whose check after its transaction finds its
// session renewed reports ErrRenewed: the Renew may have taken over an
// older copy without it. Once: not again when it found no record.
func TestStrictWriteFindingARenewReportsIt(t *testing.T) {
	t.Parallel()
	for _, recordGone := range []bool{false, true} {
		r := newRig(t, store.Options{StrictWrites: true})
		id := r.create(0, "a", "1")
		stage := 0
		r.setFault(func(ctx context.Context, op, key string) error {
			switch {
			case op == "durable.Update" && key == id && stage == 0:
				stage = 1
				if recordGone {
					return nil
				}
			case op == "cache.Get" && key == prefix+id && stage == 1:
				stage = 2
				tomb := &tier.Item{Key: prefix + id, Value: []byte{}, Flags: tier.FlagRenewed, Expires: time.Now().Add(time.Hour)}
				if err := r.m.Cache().Set(ctx, tomb); err != nil {
					return err
				}
			}
			return nil
		})
		if recordGone {
			// The Cache keeps it; the Durable record is lost.
			if err := r.m.Durable().DeleteMulti(context.Background(), []string{id}); err != nil {
				t.Fatal(err)
			}
		}
		s := r.open()
		if sess := s.Get(id); sess != nil {
			sess.SetAttr("b", "2")
		}
		s.Close()
		errs := r.takeErrs()
		if len(errs) != 1 || !errors.Is(errs[0], store.ErrRenewed) && !recordGone || !errors.Is(errs[0], store.ErrGone) && recordGone {
			t.Errorf("record gone %v: reported %v, want one ErrRenewed (ErrGone when the record was gone)", recordGone, errs)
		}
	}
}
