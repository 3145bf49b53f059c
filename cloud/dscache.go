package cloud

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// DatastoreCache returns a tier.Cache whose items are the session
// entities themselves, for apps without Redis (Datastore-only mode). Use
// it as the only tier, with the same key prefix (or, for sessions per
// user, in a kind of its own beside cloud.Datastore as the Durable tier;
// see the module's README):
//
//	store.Options{
//		Cache:        cloud.DatastoreCache(dc, "", "s:"),
//		KeyPrefix:    "s:",
//		OnlyMemcache: true, // no separate Durable record
//	}
//
// The store refuses at start-up (gaesession.New and store.NewTiers panic)
// a keyPrefix that is not store.Options.KeyPrefix.
//
// The item under keyPrefix+ID is the entity of the given kind
// (tier.DefaultKind when "") named ID: properties tier.PropExpires and
// tier.PropValue, as the App Engine backend writes them, plus "ver", an
// unindexed version. A tombstone (an item with Flags) is the entity
// ID+tier.EndSuffix, where the store keeps an ended session's tombstone
// record in the Durable tier, whose value is the flag byte followed by
// the item's value; writing it deletes the record, and writing a session
// deletes the tombstone. Get is one lookup of both entities and answers
// the live tombstone, else the live record (expired ones are misses, by
// the wall clock, as Memcache and Redis expire items, not by
// store.Options.Now; the store's Durable tombstone, an empty value, reads
// as tier.FlagGone). Add, CompareAndSwap and Set each run in a
// transaction that reads both (Set does not), checks, and writes with a
// new random version (never reused, so a token read before a Delete and
// an Add does not match); SetMulti puts all entities, then deletes the
// others, as the store ends sessions in the Durable tier. Delete deletes
// the record only: a live tombstone stays until it expires, so a logout
// whose Set reported a failure but landed is never undone. Items are never evicted; the zero Expires is stored as the end
// of year 9999. Purge with purge.Options{Durable: cloud.Datastore(dc,
// kind)}: it deletes expired records and tombstones alike.
func DatastoreCache(client *datastore.Client, kind, keyPrefix string) tier.Cache {
	if kind == "" {
		kind = tier.DefaultKind
	}
	return &dsCache{c: client, kind: kind, prefix: keyPrefix}
}

type dsCache struct {
	c            *datastore.Client
	kind, prefix string
}

// Name implements tier.Named.
func (*dsCache) Name() string { return "datastore-cache" }

var _ tier.PrefixedCache = (*dsCache)(nil)

// KeyPrefix implements tier.PrefixedCache.
func (d *dsCache) KeyPrefix() string { return d.prefix }

// versioned is a session entity with the version DatastoreCache adds.
type versioned struct {
	Expires time.Time `datastore:"exp"`
	Value   []byte    `datastore:"val,noindex"`
	Version int64     `datastore:"ver,noindex"`
}

// dsToken is an Item.Token of DatastoreCache: which entity Get found and
// its version.
type dsToken struct {
	tomb bool
	ver  int64
}

// never is how an Item that never expires is stored: the Datastore's
// last day, which no purge reaches.
var never = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// keys returns the record's and the tombstone's keys for a cache key.
func (d *dsCache) keys(key string) ([]*datastore.Key, error) {
	id, ok := strings.CutPrefix(key, d.prefix)
	switch {
	case !ok || id == "" || len(key) > tier.MaxKeyLen:
		// The key holds a session ID, a credential: errors name its ShortID.
		return nil, fmt.Errorf("datastore cache: key of session %s (%d bytes): want the prefix %q and an ID, at most %d bytes",
			store.ShortID(id), len(key), d.prefix, tier.MaxKeyLen)
	case strings.HasSuffix(id, tier.EndSuffix):
		return nil, fmt.Errorf("datastore cache: key of session %s ends with %q", store.ShortID(id), tier.EndSuffix)
	}
	return []*datastore.Key{datastore.NameKey(d.kind, id, nil), datastore.NameKey(d.kind, id+tier.EndSuffix, nil)}, nil
}

// read looks up the record and the tombstone of a key (with the client or
// in a transaction) and returns the item they make, nil when neither lives.
func read(key string, keys []*datastore.Key, getMulti func([]*datastore.Key, any) error) (*tier.Item, error) {
	ents := make([]versioned, 2)
	errs := []error{nil, nil}
	var me datastore.MultiError
	switch err := getMulti(keys, ents); {
	case errors.As(err, &me) && len(me) == 2:
		errs = me
	case err != nil:
		return nil, err
	}
	now := time.Now()
	for _, i := range []int{1, 0} { // a live tombstone wins
		var fm *datastore.ErrFieldMismatch
		switch err := errs[i]; {
		case errors.Is(err, datastore.ErrNoSuchEntity):
			continue
		case err != nil && !errors.As(err, &fm): // more properties than ours: still a session
			return nil, err
		case !now.Before(ents[i].Expires):
			continue
		}
		return item(key, &ents[i], i == 1), nil
	}
	return nil, nil
}

// item is the Item an entity read holds.
func item(key string, e *versioned, tomb bool) *tier.Item {
	it := &tier.Item{Key: key, Value: e.Value, Expires: e.Expires, Token: dsToken{tomb, e.Version}}
	if e.Expires.Equal(never) {
		it.Expires = time.Time{}
	}
	if tomb {
		it.Flags, it.Value = tier.FlagGone, nil // the store's Durable tombstone says no more
		if len(e.Value) > 0 {
			it.Flags, it.Value = uint32(e.Value[0]), e.Value[1:]
		}
	}
	if it.Value == nil {
		it.Value = []byte{}
	}
	return it
}

