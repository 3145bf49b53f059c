package store_test

import (
	"strings"
	"testing"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
)

// Options and limits that need no backend, and OnlyMemcache on the model.

func TestOnlyMemcacheMakesNoDurableCalls(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{OnlyMemcache: true})
	sess := r.newSession(0, "a", "1")
	s := r.open()
	s.Add(sess)
	s.Close()
	id := sess.ID()
	r.wantCalls("new session", "cache.Add")
	r.set(id, "b", "2")
	r.wantCalls("write", "cache.Get", "cache.CompareAndSwap")
	s = r.open()
	fresh, err := s.Renew(s.Get(id))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	r.wantCalls("renew", "cache.Get", "cache.Get", "cache.CompareAndSwap", "cache.Add")
	if got := r.read(fresh.ID()); got != "a=1,b=2" {
		t.Errorf("renewed session read as %q", got)
	}
	s = r.open()
	s.Remove(s.Get(fresh.ID()))
	s.Close()
	r.wantCalls("read and remove", "cache.Get", "cache.Get", "cache.Set")
	other := r.create(0, "c", "3")
	r.m.Evict(prefix + other)
	if got := r.read(other); got != "none" {
		t.Errorf("evicted session read as %q", got)
	}
	r.wantCalls("read after eviction", "cache.Get")
	if ids := r.m.IDs(); len(ids) != 0 {
		t.Errorf("durable records %q", ids)
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	id24 := "sFrD3kLq8Qz0wYb1aXc2vN9m"
	cases := []struct {
		name   string
		id     string
		prefix int
		want   bool
	}{
		{"icza/session's 24 characters", id24, 0, true},
		{"15 characters", id24[:15], 0, false},
		{"16 characters", id24[:16], 0, true},
		{"empty", "", 0, false},
		{"250 characters", strings.Repeat("A", 250), 0, true},
		{"251 characters", strings.Repeat("A", 251), 0, false},
		{"fills the key after a prefix", strings.Repeat("A", 240), 10, true},
		{"one byte over the key after a prefix", strings.Repeat("A", 241), 10, false},
		{"URL alphabet", "AZaz09-_AZaz09-_", 0, true},
		{"one '=' of padding", id24[:19] + "=", 0, true},
		{"two '=' of padding", id24[:18] + "==", 0, true},
		{"three '=' of padding", id24[:17] + "===", 0, false},
		{"inner '='", id24[:8] + "=" + id24[9:], 0, false},
		{"standard alphabet '+'", id24[:23] + "+", 0, false},
		{"standard alphabet '/'", "/" + id24[1:], 0, false},
		{"dot", id24[:10] + "." + id24[11:], 0, false},
		{"space", id24[:10] + " " + id24[11:], 0, false},
		{"non-ASCII", id24[:22] + "é", 0, false},
		{"tombstone key suffix", id24 + tier.EndSuffix, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := store.ValidID(tc.id, tc.prefix); got != tc.want {
				t.Errorf("ValidID(%q, %d) = %v, want %v", tc.id, tc.prefix, got, tc.want)
			}
		})
	}
}

// TestHalfSetTiersPanic: NewTiers refuses a Cache without a Durable (unless
// OnlyMemcache), a Durable without a Cache, and no tier at all, with a
// message naming the fix.
func TestHalfSetTiersPanic(t *testing.T) {
	t.Parallel()
	m := storetest.NewModel(storetest.ModelOptions{})
	cases := []struct {
		name string
		opts store.Options
		want string // in the panic; "" for none
	}{
		{"neither", store.Options{}, "set both"},
		{"Cache only", store.Options{Cache: m.Cache()}, "set Durable too"},
		{"Durable only", store.Options{Durable: m.Durable()}, "set Cache too"},
		{"Durable only, OnlyMemcache", store.Options{Durable: m.Durable(), OnlyMemcache: true}, "set Cache too"},
		{"Cache only, OnlyMemcache", store.Options{Cache: m.Cache(), OnlyMemcache: true}, ""},
		{"both", store.Options{Cache: m.Cache(), Durable: m.Durable()}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				p := recover()
				msg, _ := p.(string)
				switch {
				case tc.want == "" && p != nil:
					t.Errorf("NewTiers panicked: %v", p)
				case tc.want != "" && !strings.Contains(msg, tc.want):
					t.Errorf("NewTiers panicked with %v, want a message with %q", p, tc.want)
				}
			}()
			store.NewTiers(tc.opts)
		})
	}
}

// prefixed is a Cache that takes keys with a fixed prefix only.
type prefixed struct {
	tier.Cache
	prefix string
}

func (c prefixed) KeyPrefix() string { return c.prefix }

// TestPrefixedCacheMustMatchKeyPrefix: NewTiers refuses a PrefixedCache
// whose prefix is not Options.KeyPrefix, naming both.
func TestPrefixedCacheMustMatchKeyPrefix(t *testing.T) {
	t.Parallel()
	m := storetest.NewModel(storetest.ModelOptions{})
	for _, tc := range []struct{ cache, key string }{{"a:", "a:"}, {"a:", "b:"}, {"", "b:"}} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				switch want := tc.cache != tc.key; {
				case want && !(strings.Contains(msg, `"`+tc.cache+`"`) && strings.Contains(msg, `"`+tc.key+`"`)):
					t.Errorf("cache prefix %q, KeyPrefix %q: panic %q, want one naming both", tc.cache, tc.key, msg)
				case !want && msg != "":
					t.Errorf("same prefix %q: panic %q", tc.key, msg)
				}
			}()
			store.NewTiers(store.Options{Cache: prefixed{m.Cache(), tc.cache}, Durable: m.Durable(), KeyPrefix: tc.key})
		}()
	}
}
