package cloud_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/store/tier"
)

// Edges of the Redis cache beyond the conformance suite.

// key returns a Redis key of t's own.
func key(t *testing.T) string { return newKind() + ":" + t.Name() }

func TestRedisExpiry(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx := testContext(t)
	c := cloud.Redis(rdb)
	now := time.Now()
	for _, tc := range []struct {
		name    string
		expires time.Time
		ttl     time.Duration // PTTL wanted, within a minute; -1 for none
	}{
		{"Never", time.Time{}, -1},
		{"Hour", now.Add(time.Hour), time.Hour},
		{"31Days", now.Add(31 * 24 * time.Hour), 31 * 24 * time.Hour}, // no 30-day rule
		{"Year", now.Add(365 * 24 * time.Hour), 365 * 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := key(t)
			ttl := func() time.Duration {
				t.Helper()
				d, err := rdb.PTTL(ctx, k).Result()
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			check := func(op string) {
				t.Helper()
				got := ttl()
				if tc.ttl < 0 && got != -1 || tc.ttl > 0 && (got > tc.ttl || got < tc.ttl-time.Minute) {
					t.Errorf("after %s, PTTL = %v, want %v", op, got, tc.ttl)
				}
			}
			ok(t, c.Add(ctx, &tier.Item{Key: k, Value: []byte("a"), Expires: now.Add(time.Minute)}))
			ok(t, c.Set(ctx, &tier.Item{Key: k, Value: []byte("s"), Expires: tc.expires}))
			check("Set")
			it, err := c.Get(ctx, k)
			ok(t, err)
			it.Expires = now.Add(time.Minute)
			ok(t, c.CompareAndSwap(ctx, it))
			it, err = c.Get(ctx, k)
			ok(t, err)
			it.Expires = tc.expires
			ok(t, c.CompareAndSwap(ctx, it))
			check("CompareAndSwap")
			ok(t, c.Delete(ctx, k))
			ok(t, c.Add(ctx, &tier.Item{Key: k, Value: []byte("a"), Expires: tc.expires}))
			check("Add")
		})
	}
}

// TestRedisPastExpiry: an item whose Expires has passed is gone at once.
func TestRedisPastExpiry(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx := testContext(t)
	c, k := cloud.Redis(rdb), key(t)
	ok(t, c.Set(ctx, &tier.Item{Key: k, Value: []byte("v"), Expires: time.Now().Add(-time.Second)}))
	if _, err := c.Get(ctx, k); !errors.Is(err, tier.ErrCacheMiss) {
		t.Errorf("Get of an expired item: %v, want a miss", err)
	}
	ok(t, c.Add(ctx, &tier.Item{Key: k, Value: []byte("v"), Expires: time.Unix(0, 0)}))
	if _, err := c.Get(ctx, k); !errors.Is(err, tier.ErrCacheMiss) {
		t.Errorf("Get of an item that expired in 1970: %v, want a miss", err)
	}
}

