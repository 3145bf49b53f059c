package storetest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gaesession/gaesession/store/aestore"
	"github.com/gaesession/gaesession/store/tier"
)

// modelCache is the Model's tier.Cache.
type modelCache struct{ m *Model }

// Name implements tier.Named: the model stands for App Engine's Memcache.
func (modelCache) Name() string { return "memcache" }

// token is a modelCache CAS token: the version Get saw.
type token struct {
	m       *Model
	version uint64
}

func (c modelCache) Get(ctx context.Context, key string) (*tier.Item, error) {
	var it *tier.Item
	err := c.m.do(ctx, "cache.Get", key, func(now time.Time) error {
		e := c.m.live(key, now)
		if e == nil {
			return tier.ErrCacheMiss
		}
		// Like Memcache, Get does not report Expires.
		it = &tier.Item{Key: key, Value: clone(e.value), Flags: e.flags, Token: token{c.m, e.version}}
		return nil
	})
	return it, err
}

func (c modelCache) Add(ctx context.Context, it *tier.Item) error {
	return c.m.do(ctx, "cache.Add", it.Key, func(now time.Time) error {
		if err := c.check("cache.Add", it); err != nil {
			return err
		}
		if c.m.live(it.Key, now) != nil {
			return tier.ErrNotStored
		}
		c.store(it, now)
		return nil
	})
}

func (c modelCache) CompareAndSwap(ctx context.Context, it *tier.Item) error {
	return c.m.do(ctx, "cache.CompareAndSwap", it.Key, func(now time.Time) error {
		tok, ok := it.Token.(token)
		if !ok || tok.m != c.m {
			return errors.New("cache.CompareAndSwap: item not read with this model's Get")
		}
		if err := c.check("cache.CompareAndSwap", it); err != nil {
			return err
		}
		e := c.m.live(it.Key, now)
		switch {
		case e == nil:
			return tier.ErrNotStored
		case e.version != tok.version:
			return tier.ErrCASConflict
		}
		c.store(it, now)
		return nil
	})
}

func (c modelCache) Set(ctx context.Context, it *tier.Item) error {
	return c.m.do(ctx, "cache.Set", it.Key, func(now time.Time) error {
		if err := c.check("cache.Set", it); err != nil {
			return err
		}
		c.store(it, now)
		return nil
	})
}

// SetMulti stores the items in one step, or none if one is refused.
func (c modelCache) SetMulti(ctx context.Context, items []*tier.Item) error {
	return c.m.do(ctx, "cache.SetMulti", "", func(now time.Time) error {
		for _, it := range items {
			if err := c.check("cache.SetMulti", it); err != nil {
				return err
			}
		}
		for _, it := range items {
			c.store(it, now)
		}
		return nil
	})
}

func (c modelCache) Delete(ctx context.Context, key string) error {
	return c.m.do(ctx, "cache.Delete", key, func(time.Time) error {
		delete(c.m.items, key)
		return nil
	})
}

// check refuses what Memcache refuses: a key that is empty or longer than
// tier.MaxKeyLen, a nil value, a value over MaxValue.
func (c modelCache) check(op string, it *tier.Item) error {
	switch {
	case it.Value == nil:
		return fmt.Errorf("%s: nil value (use []byte{})", op)
	case it.Key == "" || len(it.Key) > tier.MaxKeyLen:
		return fmt.Errorf("%s: key of %d bytes (1 to %d)", op, len(it.Key), tier.MaxKeyLen)
	case len(it.Value) > c.m.opts.MaxValue:
		return fmt.Errorf("%s: value of %d bytes exceeds %d", op, len(it.Value), c.m.opts.MaxValue)
	}
	return nil
}

// store writes it under a new version. Callers hold the lock.
func (c modelCache) store(it *tier.Item, now time.Time) {
	c.m.version++
	deadline := it.Expires
	if c.m.opts.Memcache {
		deadline = memcacheDeadline(aestore.MemcacheTTL(it.Expires, now), now)
	}
	c.m.items[it.Key] = &entry{value: clone(it.Value), flags: it.Flags, deadline: deadline, version: c.m.version}
}

// Memcache's expiration limits, in seconds.
const (
	maxRelative = 30 * 24 * 60 * 60       // the service reads more as a Unix time
	thirtyYears = 60 * 60 * 24 * 365 * 30 // appengine/v2 sends this or more as now+ttl
)

// memcacheDeadline is when Memcache forgets an item stored at now with the
// expiration ttl (zero: never). appengine/v2 sends ttl in whole seconds,
// under a second as "5 s ago", and the service reads a value over 30 days
// as a Unix time.
func memcacheDeadline(ttl time.Duration, now time.Time) time.Time {
	secs := int64(ttl / time.Second)
	switch {
	case ttl == 0:
		return time.Time{}
	case ttl < time.Second:
		return time.Unix(now.Unix()-5, 0)
	case secs >= thirtyYears:
		return time.Unix(now.Unix()+secs, 0)
	case secs > maxRelative:
		return time.Unix(secs, 0)
	}
	return now.Add(time.Duration(secs) * time.Second)
}
