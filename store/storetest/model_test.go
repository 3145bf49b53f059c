package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 300_000_000, time.UTC)

func TestModelExpiry(t *testing.T) {
	tests := []struct {
		name     string
		memcache bool
		expires  time.Duration // from now; 0 is the zero time
		live     time.Duration // readable this long after the write
	}{
		{"Memcache/2s", true, 2 * time.Second, 2 * time.Second},
		{"Memcache/2.9s", true, 2900 * time.Millisecond, 2 * time.Second}, // whole seconds
		{"Memcache/Past", true, -time.Hour, time.Second},                  // MemcacheTTL's minimum
		{"Memcache/31Days", true, 31 * 24 * time.Hour, 30 * 24 * time.Hour},
		{"Memcache/Never", true, 0, 1000 * 24 * time.Hour},
		{"Redis/2.9s", false, 2900 * time.Millisecond, 2900 * time.Millisecond},
		{"Redis/Past", false, -time.Hour, 0},
		{"Redis/Never", false, 0, 1000 * 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{now: t0}
			m := NewModel(ModelOptions{Memcache: tc.memcache, Now: clk.Now})
			var exp time.Time
			if tc.expires != 0 {
				exp = t0.Add(tc.expires)
			}
			if err := m.Cache().Set(context.Background(), &tier.Item{Key: "k", Value: []byte("v"), Expires: exp}); err != nil {
				t.Fatal(err)
			}
			if tc.live > 0 {
				clk.Advance(tc.live - time.Millisecond)
				if _, ok := m.CacheItem("k"); !ok {
					t.Fatalf("gone %v after the write, want live for %v", tc.live-time.Millisecond, tc.live)
				}
				clk.Advance(time.Millisecond)
			}
			if tc.expires == 0 {
				return
			}
			if _, err := m.Cache().Get(context.Background(), "k"); err != tier.ErrCacheMiss {
				t.Fatalf("Get %v after the write: %v, want a miss", tc.live, err)
			}
			if keys := m.Keys(); len(keys) != 0 {
				t.Fatalf("Keys = %q, want none", keys)
			}
		})
	}
}

func TestMemcacheDeadline(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		ttl  time.Duration
		want time.Time
	}{
		{0, time.Time{}},
		{500 * time.Millisecond, now.Add(-5 * time.Second)},
		{1500 * time.Millisecond, now.Add(time.Second)},
		{30 * 24 * time.Hour, now.Add(30 * 24 * time.Hour)},
		{30*24*time.Hour + time.Second, time.Unix(30*24*60*60+1, 0)}, // a Unix time in 1970
		{30 * 365 * 24 * time.Hour, now.Add(30 * 365 * 24 * time.Hour)},
	}
	for _, tc := range tests {
		if got := memcacheDeadline(tc.ttl, now); !got.Equal(tc.want) {
			t.Errorf("memcacheDeadline(%v) = %v, want %v", tc.ttl, got, tc.want)
		}
	}
}

func TestModelRefuses(t *testing.T) {
	ctx := context.Background()
	m := NewModel(ModelOptions{MaxValue: 10})
	c, d := m.Cache(), m.Durable()
	many := make([]string, tier.MaxBatch+1)
	for i := range many {
		many[i] = fmt.Sprint("id", i)
	}
	tests := []struct {
		name string
		err  error
	}{
		{"NilValue", c.Set(ctx, &tier.Item{Key: "k"})},
		{"EmptyKey", c.Set(ctx, &tier.Item{Key: "", Value: []byte{}})},
		{"LongKey", c.Add(ctx, &tier.Item{Key: strings.Repeat("k", tier.MaxKeyLen+1), Value: []byte{}})},
		{"MaxValue", c.Set(ctx, &tier.Item{Key: "k", Value: make([]byte, 11)})},
		{"ForeignToken", c.CompareAndSwap(ctx, &tier.Item{Key: "k", Value: []byte{}, Token: "x"})},
		{"EmptyKeyPut", d.PutMulti(ctx, []string{""}, []tier.Record{{}})},
		{"EmptyKeyGet", func() error { _, err := d.GetMulti(ctx, []string{""}); return err }()},
		{"PutMultiMismatch", d.PutMulti(ctx, []string{"a", "b"}, []tier.Record{{}})},
		{"GetMultiOverMaxBatch", func() error { _, err := d.GetMulti(ctx, many); return err }()},
		{"PutMultiOverMaxBatch", d.PutMulti(ctx, many, make([]tier.Record, len(many)))},
		{"DeleteMultiOverMaxBatch", d.DeleteMulti(ctx, many)},
	}
	for _, tc := range tests {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if keys := m.Keys(); len(keys) != 0 {
		t.Errorf("Keys = %q after refused writes", keys)
	}
	if err := c.Set(ctx, &tier.Item{Key: "k", Value: make([]byte, 10)}); err != nil {
		t.Errorf("Set of MaxValue bytes: %v", err)
	}
}

func TestModelAfterFakesAmbiguousFailure(t *testing.T) {
	fault := fmt.Errorf("ambiguous")
	m := NewModel(ModelOptions{After: func(_ context.Context, op, key string, err error) error {
		if op == "durable.PutMulti" && err == nil {
			return fault
		}
		return err
	}})
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	if err := putOne(ctx, m.Durable(), "id", tier.Record{Value: []byte("v"), Expires: exp}); err != fault {
		t.Fatalf("PutMulti: %v, want the fault", err)
	}
	if _, ok := m.Record("id"); !ok {
		t.Fatal("the PutMulti that reported the fault took no effect")
	}
	m.SetRecord("id"+tier.EndSuffix, tier.Record{Value: []byte{}, Expires: exp})
	if _, err := store.ReadRecord(ctx, m.Durable(), "id"); err != tier.ErrNotFound {
		t.Fatalf("read after a tombstone set with SetRecord: %v, want ErrNotFound", err)
	}
}

// putOne puts one record.
func putOne(ctx context.Context, d tier.Durable, key string, rec tier.Record) error {
	return d.PutMulti(ctx, []string{key}, []tier.Record{rec})
}
