package store_test

import (
	"context"
	"testing"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
)

// TestStrictRenewTakesTheNewestValue: with StrictWrites, Renew takes over
// the value that holds the most writes: the record's over an older copy
// the Cache holds, and over an older copy put back while the Durable tier
// ends the old ID; a value put back then that holds every write of the
// record and more wins.
func TestStrictRenewTakesTheNewestValue(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		before bool   // the older copy is in the Cache before the request
		during string // put back during the end: "older" (the first value), "newer" (d=4 and a write more), "" none
		want   string
	}{
		{"an older copy in the Cache", true, "", "a=1,c=3"},
		{"an older copy put back during the end", false, "older", "a=1,c=3"},
		{"a newer value put back during the end", false, "newer", "a=1,c=3,d=4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, store.Options{StrictWrites: true})
			id := r.create(0, "a", "1")
			first, _ := r.m.CacheItem(prefix + id) // a=1
			r.set(id, "c", "3")                    // a write, completed in both tiers
			put := func(ctx context.Context, v []byte) {
				if err := r.m.Cache().Set(ctx, &tier.Item{Key: prefix + id, Value: v, Expires: first.Expires}); err != nil {
					t.Error(err)
				}
			}
			if tc.before {
				put(context.Background(), first.Value)
			}
			newer := first.Value
			if tc.during == "newer" {
				cur, _ := r.m.CacheItem(prefix + id)
				sess := decode(t, cur.Value)
				w, _ := sess.Attr(store.AttrWrites).(string)
				sess.SetAttr(store.AttrWrites, w+" more")
				sess.SetAttr("d", "4")
				var err error
				if newer, err = store.Gob.Marshal(sess); err != nil {
					t.Fatal(err)
				}
			}
			s := r.open()
			old := s.Get(id)
			if old == nil {
				t.Fatal("session not found")
			}
			done := false
			r.setFault(func(ctx context.Context, op, key string) error {
				if isEnd(op, key) && tc.during != "" && !done {
					done = true
					put(ctx, newer)
				}
				return nil
			})
			fresh, err := s.Renew(old)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			r.setFault(nil)
			if tc.during != "" && !done {
				t.Fatal("the old ID was not ended in the Durable tier")
			}
			if got := r.read(fresh.ID()); got != tc.want {
				t.Errorf("renewed session reads %s, want %s", got, tc.want)
			}
			if got := r.cached(id); got != "flags 2" {
				t.Errorf("old ID: cache holds %s, want a FlagRenewed tombstone", got)
			}
			r.wantErrs("renew", 0, "", nil)
		})
	}
}
