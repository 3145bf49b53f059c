package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// DefaultMaxValue is the largest Cache value a Model takes by default:
// the dev server's Memcache limit, 1 MiB less a 250-byte key and 73 bytes
// of overhead, whatever the key's length (memcache_stub.py). Production
// Memcache documents 1 MB less the key's length and about 73 bytes, which
// is never less for a key of at most tier.MaxKeyLen bytes.
const DefaultMaxValue = 1<<20 - tier.MaxKeyLen - memcacheOverhead

// memcacheOverhead is Memcache's per-item overhead in bytes.
const memcacheOverhead = 73

// ModelOptions configures a Model. The zero value is a Redis-like cache on
// the wall clock, without faults.
type ModelOptions struct {
	// Memcache makes the cache expire items as App Engine Memcache does
	// (see Model). Default: false, Item.Expires is used as is.
	Memcache bool

	// MaxValue is the largest Cache value in bytes; a larger one fails
	// with an error. Default: DefaultMaxValue.
	MaxValue int

	// Now is the model's clock. Default: time.Now.
	Now func() time.Time

	// Before, if set, is called at the start of every call of the Cache
	// and Durable views, outside the model's lock, with the operation
	// ("cache.Get", "cache.Add", "cache.CompareAndSwap", "cache.Set",
	// "cache.SetMulti", "cache.Delete", "durable.GetMulti",
	// "durable.PutMulti", "durable.DeleteMulti", "durable.Update",
	// "durable.Expired") and the key: the cache key; a Durable call's
	// first key ("" when it has none: the store reads a session as
	// GetMulti of its ID and its tombstone's key, writes it as PutMulti of
	// its ID, ends sessions as PutMulti of their tombstones' keys then
	// DeleteMulti of their IDs); "" for SetMulti; for Expired, which calls
	// it before each batch it reads, the last key of the batch before, ""
	// at first.
	// An error fails the call with that error and no effect; blocking
	// delays the call. Default: nil.
	Before func(ctx context.Context, op, key string) error

	// After, if set, is called when a call has taken effect (Before let it
	// through), outside the model's lock, with the same op and key and the
	// call's result; what it returns is the call's result. Returning an
	// error for a call that succeeded fakes an ambiguous failure: the
	// effect happened, the caller is told it failed (or timed out).
	// Default: nil.
	After func(ctx context.Context, op, key string, err error) error
}

// Model is an in-process, deterministic model of the two storage tiers,
// for simulation tests of the store's protocol. It passes the same
// conformance suites (TestCache, TestDurable) as App Engine's services.
//
// The cache keeps flags, copies values in and out, refuses a nil value
// (appengine/v2 does: a required field), and gives every write a
// new CAS version from one counter, so a token read before a Delete and
// Add is stale, as in Memcache. With ModelOptions.Memcache an item's
// Expires becomes aestore.MemcacheTTL(Expires, now) in whole seconds, as
// appengine/v2 sends it (under a second: already expired), and a relative
// expiration over 30 days is read as a Unix time, as the service does.
//
// The durable tier is a plain key-value store, as tier.Durable is: it
// knows nothing of the store's tombstone records. It keeps Expires to the
// microsecond, in UTC, as the Datastore does, and refuses an empty key or
// more than tier.MaxBatch keys in one call. Expired gives keys in order,
// tier.MaxBatch at a time, each batch read when the one before has been
// handled.
//
// Each call's effect happens atomically; a Model is safe for concurrent
// use.
type Model struct {
	opts    ModelOptions
	mu      sync.Mutex
	items   map[string]*entry
	records map[string]tier.Record
	version uint64 // the last CAS version given out
}

// entry is a cached item.
type entry struct {
	value    []byte
	flags    uint32
	deadline time.Time // when the cache forgets it; zero is never
	version  uint64
}

// NewModel returns an empty Model.
func NewModel(opts ModelOptions) *Model {
	if opts.MaxValue == 0 {
		opts.MaxValue = DefaultMaxValue
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Model{opts: opts, items: map[string]*entry{}, records: map[string]tier.Record{}}
}

// Cache returns the model's cache tier.
func (m *Model) Cache() tier.Cache { return modelCache{m} }

// Durable returns the model's durable tier.
func (m *Model) Durable() tier.Durable { return modelDurable{m} }

// do runs f under the lock at the model's time, after Before.
func (m *Model) do(ctx context.Context, op, key string, f func(now time.Time) error) error {
	if m.opts.Before != nil {
		if err := m.opts.Before(ctx, op, key); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	m.mu.Lock()
	err := f(m.opts.Now())
	m.mu.Unlock()
	if m.opts.After != nil {
		err = m.opts.After(ctx, op, key, err)
	}
	return err
}

// live returns the item under key unless it is missing or expired (and
// then forgets it). Callers hold m.mu.
func (m *Model) live(key string, now time.Time) *entry {
	e := m.items[key]
	if e != nil && !e.deadline.IsZero() && !now.Before(e.deadline) {
		delete(m.items, key)
		return nil
	}
	return e
}

// CacheItem returns the live item under key, bypassing Before. Its
// Expires is when the model will forget it (zero: never) and its Token
// works with CompareAndSwap.
func (m *Model) CacheItem(key string) (tier.Item, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.live(key, m.opts.Now())
	if e == nil {
		return tier.Item{}, false
	}
	return tier.Item{Key: key, Value: clone(e.value), Flags: e.flags, Expires: e.deadline,
		Token: token{m, e.version}}, true
}

// Keys returns the keys of the live cache items, sorted.
func (m *Model) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.opts.Now()
	keys := make([]string, 0, len(m.items))
	for k := range m.items {
		if m.live(k, now) != nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// Evict makes the cache forget the item under key at once, as Memcache
// may at any moment.
func (m *Model) Evict(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.items, key)
}

// Record returns the durable record of id, bypassing Before.
func (m *Model) Record(id string) (tier.Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[id]
	return tier.Record{Value: clone(r.Value), Expires: r.Expires}, ok
}

// SetRecord writes a durable record, bypassing Before and After: for a
// test that sets the state of the durable tier directly.
func (m *Model) SetRecord(id string, r tier.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[id] = stored(r)
}

// IDs returns the IDs of the durable records, sorted.
func (m *Model) IDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]string, 0, len(m.records))
	for id := range m.records {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// clone copies b, never nil: the services return an empty value as such.
func clone(b []byte) []byte { return append([]byte{}, b...) }
