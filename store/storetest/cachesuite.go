package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/gaesession/gaesession/store/tier"
)

// TestCache runs the conformance suite of a tier.Cache: every call and
// the edges the store's protocol relies on, as named subtests in parallel.
// newCache returns the Cache for one subtest and the context of its calls;
// the subtests use keys of their own, so one Cache may serve them all.
//
// It only uses expirations a day or more ahead: short ones would need a
// clock that real services do not take (the Model's are tested with its
// ModelOptions.Now).
func TestCache(t *testing.T, newCache func(t *testing.T) (tier.Cache, context.Context)) {
	t.Helper()
	run := nonce()
	for _, tc := range cacheCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, ctx := newCache(t)
			tc.f(&cacheT{T: t, c: c, ctx: ctx, run: run})
		})
	}
}

var cacheCases = []struct {
	name string
	f    func(ct *cacheT)
}{
	{"GetMiss", func(ct *cacheT) { ct.wantMiss(ct.key(0)) }},
	{"AddThenGet", func(ct *cacheT) {
		k := ct.key(0)
		ct.ok(ct.c.Add(ct.ctx, &tier.Item{Key: k, Value: []byte("v1"), Flags: 7}))
		ct.want(k, "v1", 7)
	}},
	{"AddOverExisting", func(ct *cacheT) {
		k := ct.add("v1")
		ct.is(ct.c.Add(ct.ctx, &tier.Item{Key: k, Value: []byte("v2")}), tier.ErrNotStored)
		ct.want(k, "v1", 0)
	}},
	{"AddAfterDelete", func(ct *cacheT) {
		k := ct.add("v1")
		ct.ok(ct.c.Delete(ct.ctx, k))
		ct.ok(ct.c.Add(ct.ctx, &tier.Item{Key: k, Value: []byte("v2")}))
		ct.want(k, "v2", 0)
	}},
	{"SetMulti", func(ct *cacheT) {
		k0 := ct.add("v1")
		k1 := ct.key(1)
		ct.ok(ct.c.SetMulti(ct.ctx, []*tier.Item{
			{Key: k0, Value: []byte{}, Flags: tier.FlagRemoved},
			{Key: k1, Value: []byte("v2")},
		}))
		ct.want(k0, "", tier.FlagRemoved)
		ct.want(k1, "v2", 0)
	}},
	{"SetMissing", func(ct *cacheT) {
		k := ct.key(0)
		ct.ok(ct.c.Set(ct.ctx, &tier.Item{Key: k, Value: []byte("v1"), Flags: 3}))
		ct.want(k, "v1", 3)
	}},
	{"SetOverExisting", func(ct *cacheT) {
		k := ct.add("v1")
		ct.ok(ct.c.Set(ct.ctx, &tier.Item{Key: k, Value: []byte("v2")}))
		ct.want(k, "v2", 0)
	}},
	{"CompareAndSwap", func(ct *cacheT) {
		k := ct.add("v1")
		it := ct.get(k)
		it.Value, it.Flags = []byte("v2"), 5
		ct.ok(ct.c.CompareAndSwap(ct.ctx, it))
		ct.want(k, "v2", 5)
	}},
	{"CompareAndSwapStale", func(ct *cacheT) {
		k := ct.add("v1")
		a, b := ct.get(k), ct.get(k)
		b.Value = []byte("v2")
		ct.ok(ct.c.CompareAndSwap(ct.ctx, b))
		a.Value = []byte("v3")
		ct.is(ct.c.CompareAndSwap(ct.ctx, a), tier.ErrCASConflict)
		ct.want(k, "v2", 0)
	}},
	{"CompareAndSwapAfterSet", func(ct *cacheT) {
		k := ct.add("v1")
		a := ct.get(k)
		ct.ok(ct.c.Set(ct.ctx, &tier.Item{Key: k, Value: []byte("v1")}))
		ct.is(ct.c.CompareAndSwap(ct.ctx, a), tier.ErrCASConflict)
	}},
	{"CompareAndSwapAfterDelete", func(ct *cacheT) {
		k := ct.add("v1")
		a := ct.get(k)
		ct.ok(ct.c.Delete(ct.ctx, k))
		ct.is(ct.c.CompareAndSwap(ct.ctx, a), tier.ErrNotStored)
		ct.wantMiss(k)
	}},
	{"CompareAndSwapAfterReAdd", func(ct *cacheT) {
		// A token does not survive its item: no ABA.
		k := ct.add("v1")
		a := ct.get(k)
		ct.ok(ct.c.Delete(ct.ctx, k))
		ct.ok(ct.c.Add(ct.ctx, &tier.Item{Key: k, Value: []byte("v1")}))
		ct.is(ct.c.CompareAndSwap(ct.ctx, a), tier.ErrCASConflict)
	}},
	{"Tombstones", func(ct *cacheT) {
		for _, flags := range []uint32{tier.FlagRemoved, tier.FlagRenewed} {
			k := ct.key(int(flags))
			ct.ok(ct.c.Set(ct.ctx, &tier.Item{Key: k, Value: []byte("session")}))
			it := ct.get(k)
			it.Value, it.Flags = []byte{}, flags
			ct.ok(ct.c.CompareAndSwap(ct.ctx, it))
			ct.want(k, "", flags)
			ct.ok(ct.c.CompareAndSwap(ct.ctx, ct.get(k))) // written back as read
			ct.is(ct.c.Add(ct.ctx, &tier.Item{Key: k, Value: []byte("new")}), tier.ErrNotStored)
		}
	}},
	{"DeleteMissing", func(ct *cacheT) { ct.ok(ct.c.Delete(ct.ctx, ct.key(0))) }},
	{"DeleteThenGet", func(ct *cacheT) {
		k := ct.add("v1")
		ct.ok(ct.c.Delete(ct.ctx, k))
		ct.wantMiss(k)
	}},
	{"ValuesCopied", func(ct *cacheT) {
		k, v := ct.key(0), []byte("abc")
		ct.ok(ct.c.Set(ct.ctx, &tier.Item{Key: k, Value: v}))
		v[0] = 'x'
		ct.get(k).Value[0] = 'y'
		ct.want(k, "abc", 0)
	}},
	{"Expires", testExpires},
	{"LargeValue", testLargeValue},
	{"TooLarge", testTooLarge},
	{"KeyTooLong", testKeyTooLong},
	{"CanceledContext", func(ct *cacheT) {
		ctx, cancel := context.WithCancel(ct.ctx)
		cancel()
		_, err := ct.c.Get(ctx, ct.key(0))
		ct.is(err, context.Canceled)
	}},
}

// is fails the test unless errors.Is(err, want).
func is(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}