// TestRedisOneWinner: of many compare-and-swaps from one version, one
// wins and the others conflict.
func TestRedisOneWinner(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx := testContext(t)
	c, k := cloud.Redis(rdb), key(t)
	ok(t, c.Add(ctx, &tier.Item{Key: k, Value: []byte("v0")}))
	const n = 20
	errs, items := make([]error, n), make([]*tier.Item, n)
	for i := range items {
		var err error
		items[i], err = c.Get(ctx, k)
		ok(t, err)
	}
	var wg sync.WaitGroup
	for i, it := range items {
		goRun(&wg, func() {
			it.Value = []byte{'w', byte('a' + i)}
			errs[i] = c.CompareAndSwap(ctx, it)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, tier.ErrCASConflict):
			t.Errorf("CompareAndSwap: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d compare-and-swaps won, want 1", won, n)
	}
}

// TestRedisForeignValue: a value this cache did not write reads as an
// item with flags 0, which compare-and-swap can replace; another type of
// key is an error, not a miss.
func TestRedisForeignValue(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx := testContext(t)
	c, k := cloud.Redis(rdb), key(t)
	ok(t, rdb.Set(ctx, k, "plain", 0).Err())
	it, err := c.Get(ctx, k)
	ok(t, err)
	if string(it.Value) != "plain" || it.Flags != 0 {
		t.Fatalf("Get = %q, flags %d; want the whole value, flags 0", it.Value, it.Flags)
	}
	if err := c.Add(ctx, &tier.Item{Key: k, Value: []byte("x")}); !errors.Is(err, tier.ErrNotStored) {
		t.Errorf("Add over it: %v, want ErrNotStored", err)
	}
	it.Value = []byte("mine")
	ok(t, c.CompareAndSwap(ctx, it))
	if it, err = c.Get(ctx, k); err != nil || string(it.Value) != "mine" {
		t.Errorf("after compare-and-swap: %v, %v", it, err)
	}

	h := key(t) + ":hash"
	ok(t, rdb.HSet(ctx, h, "f", "v").Err())
	if _, err := c.Get(ctx, h); err == nil || errors.Is(err, tier.ErrCacheMiss) {
		t.Errorf("Get of a hash: %v, want an error", err)
	}
	if err := c.Set(ctx, &tier.Item{Key: h, Value: []byte("x")}); err == nil {
		t.Error("Set over a hash succeeded")
	}
}

// TestRedisForeignToken: compare-and-swap of an item from elsewhere fails
// without writing.
func TestRedisForeignToken(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx := testContext(t)
	c, k := cloud.Redis(rdb), key(t)
	ok(t, c.Add(ctx, &tier.Item{Key: k, Value: []byte("v")}))
	for _, tok := range []any{nil, "version", 42} {
		err := c.CompareAndSwap(ctx, &tier.Item{Key: k, Value: []byte("x"), Token: tok})
		if err == nil || errors.Is(err, tier.ErrCASConflict) || errors.Is(err, tier.ErrNotStored) {
			t.Errorf("CompareAndSwap with token %v: %v, want a failure", tok, err)
		}
	}
}

// TestRedisScriptFlushed: the scripts are loaded again when Redis has
// forgotten them (a restart or failover of Memorystore).
func TestRedisScriptFlushed(t *testing.T) {
	servers(t)
	ctx := testContext(t)
	c, k := cloud.Redis(rdb), key(t)
	ok(t, rdb.ScriptFlush(ctx).Err())
	ok(t, c.Add(ctx, &tier.Item{Key: k, Value: []byte("v")}))
	it, err := c.Get(ctx, k)
	ok(t, err)
	ok(t, rdb.ScriptFlush(ctx).Err())
	ok(t, c.CompareAndSwap(ctx, it))
}

func TestRedisCanceled(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, k := cloud.Redis(rdb), key(t)
	for name, err := range map[string]error{
		"Add":    c.Add(ctx, &tier.Item{Key: k, Value: []byte("v")}),
		"Set":    c.Set(ctx, &tier.Item{Key: k, Value: []byte("v")}),
		"Delete": c.Delete(ctx, k),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v", name, err)
		}
	}
}

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRedisClusterSetMulti: SetMulti of keys on different nodes of a
// Redis Cluster (so in different hash slots, which one MULTI or script
// could not touch together) stores each of them.
func TestRedisClusterSetMulti(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx := testContext(t)
	c, prefix := cloud.Redis(cdb), key(t)
	var items []*tier.Item
	nodes := map[string]bool{}
	for i := 0; len(nodes) < len(clusterAddr) || len(items) < 6; i++ {
		if i == 1000 {
			t.Fatalf("1000 keys reached %d of %d nodes", len(nodes), len(clusterAddr))
		}
		k := fmt.Sprintf("%s:%d", prefix, i)
		m, err := cdb.MasterForKey(ctx, k)
		ok(t, err)
		nodes[m.Options().Addr] = true
		items = append(items, &tier.Item{Key: k, Value: []byte(k), Flags: uint32(i), Expires: time.Now().Add(time.Hour)})
	}
	ok(t, c.SetMulti(ctx, items))
	for _, want := range items {
		it, err := c.Get(ctx, want.Key)
		if err != nil || string(it.Value) != want.Key || it.Flags != want.Flags {
			t.Errorf("Get(%s) after SetMulti = %v, %v; want value %q, flags %d", want.Key, it, err, want.Key, want.Flags)
		}
	}
}
