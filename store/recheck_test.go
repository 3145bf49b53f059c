package store_test

import (
	"context"
	"testing"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
)

// Tests of the check of the Cache after a Durable write (put's recheck):
// a value there that lacks the write gets the write's changes.

// TestRecheckLooksAgainAfterAConflict: a write merged onto another
// request's finds, after its Durable write, an older copy in the Cache;
// when its compare-and-swap of its changes onto that copy conflicts with
// yet another value, it reads the Cache again and puts its changes onto
// that one.
func TestRecheckLooksAgainAfterAConflict(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	first, _ := r.m.CacheItem(prefix + id) // a=1, older than every write below
	other := decode(t, first.Value)
	other.SetAttr("d", "4")
	otherValue, err := store.Gob.Marshal(other)
	if err != nil {
		t.Fatal(err)
	}
	s := r.open()
	sess := s.Get(id)
	r.set(id, "c", "3") // another request: our compare-and-swap conflicts, and we merge
	sess.SetAttr("b", "2")
	replace := func(ctx context.Context, v []byte) {
		if err := r.m.Cache().Set(ctx, &tier.Item{Key: prefix + id, Value: v, Expires: first.Expires}); err != nil {
			t.Error(err)
		}
	}
	puts, swaps := 0, 0
	r.setFault(func(ctx context.Context, op, _ string) error {
		switch op {
		case "durable.PutMulti":
			if puts++; puts == 1 { // an older copy is put back meanwhile
				replace(ctx, first.Value)
			}
		case "cache.CompareAndSwap":
			if swaps++; swaps == 3 { // the check's swap, after the conflict and the merge
				replace(ctx, otherValue)
			}
		}
		return nil
	})
	s.Close()
	r.setFault(nil)
	if got := r.cached(id); got != "a=1,b=2,d=4" {
		t.Errorf("cache holds %s, want a=1,b=2,d=4: our change on the value found after the conflict", got)
	}
	if got := r.stored(id); got != "a=1,b=2,d=4" {
		t.Errorf("Durable tier holds %s, want a=1,b=2,d=4", got)
	}
	r.wantErrs("write", 0, "", nil)
}

// TestStrictRecheckMakesTheCacheWhole: with StrictWrites, a write that
// finds after its Durable transaction a Cache value lacking it replaces an
// older copy with the record (which holds a completed write the copy
// lacks), and puts only its own changes onto a value that holds a write
// the record lacks (in flight). When its compare-and-swap conflicts, it
// looks again.
func TestStrictRecheckMakesTheCacheWhole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		inflight bool   // the value found holds a write the record lacks, and d=4
		conflict bool   // it is written again before the swap
		want     string // in the Cache
	}{
		{"an older copy", false, false, "a=1,b=2,c=3"},
		{"an older copy, the swap conflicting", false, true, "a=1,b=2,c=3"},
		{"a value with a write in flight", true, false, "a=1,b=2,d=4"},
		{"a value with a write in flight, the swap conflicting", true, true, "a=1,b=2,d=4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.Options{StrictWrites: true})
			id := r.create(0, "a", "1")
			first, _ := r.m.CacheItem(prefix + id) // a=1, older than every write below
			found := first.Value
			if tc.inflight {
				sess := decode(t, first.Value)
				w, _ := sess.Attr(store.AttrWrites).(string)
				sess.SetAttr(store.AttrWrites, w+" inflight")
				sess.SetAttr("d", "4")
				var err error
				if found, err = store.Gob.Marshal(sess); err != nil {
					t.Fatal(err)
				}
			}
			s := r.open()
			sess := s.Get(id)
			r.set(id, "c", "3") // another request's write, completed
			sess.SetAttr("b", "2")
			updated, replaced, conflicted := false, false, false
			put := func(ctx context.Context) {
				if err := r.m.Cache().Set(ctx, &tier.Item{Key: prefix + id, Value: found, Expires: first.Expires}); err != nil {
					t.Error(err)
				}
			}
			r.setFault(func(ctx context.Context, op, _ string) error {
				switch {
				case op == "durable.Update":
					updated = true
				case op == "cache.Get" && updated && !replaced: // the check after the transaction
					replaced = true
					put(ctx)
				case op == "cache.CompareAndSwap" && replaced && tc.conflict && !conflicted:
					conflicted = true
					put(ctx)
				}
				return nil
			})
			s.Close()
			r.setFault(nil)
			if !replaced || tc.conflict != conflicted {
				t.Fatalf("replaced %v, conflicted %v: not the path tested", replaced, conflicted)
			}
			if got := r.cached(id); got != tc.want {
				t.Errorf("cache holds %s, want %s", got, tc.want)
			}
			if got := r.stored(id); got != "a=1,b=2,c=3" {
				t.Errorf("Durable tier holds %s, want a=1,b=2,c=3", got)
			}
			r.wantErrs("write", 0, "", nil)
		})
	}
}
