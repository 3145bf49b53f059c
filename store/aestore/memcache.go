package aestore

import (
	"context"
	"errors"
	"time"

	"github.com/gaesession/gaesession/store/tier"
	"google.golang.org/appengine/v2"
	"google.golang.org/appengine/v2/memcache"
)

// Memcache returns the tier.Cache on App Engine's bundled Memcache. Its calls
// need an App Engine context (appengine.NewContext(r)).
func Memcache() tier.Cache { return aeCache{} }

type aeCache struct{}

// Name implements tier.Named.
func (aeCache) Name() string { return "memcache" }

// maxMemcacheTTL is the longest relative expiration Memcache takes: it reads
// more than 30 days as an absolute Unix time.
const maxMemcacheTTL = 30 * 24 * time.Hour

// MemcacheTTL returns the Memcache expiration for an item that should live
// until exp: at least a second (appengine/v2 sends whole seconds, and less
// means "already expired"), at most 30 days. Memcache may forget an item
// sooner anyway; a session that outlives its cache entry is read back from
// the Durable tier.
func MemcacheTTL(exp, now time.Time) time.Duration {
	if exp.IsZero() {
		return 0
	}
	return min(max(exp.Sub(now), time.Second), maxMemcacheTTL)
}

// toMemcache returns it as a memcache.Item; for compare-and-swap, the one
// Get returned, which carries the CAS id.
func toMemcache(it *tier.Item, cas bool) *memcache.Item {
	m, _ := it.Token.(*memcache.Item)
	if m == nil || !cas {
		m = &memcache.Item{}
	}
	m.Key, m.Value, m.Flags, m.Expiration = it.Key, it.Value, it.Flags, MemcacheTTL(it.Expires, time.Now())
	return m
}

func (aeCache) Get(ctx context.Context, key string) (*tier.Item, error) {
	m, err := memcache.Get(ctx, key)
	if err != nil {
		return nil, mcErr(err)
	}
	return &tier.Item{Key: key, Value: m.Value, Flags: m.Flags, Token: m}, nil
}

func (aeCache) Add(ctx context.Context, it *tier.Item) error {
	return mcErr(memcache.Add(ctx, toMemcache(it, false)))
}

func (aeCache) CompareAndSwap(ctx context.Context, it *tier.Item) error {
	if it.Token == nil {
		return errors.New("memcache: compare-and-swap of an item not read with Get")
	}
	return mcErr(memcache.CompareAndSwap(ctx, toMemcache(it, true)))
}

func (aeCache) Set(ctx context.Context, it *tier.Item) error {
	return mcErr(memcache.Set(ctx, toMemcache(it, false)))
}

func (aeCache) SetMulti(ctx context.Context, items []*tier.Item) error {
	ms := make([]*memcache.Item, len(items))
	for i, it := range items {
		ms[i] = toMemcache(it, false)
	}
	return firstErr(memcache.SetMulti(ctx, ms))
}

// firstErr returns the first error of an appengine.MultiError, or err.
func firstErr(err error) error {
	var me appengine.MultiError
	if errors.As(err, &me) {
		for _, e := range me {
			if e != nil {
				return mcErr(e)
			}
		}
		return nil
	}
	return err
}

func (aeCache) Delete(ctx context.Context, key string) error {
	if err := mcErr(memcache.Delete(ctx, key)); !errors.Is(err, tier.ErrCacheMiss) {
		return err
	}
	return nil
}

// mcErr maps memcache's answers to the tier.Cache ones.
func mcErr(err error) error {
	switch {
	case errors.Is(err, memcache.ErrCacheMiss):
		return tier.ErrCacheMiss
	case errors.Is(err, memcache.ErrNotStored):
		return tier.ErrNotStored
	case errors.Is(err, memcache.ErrCASConflict):
		return tier.ErrCASConflict
	}
	return err
}
