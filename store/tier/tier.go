// Package tier is what a backend implements for package store: the two
// tiers' interfaces (Cache, Durable), what they hold (Item, Record), the
// answers that are not failures, and the storage names and limits shared
// with icza/gaesession. Apps use package store; only authors of a backend
// (package aestore, the gaesession/cloud module, a test double) need this
// one. Package storetest has the conformance suites every backend passes.
package tier

import (
	"context"
	"errors"
	"time"
)

// Cache is the fast tier: a key-value cache that may forget any item at any
// moment (App Engine Memcache, Redis, Valkey). The store serializes writes
// to a session through it with CompareAndSwap. Keys have at most MaxKeyLen
// bytes. Implementations are safe for concurrent use.
type Cache interface {
	// Get returns the item under key, carrying a token for CompareAndSwap,
	// or ErrCacheMiss.
	Get(ctx context.Context, key string) (*Item, error)
	// Add stores item if its key holds nothing, else returns ErrNotStored.
	Add(ctx context.Context, item *Item) error
	// CompareAndSwap replaces an item read with Get, if it has not changed
	// since: ErrCASConflict if it has, ErrNotStored if it is gone.
	CompareAndSwap(ctx context.Context, item *Item) error
	// Set stores item whatever its key holds.
	Set(ctx context.Context, item *Item) error
	// SetMulti is Set of several items in one round trip.
	SetMulti(ctx context.Context, items []*Item) error
	// Delete removes the item under key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// PrefixedCache is a Cache that accepts only keys with a fixed prefix
// (cloud.DatastoreCache). NewTiers panics when its KeyPrefix is not
// Options.KeyPrefix: every call would fail.
type PrefixedCache interface {
	Cache
	// KeyPrefix returns the prefix of every key the cache accepts.
	KeyPrefix() string
}

// Named is a Cache or Durable that gives its name ("memcache", "redis",
// "datastore") to the errors and logs of its failures. Others are called
// "cache" and "durable".
type Named interface {
	Name() string
}

// Item is a Cache entry.
type Item struct {
	Key     string
	Value   []byte
	Flags   uint32    // 0 for a session; FlagUnconfirmed or a tombstone's flag otherwise
	Expires time.Time // when the cache forgets it; the zero time is never
	Token   any       // set by Get, opaque: CompareAndSwap's version
}

// Durable is the tier that keeps sessions until they expire: App Engine's
// Datastore, or Firestore in Datastore mode. It is a plain key-value store
// of records by key name; writes are last-writer-wins. The store gives a
// session two keys: its record under the ID, and once the session is
// ended, a tombstone record under the ID plus EndSuffix (an empty value
// expiring when purge may delete it), which hides the record from the
// store until then. That rule is the store's: an implementation only
// stores what it is given. Implementations are safe for concurrent use.
type Durable interface {
	// GetMulti reads up to MaxBatch records in one round trip, one per
	// key, in order: a missing key gives a Record with a nil Value, a
	// present one a non-nil Value (empty for an empty value). Any other
	// failure fails the call.
	GetMulti(ctx context.Context, keys []string) ([]Record, error)
	// PutMulti writes up to MaxBatch records in one round trip: recs[i]
	// under keys[i]. A nil Value is stored as an empty one.
	PutMulti(ctx context.Context, keys []string, recs []Record) error
	// DeleteMulti removes up to MaxBatch records in one round trip; a
	// missing key is not an error.
	DeleteMulti(ctx context.Context, keys []string) error
	// Update reads a record (found reports whether it exists) and writes
	// what f returns, in one transaction; f may run more than once. A
	// returned record with a nil Value deletes the record; an error from
	// f writes nothing and is returned. When concurrent transactions on
	// the key keep it from committing, it fails with ErrContention
	// (wrapped): the store tries again later. For the per-user index of
	// sessions, and the session writes of StrictWrites.
	Update(ctx context.Context, key string, f func(rec Record, found bool) (Record, error)) error
	// Expired finds the records that expired before the given time and
	// calls batch with their keys, at most MaxBatch at a time, until there
	// are no more or batch returns an error, which Expired returns. One
	// query serves the whole run. For purge.
	Expired(ctx context.Context, before time.Time, batch func(keys []string) error) error
}

// Record is a session in the Durable tier.
type Record struct {
	Value   []byte    // the encoded session, as in the Cache
	Expires time.Time // when the session expires unless touched
}

// Answers of the backends that are not failures. Implementations return
// these (possibly wrapped) so that the store can tell them apart.
var (
	ErrCacheMiss   = errors.New("cache miss")
	ErrNotStored   = errors.New("item not stored")
	ErrCASConflict = errors.New("compare-and-swap conflict")
	ErrNotFound    = errors.New("no such record")
)

// ErrContention is the failure of a Durable Update that concurrent
// transactions on its record kept from committing: the store tries it
// again after a short random pause.
var ErrContention = errors.New("concurrent transactions on the record")

// Storage names and limits, shared with icza/gaesession.
const (
	// MaxKeyLen is the longest Cache key, KeyPrefix included (Memcache's
	// limit).
	MaxKeyLen = 250
	// MaxBatch is the most records one Durable GetMulti, PutMulti or
	// DeleteMulti takes (Datastore's limit for writes).
	MaxBatch = 500
	// DefaultKind is the Datastore kind of session records.
	DefaultKind = "sess_"
	// EndSuffix follows the ID in the key of an ended session's tombstone
	// record in the Durable tier; no ID contains it.
	EndSuffix = "!"
	// PropExpires and PropValue are the Datastore property names of a
	// record's expiry (indexed) and value (unindexed).
	PropExpires = "exp"
	PropValue   = "val"
)

// Item flags. With a tombstone flag (FlagRemoved, FlagRenewed, FlagGone) an
// Item holds no session: a request that loaded the session earlier finds
// it and writes nothing back.
const (
	// FlagRemoved marks a session ended by Remove (logout).
	FlagRemoved = 1
	// FlagRenewed marks an ID retired by Renew.
	FlagRenewed = 2
	// FlagGone marks a session found ended with no tombstone left to say
	// how (a logout or Renew whose tombstone was evicted).
	FlagGone = 3
	// FlagUnconfirmed marks a session that went into the Cache with Add:
	// a new one, or one put back from the Durable tier (by a read or a
	// write after a miss). An Add may land late, after the session ended
	// and its Cache tombstone was evicted. Readers and writers trust it
	// only after reading the Durable tier; the first to find the record
	// alive sets flag 0 (compare-and-swap). Never written without a
	// Durable tier.
	FlagUnconfirmed = 4
)

// InBatches calls batch with the IDs that next returns, MaxBatch at a time,
// until next reports no more (more false) or an error, or batch fails; it
// returns that error. For implementations of Durable.Expired over a query
// iterator.
func InBatches(next func() (id string, more bool, err error), batch func(ids []string) error) error {
	ids := make([]string, 0, MaxBatch)
	for {
		id, more, err := next()
		if err != nil {
			return err
		}
		if !more {
			break
		}
		if ids = append(ids, id); len(ids) == MaxBatch {
			if err := batch(ids); err != nil {
				return err
			}
			ids = make([]string, 0, MaxBatch)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return batch(ids)
}
