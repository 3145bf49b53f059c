package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// Sizes of the size subtests: one fits Memcache's 1 MB with a full-length
// key, one does not.
const (
	fitSize  = 900_000
	overSize = 1_100_000
)

// testExpires checks that long expirations keep items readable: Memcache
// reads a relative expiration over 30 days as a Unix time, so an Item
// whose Expires is more than 30 days ahead must still be stored with one
// it takes as relative.
func testExpires(ct *cacheT) {
	for i, d := range []time.Duration{0, 24 * time.Hour, 31 * 24 * time.Hour, 365 * 24 * time.Hour} {
		var exp time.Time
		if d > 0 {
			exp = time.Now().Add(d)
		}
		k := ct.key(i)
		ct.ok(ct.c.Add(ct.ctx, &tier.Item{Key: k, Value: []byte("a"), Expires: exp}))
		ct.want(k, "a", 0)
		ct.ok(ct.c.Set(ct.ctx, &tier.Item{Key: k, Value: []byte("s"), Expires: exp}))
		ct.want(k, "s", 0)
		it := ct.get(k)
		it.Value, it.Expires = []byte("c"), exp
		ct.ok(ct.c.CompareAndSwap(ct.ctx, it))
		ct.want(k, "c", 0)
	}
}

// testLargeValue stores a large value under a key of tier.MaxKeyLen bytes.
func testLargeValue(ct *cacheT) {
	k := ct.longKey(tier.MaxKeyLen)
	v := bytes.Repeat([]byte("0123456789"), fitSize/10)
	ct.ok(ct.c.Set(ct.ctx, &tier.Item{Key: k, Value: v}))
	if got := ct.get(k).Value; !bytes.Equal(got, v) {
		ct.Fatalf("got %d bytes back, want the %d stored", len(got), len(v))
	}
}

// testTooLarge checks that a value over 1 MB fails and leaves the item as
// it was.
func testTooLarge(ct *cacheT) {
	k := ct.add("v1")
	big := bytes.Repeat([]byte("x"), overSize)
	if err := ct.c.Set(ct.ctx, &tier.Item{Key: k, Value: big}); err == nil {
		ct.Fatalf("Set of %d bytes succeeded", overSize)
	}
	ct.want(k, "v1", 0)
	it := ct.get(k)
	it.Value = big
	if err := ct.c.CompareAndSwap(ct.ctx, it); err == nil {
		ct.Fatalf("CompareAndSwap of %d bytes succeeded", overSize)
	}
	ct.want(k, "v1", 0)
	k2 := ct.key(1)
	if err := ct.c.Add(ct.ctx, &tier.Item{Key: k2, Value: big}); err == nil {
		ct.Fatalf("Add of %d bytes succeeded", overSize)
	}
	ct.wantMiss(k2)
}

// testKeyTooLong checks that a key over tier.MaxKeyLen bytes fails.
// Production Memcache and the Model refuse it; the dev server does not, so
// a success skips rather than fails.
func testKeyTooLong(ct *cacheT) {
	k := ct.longKey(tier.MaxKeyLen + 1)
	if ct.c.Set(ct.ctx, &tier.Item{Key: k, Value: []byte("v")}) == nil {
		ct.Skipf("Set with a key of %d bytes succeeded: this backend does not enforce tier.MaxKeyLen", len(k))
	}
}

// cacheT is a subtest of TestCache.
type cacheT struct {
	*testing.T
	c   tier.Cache
	ctx context.Context
	run string
}

// key returns the subtest's nth key: printable, short, its own.
func (ct *cacheT) key(n int) string {
	sum := sha256.Sum256([]byte(ct.run + "\x00" + ct.Name()))
	return fmt.Sprintf("storetest:%x:%d", sum[:12], n)
}

// longKey returns a key of the subtest's of n bytes.
func (ct *cacheT) longKey(n int) string {
	k := ct.key(n) + ":"
	return k + strings.Repeat("k", n-len(k))
}

// add stores value under a new key with Add and returns the key.
func (ct *cacheT) add(value string) string {
	ct.Helper()
	k := ct.key(0)
	ct.ok(ct.c.Add(ct.ctx, &tier.Item{Key: k, Value: []byte(value)}))
	return k
}

func (ct *cacheT) get(key string) *tier.Item {
	ct.Helper()
	it, err := ct.c.Get(ct.ctx, key)
	if err != nil {
		ct.Fatalf("Get(%q): %v", key, err)
	}
	return it
}

// want checks the item under key.
func (ct *cacheT) want(key, value string, flags uint32) {
	ct.Helper()
	it := ct.get(key)
	if string(it.Value) != value || it.Flags != flags {
		ct.Fatalf("Get(%q) = %q, flags %d; want %q, flags %d", key, it.Value, it.Flags, value, flags)
	}
}

func (ct *cacheT) wantMiss(key string) {
	ct.Helper()
	it, err := ct.c.Get(ct.ctx, key)
	if err == nil {
		ct.Fatalf("Get(%q) = %q, want a miss", key, it.Value)
	}
	ct.is(err, tier.ErrCacheMiss)
}

func (ct *cacheT) ok(err error) {
	ct.Helper()
	if err != nil {
		ct.Fatal(err)
	}
}

func (ct *cacheT) is(err, want error) {
	ct.Helper()
	is(ct.T, err, want)
}

// nonce tells one suite run's keys from another's.
func nonce() string { return strconv.FormatInt(time.Now().UnixNano(), 36) }
