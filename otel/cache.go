package otel

import (
	"context"
	"errors"

	"github.com/gaesession/gaesession/store/tier"
)

// Cache returns c with every call traced and timed: a client span per
// call, named after the operation and the tier ("Get memcache"), and a
// sample of the duration histogram. The result keeps c's name
// (tier.Named), and is a tier.PrefixedCache with c's KeyPrefix when c is
// one, so that the store's checks and error names see c.
func (t *Telemetry) Cache(c tier.Cache) tier.Cache {
	tc := &cache{c: c, k: newCaller(t, c, "cache", "Get", "Add", "CompareAndSwap", "Set", "SetMulti", "Delete")}
	if p, ok := c.(tier.PrefixedCache); ok {
		return prefixedCache{tc, p}
	}
	return tc
}

// The Cache's operations, numbered as Cache gives them to newCaller.
const (
	opGet = iota
	opAdd
	opCompareAndSwap
	opSet
	opSetMulti
	opDelete
)

// cache is a traced tier.Cache.
type cache struct {
	c tier.Cache
	k *caller
}

// prefixedCache is a traced tier.PrefixedCache.
type prefixedCache struct {
	*cache
	p tier.PrefixedCache
}

var (
	_ tier.Named         = (*cache)(nil)
	_ tier.PrefixedCache = prefixedCache{}
)

// KeyPrefix returns the inner cache's.
func (c prefixedCache) KeyPrefix() string { return c.p.KeyPrefix() }

// Name returns the inner cache's name, "" when it has none.
func (c *cache) Name() string {
	if n, ok := c.c.(tier.Named); ok {
		return n.Name()
	}
	return ""
}

func (c *cache) Get(ctx context.Context, key string) (*tier.Item, error) {
	ctx, k := c.k.start(ctx, opGet, 0)
	item, err := c.c.Get(ctx, key)
	switch {
	case errors.Is(err, tier.ErrCacheMiss):
		k.end(outcomeMiss, nil)
	case err != nil:
		k.end(outcomeError, err, key)
	case item.Flags != 0 && item.Flags != tier.FlagUnconfirmed:
		k.size = len(item.Value)
		k.end(outcomeTombstone, nil)
	default:
		k.size = len(item.Value)
		k.end(outcomeHit, nil)
	}
	return item, err
}

func (c *cache) Add(ctx context.Context, it *tier.Item) error {
	ctx, k := c.k.start(ctx, opAdd, 0)
	k.size = len(it.Value)
	err := c.c.Add(ctx, it)
	k.end(writeOutcome(err), err, it.Key)
	return err
}

func (c *cache) CompareAndSwap(ctx context.Context, it *tier.Item) error {
	ctx, k := c.k.start(ctx, opCompareAndSwap, 0)
	k.size = len(it.Value)
	err := c.c.CompareAndSwap(ctx, it)
	k.end(writeOutcome(err), err, it.Key)
	return err
}

func (c *cache) Set(ctx context.Context, it *tier.Item) error {
	ctx, k := c.k.start(ctx, opSet, 0)
	k.size = len(it.Value)
	err := c.c.Set(ctx, it)
	k.end(writeOutcome(err), err, it.Key)
	return err
}

func (c *cache) SetMulti(ctx context.Context, items []*tier.Item) error {
	ctx, k := c.k.start(ctx, opSetMulti, len(items))
	keys := make([]string, len(items))
	for i, it := range items {
		k.size += len(it.Value)
		keys[i] = it.Key
	}
	err := c.c.SetMulti(ctx, items)
	k.end(writeOutcome(err), err, keys...)
	return err
}

func (c *cache) Delete(ctx context.Context, key string) error {
	ctx, k := c.k.start(ctx, opDelete, 0)
	err := c.c.Delete(ctx, key)
	k.end(writeOutcome(err), err, key)
	return err
}

// writeOutcome is the outcome of a write: ok, one of the Cache's answers,
// or a failure.
func writeOutcome(err error) string {
	switch {
	case err == nil:
		return outcomeOK
	case errors.Is(err, tier.ErrNotStored):
		return outcomeNotStored
	case errors.Is(err, tier.ErrCASConflict):
		return outcomeConflict
	case errors.Is(err, tier.ErrContention):
		return outcomeConflict
	}
	return outcomeError
}
