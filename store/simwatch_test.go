package store_test

import (
	"context"

	"github.com/gaesession/gaesession/store"
)

// The simulation's assumptions about evictions: Memcache does not evict an
// item while a write-back to it is in progress, from the request's cache
// write until the request and its background write have ended, nor evict
// one item twice while one request is in progress. Memcache evicts the
// least recently used items, and such an item was written milliseconds
// ago. watchCache tracks those windows per key and request. Nor does the
// simulation evict an item the durable tier is behind on: that happens
// only when a write-back's durable Put is overtaken by a later request's
// whole write (see the README's Security section); runs that end so are
// counted as diverged.

// watchCache marks a key busy when a request writes it.
type watchCache struct {
	store.Cache
	w *world
}

func (c watchCache) Add(ctx context.Context, it *store.Item) error {
	return c.w.wrote(ctx, it.Key, c.Cache.Add(ctx, it))
}

func (c watchCache) CompareAndSwap(ctx context.Context, it *store.Item) error {
	return c.w.wrote(ctx, it.Key, c.Cache.CompareAndSwap(ctx, it))
}

func (c watchCache) Set(ctx context.Context, it *store.Item) error {
	return c.w.wrote(ctx, it.Key, c.Cache.Set(ctx, it))
}

func (w *world) wrote(ctx context.Context, key string, err error) error {
	if err == nil && taskOf(ctx) != "" {
		w.mu.Lock()
		if w.busy[key] == nil {
			w.busy[key] = map[string]bool{}
		}
		w.busy[key][rootOf(taskOf(ctx))] = true
		w.mu.Unlock()
	}
	return err
}

// ended frees the keys a request wrote once all its tasks have ended.
func (w *world) ended(task string, live int) {
	if live > 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, reqs := range w.busy {
		delete(reqs, task)
	}
}

// evictable reports whether the simulation may evict key now: no
// write-back on it is in progress, and no request that was in progress at
// its last eviction still is (Memcache does not evict one item twice
// within a request's lifetime).
func (w *world) evictable(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.busy[key]) > 0 {
		return false
	}
	for _, req := range w.evicted[key] {
		if w.sched.alive(req) {
			return false
		}
	}
	return w.converged(key)
}

// evict makes the cache forget key, noting the requests in progress.
func (w *world) evict(key string) {
	w.model.Evict(key)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.evicted[key] = w.sched.requests()
}

// watchDurable notes the answers of the durable tier, for traces.
type watchDurable struct {
	store.Durable
	w *world
}

func (d watchDurable) Get(ctx context.Context, id string) (store.Record, error) {
	rec, err := d.Durable.Get(ctx, id)
	d.w.mu.Lock()
	d.w.note("%s durable.Get %s: %d bytes, %v", taskOf(ctx), short(id), len(rec.Value), err)
	d.w.mu.Unlock()
	return rec, err
}

func (d watchDurable) Delete(ctx context.Context, id string) error {
	err := d.Durable.Delete(ctx, id)
	d.w.mu.Lock()
	d.w.note("%s durable.Delete %s: %v", taskOf(ctx), short(id), err)
	d.w.mu.Unlock()
	return err
}

func (d watchDurable) Put(ctx context.Context, id string, rec store.Record) error {
	err := d.Durable.Put(ctx, id, rec)
	d.w.mu.Lock()
	d.w.note("%s durable.Put %s: %v", taskOf(ctx), id, err)
	d.w.mu.Unlock()
	return err
}
