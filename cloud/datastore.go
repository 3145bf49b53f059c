package cloud

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession/store"
	"google.golang.org/api/iterator"
)

// Datastore returns a store.Durable on Firestore in Datastore mode (or the
// Datastore emulator), through a client the app created once, with
// records of the given kind (store.DefaultKind when ""). It writes the
// entities App Engine's bundled Datastore backend (aestore.Datastore)
// writes, in the client's project and its default namespace: key name =
// session ID, no ancestor, property store.PropExpires (a time, indexed)
// and store.PropValue (bytes, not indexed). Sessions written by either
// backend are read by the other.
func Datastore(client *datastore.Client, kind string) store.Durable {
	if kind == "" {
		kind = store.DefaultKind
	}
	return &dsDurable{c: client, kind: kind}
}

type dsDurable struct {
	c    *datastore.Client
	kind string
}

// entity is a session record; its property names are store.PropExpires and
// store.PropValue (struct tags must be constants).
type entity struct {
	Expires time.Time `datastore:"exp"`
	Value   []byte    `datastore:"val,noindex"`
}

func (d *dsDurable) key(id string) *datastore.Key {
	return datastore.NameKey(d.kind, id, nil)
}

// Get reads the record and its tombstone in one call.
func (d *dsDurable) Get(ctx context.Context, id string) (store.Record, error) {
	keys := []*datastore.Key{d.key(id), d.key(id + store.EndSuffix)}
	ents := make([]entity, 2)
	errs := []error{nil, nil}
	var me datastore.MultiError
	switch err := d.c.GetMulti(ctx, keys, ents); {
	case errors.As(err, &me) && len(me) == 2:
		errs = me
	case err != nil:
		return store.Record{}, dsErr(ctx, "get", err)
	}
	loaded(errs)
	rec, err := store.ResolveGet(store.Record{Value: ents[0].Value, Expires: ents[0].Expires},
		errs[0], errs[1], datastore.ErrNoSuchEntity)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return rec, dsErr(ctx, "get", err)
	}
	return rec, err
}

// GetMulti reads the records and their tombstones in one call.
func (d *dsDurable) GetMulti(ctx context.Context, ids []string) ([]store.Record, error) {
	keys := make([]*datastore.Key, 0, 2*len(ids))
	for _, id := range ids {
		keys = append(keys, d.key(id), d.key(id+store.EndSuffix))
	}
	ents := make([]entity, len(keys))
	errs := make([]error, len(keys))
	var me datastore.MultiError
	switch err := d.c.GetMulti(ctx, keys, ents); {
	case errors.As(err, &me) && len(me) == len(keys):
		errs = me
	case err != nil:
		return nil, dsErr(ctx, "get-multi", err)
	}
	loaded(errs)
	recs := make([]store.Record, len(ids))
	for i := range ids {
		r := ents[2*i]
		rec, err := store.ResolveGet(store.Record{Value: r.Value, Expires: r.Expires},
			errs[2*i], errs[2*i+1], datastore.ErrNoSuchEntity)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, dsErr(ctx, "get-multi", err)
		}
		recs[i] = rec
	}
	return recs, nil
}

// loaded clears the errors of entities that have more properties than exp
// and val (DatastoreCache's ver), which the client loads all the same.
func loaded(errs []error) {
	for i, err := range errs {
		var fm *datastore.ErrFieldMismatch
		if errors.As(err, &fm) {
			errs[i] = nil
		}
	}
}

// End writes the tombstones in one call and deletes the records in another.
func (d *dsDurable) End(ctx context.Context, ids []string, until time.Time) error {
	tombs, keys := make([]*datastore.Key, len(ids)), make([]*datastore.Key, len(ids))
	ents := make([]entity, len(ids))
	for i, id := range ids {
		tombs[i], keys[i] = d.key(id+store.EndSuffix), d.key(id)
		ents[i] = entity{Expires: until, Value: []byte{}}
	}
	if _, err := d.c.PutMulti(ctx, tombs, ents); err != nil {
		return dsErr(ctx, "end", err)
	}
	return dsErr(ctx, "end", d.c.DeleteMulti(ctx, keys))
}

// Update reads and writes a record in one transaction.
func (d *dsDurable) Update(ctx context.Context, id string, f func(store.Record, bool) (store.Record, error)) error {
	_, err := d.c.RunInTransaction(ctx, func(tx *datastore.Transaction) error {
		var e entity
		err := tx.Get(d.key(id), &e)
		if err != nil && !errors.Is(err, datastore.ErrNoSuchEntity) {
			return err
		}
		rec, ferr := f(store.Record{Value: e.Value, Expires: e.Expires}, err == nil)
		switch {
		case ferr != nil:
			return ferr
		case rec.Value == nil:
			return tx.Delete(d.key(id))
		}
		_, err = tx.Put(d.key(id), &entity{Expires: rec.Expires, Value: rec.Value})
		return err
	})
	return dsErr(ctx, "update", err)
}

func (d *dsDurable) Put(ctx context.Context, id string, r store.Record) error {
	_, err := d.c.Put(ctx, d.key(id), &entity{Expires: r.Expires, Value: r.Value})
	return dsErr(ctx, "put", err)
}

func (d *dsDurable) Delete(ctx context.Context, id string) error {
	return dsErr(ctx, "delete", d.c.Delete(ctx, d.key(id)))
}

func (d *dsDurable) Expired(ctx context.Context, before time.Time, batch func(ids []string) error) error {
	q := datastore.NewQuery(d.kind).FilterField(store.PropExpires, "<", before).KeysOnly()
	it := d.c.Run(ctx, q)
	return store.InBatches(func() (string, bool, error) {
		k, err := it.Next(nil)
		switch {
		case errors.Is(err, iterator.Done):
			return "", false, nil
		case err != nil:
			return "", false, dsErr(ctx, "expired", err)
		}
		return k.Name, true, nil
	}, batch)
}

func (d *dsDurable) DeleteMulti(ctx context.Context, ids []string) error {
	if len(ids) > store.MaxBatch {
		return fmt.Errorf("datastore delete-multi: %d records, over %d", len(ids), store.MaxBatch)
	}
	keys := make([]*datastore.Key, len(ids))
	for i, id := range ids {
		keys[i] = d.key(id)
	}
	return dsErr(ctx, "delete-multi", d.c.DeleteMulti(ctx, keys))
}

// dsErr names the operation, and makes a call that failed because ctx
// ended match ctx's error (gRPC reports it as a status of its own).
func dsErr(ctx context.Context, op string, err error) error {
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && !errors.Is(err, ctx.Err()):
		return fmt.Errorf("datastore %s: %w (%v)", op, ctx.Err(), err)
	}
	return fmt.Errorf("datastore %s: %w", op, err)
}