func (d *dsCache) Get(ctx context.Context, key string) (*tier.Item, error) {
	keys, err := d.keys(key)
	if err != nil {
		return nil, err
	}
	it, err := read(key, keys, func(k []*datastore.Key, dst any) error { return d.c.GetMulti(ctx, k, dst) })
	switch {
	case err != nil:
		return nil, dsErr(ctx, "cache get", err)
	case it == nil:
		return nil, tier.ErrCacheMiss
	}
	return it, nil
}

func (d *dsCache) Add(ctx context.Context, it *tier.Item) error {
	return d.write(ctx, "add", it, func(cur *tier.Item) error {
		if cur != nil {
			return tier.ErrNotStored
		}
		return nil
	})
}

func (d *dsCache) CompareAndSwap(ctx context.Context, it *tier.Item) error {
	tok, ok := it.Token.(dsToken)
	if !ok {
		return errors.New("datastore cache compare-and-swap: the item was not read with this cache's Get")
	}
	return d.write(ctx, "compare-and-swap", it, func(cur *tier.Item) error {
		switch {
		case cur == nil:
			return tier.ErrNotStored
		case cur.Token != tok:
			return tier.ErrCASConflict
		}
		return nil
	})
}

func (d *dsCache) Set(ctx context.Context, it *tier.Item) error {
	return d.write(ctx, "set", it, nil)
}

func (d *dsCache) Delete(ctx context.Context, key string) error {
	keys, err := d.keys(key)
	if err != nil {
		return err
	}
	return dsErr(ctx, "cache delete", d.c.Delete(ctx, keys[0]))
}

// write stores it in a transaction: it reads what the key holds, unless
// check is nil, and lets check refuse; then it puts the record, or for a
// tombstone the entity ID+EndSuffix, with a new version, and deletes the
// other one. A transaction that keeps colliding with others ends as a
// conflict for Add and CompareAndSwap, whose callers read again. It does
// not use datastore.BeginLater, which would save the BeginTransaction
// call: the emulator ignores a transaction begun by a Lookup, so the
// reads would be outside the transaction there (TestDatastoreCacheOneWinner
// then sees seven winners of eight).
func (d *dsCache) write(ctx context.Context, op string, it *tier.Item, check func(cur *tier.Item) error) error {
	w, err := d.writeOf(op, it)
	if err != nil {
		return err
	}
	_, err = d.c.RunInTransaction(ctx, func(tx *datastore.Transaction) error {
		if check != nil {
			cur, err := read(it.Key, w.keys, tx.GetMulti)
			if err != nil {
				return err
			}
			if err := check(cur); err != nil {
				return err
			}
		}
		if _, err := tx.Put(w.put, w.ent); err != nil {
			return err
		}
		return tx.Delete(w.del)
	})
	switch {
	case err == nil, errors.Is(err, tier.ErrNotStored), errors.Is(err, tier.ErrCASConflict):
		return err
	case check != nil && (errors.Is(err, datastore.ErrConcurrentTransaction) || status.Code(err) == codes.Aborted):
		if op == "add" {
			return tier.ErrNotStored
		}
		return tier.ErrCASConflict
	}
	return dsErr(ctx, "cache "+op, err)
}

// SetMulti puts the items' entities in one call, then deletes the other
// entities of their keys in another, tier.MaxBatch at a time, as the
// store ends sessions in the Durable tier: one transaction could not hold
// them (the emulator takes 25 entities in one). A failure stops before the
// deletes of its batch, so a session ended by a tombstone that landed
// stays ended.
func (d *dsCache) SetMulti(ctx context.Context, items []*tier.Item) error {
	for start := 0; start < len(items); start += tier.MaxBatch {
		batch := items[start:min(start+tier.MaxBatch, len(items))]
		puts, dels := make([]*datastore.Key, len(batch)), make([]*datastore.Key, len(batch))
		ents := make([]*versioned, len(batch))
		for i, it := range batch {
			w, err := d.writeOf("set-multi", it)
			if err != nil {
				return err
			}
			puts[i], dels[i], ents[i] = w.put, w.del, w.ent
		}
		if _, err := d.c.PutMulti(ctx, puts, ents); err != nil {
			return dsErr(ctx, "cache set-multi", err)
		}
		if err := d.c.DeleteMulti(ctx, dels); err != nil {
			return dsErr(ctx, "cache set-multi", err)
		}
	}
	return nil
}

// itemWrite is how an item is written: ent, with a new version, under
// put, and the key's other entity, del, deleted.
type itemWrite struct {
	keys     []*datastore.Key // the record's and the tombstone's
	put, del *datastore.Key
	ent      *versioned
}

func (d *dsCache) writeOf(op string, it *tier.Item) (itemWrite, error) {
	keys, err := d.keys(it.Key)
	switch {
	case err != nil:
		return itemWrite{}, err
	case len(it.Value) > MaxValueLen:
		return itemWrite{}, fmt.Errorf("datastore cache %s: value of %d bytes, over %d", op, len(it.Value), MaxValueLen)
	case it.Flags > 0xff:
		return itemWrite{}, fmt.Errorf("datastore cache %s: flags %d, over 255", op, it.Flags)
	}
	w := itemWrite{keys: keys, put: keys[0], del: keys[1],
		ent: &versioned{Expires: it.Expires, Value: append([]byte{}, it.Value...), Version: newVersion()}}
	if w.ent.Expires.IsZero() {
		w.ent.Expires = never
	}
	if it.Flags != 0 {
		w.put, w.del = keys[1], keys[0]
		w.ent.Value = append([]byte{byte(it.Flags)}, it.Value...)
	}
	return w, nil
}

// newVersion returns a random version: never 0, which reads as "no
// version" (an entity another backend wrote).
func newVersion() int64 { return rand.Int64N(1<<63-1) + 1 }
