package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// hooks sit between the store and any backend: they record every call
// ("cache.Get", ..., "durable.Update", named as the Model names them; the
// key is the cache key or record key, the first key of a Durable
// GetMulti, PutMulti or DeleteMulti, "" for SetMulti and Expired) and run
// one armed trigger, on the first call that matches it, to put another
// operation at that precise point.
type hooks struct {
	mu    sync.Mutex
	calls []string
	last  map[string]string // op: the key of its latest call
	armed *trigger
	down  bool // the Cache fails every write (an outage), see fail
}

// trigger runs before (if set) before the call and after (if set) once
// the call has returned, with its result; after's result is the call's.
type trigger struct {
	op, key string
	before  func()
	after   func(err error) error
}

// anyKey arms a trigger for the next call of its op on any key.
const anyKey = "\x00any"

// on arms a trigger for the next call of op on key (or anyKey), replacing
// one armed before. It fires once.
func (h *hooks) on(op, key string, before func(), after func(error) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed = &trigger{op: op, key: key, before: before, after: after}
}

// outage makes every Cache write fail (true) with errOutage, without
// reaching the backend, or ends that (false).
func (h *hooks) outage(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down = on
}

// errOutage is the failure of a Cache write during an outage.
var errOutage = errors.New("storetest: injected Cache outage")

// write runs a Cache write, or fails it during an outage.
func (h *hooks) write(f func() error) error {
	h.mu.Lock()
	down := h.down
	h.mu.Unlock()
	if down {
		return errOutage
	}
	return f()
}

// pending reports whether a trigger is armed and has not fired.
func (h *hooks) pending() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.armed != nil
}

// lastKey returns the key of the latest call of op.
func (h *hooks) lastKey(op string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last[op]
}

// take returns the calls made since the last take, sorted.
func (h *hooks) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	calls := h.calls
	h.calls = nil
	slices.Sort(calls)
	return calls
}

// call records a call and runs the trigger's before if it matches,
// outside the lock (so that the operation it runs goes through the hooks
// too). It returns what to do with the call's result.
func (h *hooks) call(op, key string) func(error) error {
	h.mu.Lock()
	h.calls = append(h.calls, op)
	if h.last == nil {
		h.last = map[string]string{}
	}
	h.last[op] = key
	tr := h.armed
	if tr != nil && tr.op == op && (tr.key == key || tr.key == anyKey) {
		h.armed = nil
	} else {
		tr = nil
	}
	h.mu.Unlock()
	if tr == nil {
		return func(err error) error { return err }
	}
	if tr.before != nil {
		tr.before()
	}
	if tr.after == nil {
		return func(err error) error { return err }
	}
	return tr.after
}

// hookedCache is a tier.Cache that calls its hooks around each call.
type hookedCache struct {
	c tier.Cache
	h *hooks
}

// Name is the wrapped Cache's (see tier.Named).
func (c hookedCache) Name() string { return nameOf(c.c, "cache") }

// nameOf returns a backend's name (tier.Named), else def.
func nameOf(backend any, def string) string {
	if n, ok := backend.(tier.Named); ok {
		return n.Name()
	}
	return def
}

func (c hookedCache) Get(ctx context.Context, key string) (*tier.Item, error) {
	done := c.h.call("cache.Get", key)
	it, err := c.c.Get(ctx, key)
	return it, done(err)
}

func (c hookedCache) Add(ctx context.Context, it *tier.Item) error {
	done := c.h.call("cache.Add", it.Key)
	return done(c.h.write(func() error { return c.c.Add(ctx, it) }))
}

func (c hookedCache) CompareAndSwap(ctx context.Context, it *tier.Item) error {
	done := c.h.call("cache.CompareAndSwap", it.Key)
	return done(c.h.write(func() error { return c.c.CompareAndSwap(ctx, it) }))
}

func (c hookedCache) Set(ctx context.Context, it *tier.Item) error {
	done := c.h.call("cache.Set", it.Key)
	return done(c.h.write(func() error { return c.c.Set(ctx, it) }))
}

func (c hookedCache) SetMulti(ctx context.Context, items []*tier.Item) error {
	done := c.h.call("cache.SetMulti", "")
	return done(c.h.write(func() error { return c.c.SetMulti(ctx, items) }))
}

func (c hookedCache) Delete(ctx context.Context, key string) error {
	done := c.h.call("cache.Delete", key)
	return done(c.h.write(func() error { return c.c.Delete(ctx, key) }))
}

// hookedDurable is a tier.Durable that calls its hooks around each call.
type hookedDurable struct {
	d tier.Durable
	h *hooks
}

// Name is the wrapped Durable tier's (see tier.Named).
func (d hookedDurable) Name() string { return nameOf(d.d, "durable") }

func (d hookedDurable) GetMulti(ctx context.Context, keys []string) ([]tier.Record, error) {
	done := d.h.call("durable.GetMulti", firstKey(keys))
	recs, err := d.d.GetMulti(ctx, keys)
	return recs, done(err)
}

func (d hookedDurable) PutMulti(ctx context.Context, keys []string, recs []tier.Record) error {
	done := d.h.call("durable.PutMulti", firstKey(keys))
	return done(d.d.PutMulti(ctx, keys, recs))
}

func (d hookedDurable) DeleteMulti(ctx context.Context, keys []string) error {
	done := d.h.call("durable.DeleteMulti", firstKey(keys))
	return done(d.d.DeleteMulti(ctx, keys))
}

func (d hookedDurable) Update(ctx context.Context, id string, f func(tier.Record, bool) (tier.Record, error)) error {
	done := d.h.call("durable.Update", id)
	return done(d.d.Update(ctx, id, f))
}

func (d hookedDurable) Expired(ctx context.Context, before time.Time, batch func(ids []string) error) error {
	done := d.h.call("durable.Expired", "")
	return done(d.d.Expired(ctx, before, batch))
}
