package store

import (
	"context"
	"errors"
	"time"

	"google.golang.org/appengine/v2"
	"google.golang.org/appengine/v2/datastore"
	"google.golang.org/appengine/v2/memcache"
)

// Memcache returns the Cache on App Engine's bundled Memcache. Its calls
// need an App Engine context (appengine.NewContext(r)).
func Memcache() Cache { return aeCache{} }

// Datastore returns the Durable tier on App Engine's bundled Datastore,
// with records of the given kind (DefaultKind when ""). Its calls need an
// App Engine context.
func Datastore(kind string) Durable {
	if kind == "" {
		kind = DefaultKind
	}
	return aeDurable{kind: kind}
}

type aeCache struct{}

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
func toMemcache(it *Item, cas bool) *memcache.Item {
	m, _ := it.Token.(*memcache.Item)
	if m == nil || !cas {
		m = &memcache.Item{}
	}
	m.Key, m.Value, m.Flags, m.Expiration = it.Key, it.Value, it.Flags, MemcacheTTL(it.Expires, time.Now())
	return m
}

func (aeCache) Get(ctx context.Context, key string) (*Item, error) {
	m, err := memcache.Get(ctx, key)
	if err != nil {
		return nil, mcErr(err)
	}
	return &Item{Key: key, Value: m.Value, Flags: m.Flags, Token: m}, nil
}

func (aeCache) Add(ctx context.Context, it *Item) error {
	return mcErr(memcache.Add(ctx, toMemcache(it, false)))
}

func (aeCache) CompareAndSwap(ctx context.Context, it *Item) error {
	if it.Token == nil {
		return errors.New("memcache: compare-and-swap of an item not read with Get")
	}
	return mcErr(memcache.CompareAndSwap(ctx, toMemcache(it, true)))
}

func (aeCache) Set(ctx context.Context, it *Item) error {
	return mcErr(memcache.Set(ctx, toMemcache(it, false)))
}

func (aeCache) Delete(ctx context.Context, key string) error {
	if err := mcErr(memcache.Delete(ctx, key)); !errors.Is(err, ErrCacheMiss) {
		return err
	}
	return nil
}

// mcErr maps memcache's answers to the Cache ones.
func mcErr(err error) error {
	switch {
	case errors.Is(err, memcache.ErrCacheMiss):
		return ErrCacheMiss
	case errors.Is(err, memcache.ErrNotStored):
		return ErrNotStored
	case errors.Is(err, memcache.ErrCASConflict):
		return ErrCASConflict
	}
	return err
}

type aeDurable struct{ kind string }

// entity is a session in Datastore, in icza/gaesession's format: the key
// name is the session ID.
type entity struct {
	Expires time.Time `datastore:"exp"`
	Value   []byte    `datastore:"val,noindex"`
}

func (d aeDurable) key(ctx context.Context, id string) *datastore.Key {
	return datastore.NewKey(ctx, d.kind, id, 0, nil)
}

// Get reads the record and its tombstone in one call.
func (d aeDurable) Get(ctx context.Context, id string) (Record, error) {
	keys := []*datastore.Key{d.key(ctx, id), d.key(ctx, id+EndSuffix)}
	ents := make([]entity, 2)
	errs := []error{nil, nil}
	var me appengine.MultiError
	switch err := datastore.GetMulti(ctx, keys, ents); {
	case errors.As(err, &me) && len(me) == 2:
		errs = me
	case err != nil:
		return Record{}, err
	}
	return ResolveGet(Record{Value: ents[0].Value, Expires: ents[0].Expires}, errs[0],
		Record{Expires: ents[1].Expires}, errs[1], datastore.ErrNoSuchEntity)
}

// ResolveGet answers a Durable Get from what was read for a session's
// record and its tombstone (ID plus EndSuffix), each with its error;
// missing is the client's error for a missing entity. For implementations
// of Durable.
func ResolveGet(rec Record, recErr error, tomb Record, tombErr, missing error) (Record, error) {
	switch {
	case tombErr == nil && time.Now().Before(tomb.Expires):
		return Record{}, ErrNotFound
	case tombErr != nil && !errors.Is(tombErr, missing):
		return Record{}, tombErr
	case errors.Is(recErr, missing):
		return Record{}, ErrNotFound
	case recErr != nil:
		return Record{}, recErr
	}
	return rec, nil
}

func (d aeDurable) End(ctx context.Context, id string, until time.Time) error {
	tomb := &entity{Expires: until, Value: []byte{}}
	if _, err := datastore.Put(ctx, d.key(ctx, id+EndSuffix), tomb); err != nil {
		return err
	}
	return d.Delete(ctx, id)
}

func (d aeDurable) Put(ctx context.Context, id string, r Record) error {
	_, err := datastore.Put(ctx, d.key(ctx, id), &entity{Expires: r.Expires, Value: r.Value})
	return err
}

func (d aeDurable) Delete(ctx context.Context, id string) error {
	if err := datastore.Delete(ctx, d.key(ctx, id)); !errors.Is(err, datastore.ErrNoSuchEntity) {
		return err
	}
	return nil
}

func (d aeDurable) Expired(ctx context.Context, before time.Time, batch func(ids []string) error) error {
	q := datastore.NewQuery(d.kind).Filter(PropExpires+" <", before).KeysOnly().BatchSize(MaxBatch)
	it := q.Run(ctx)
	ids := make([]string, 0, MaxBatch)
	for {
		k, err := it.Next(nil)
		if errors.Is(err, datastore.Done) {
			break
		}
		if err != nil {
			return err
		}
		if ids = append(ids, k.StringID()); len(ids) == MaxBatch {
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

func (d aeDurable) DeleteMulti(ctx context.Context, ids []string) error {
	keys := make([]*datastore.Key, len(ids))
	for i, id := range ids {
		keys[i] = d.key(ctx, id)
	}
	return datastore.DeleteMulti(ctx, keys)
}
