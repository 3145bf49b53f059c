package aestore

import (
	"context"
	"errors"
	"time"

	"google.golang.org/appengine/v2"
	"google.golang.org/appengine/v2/datastore"

	"github.com/gaesession/gaesession/store"
)

// Datastore returns the store.Durable tier on App Engine's bundled
// Datastore, with records of the given kind (store.DefaultKind when ""). Its
// calls need an App Engine context.
func Datastore(kind string) store.Durable {
	if kind == "" {
		kind = store.DefaultKind
	}
	return aeDurable{kind: kind}
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
func (d aeDurable) Get(ctx context.Context, id string) (store.Record, error) {
	recs, errs, err := d.getMulti(ctx, []string{id})
	if err != nil {
		return store.Record{}, err
	}
	return recs[0], errs[0]
}

// GetMulti reads the records and their tombstones in one call.
func (d aeDurable) GetMulti(ctx context.Context, ids []string) ([]store.Record, error) {
	recs, errs, err := d.getMulti(ctx, ids)
	for _, e := range errs {
		if e != nil && !errors.Is(e, store.ErrNotFound) {
			return nil, e
		}
	}
	return recs, err
}

// getMulti reads records with their tombstones and answers each as Get.
func (d aeDurable) getMulti(ctx context.Context, ids []string) ([]store.Record, []error, error) {
	keys := make([]*datastore.Key, 0, 2*len(ids))
	for _, id := range ids {
		keys = append(keys, d.key(ctx, id), d.key(ctx, id+store.EndSuffix))
	}
	ents := make([]entity, len(keys))
	errs := make([]error, len(keys))
	var me appengine.MultiError
	switch err := datastore.GetMulti(ctx, keys, ents); {
	case errors.As(err, &me) && len(me) == len(keys):
		errs = me
	case err != nil:
		return nil, nil, err
	}
	for i, e := range errs {
		var fm *datastore.ErrFieldMismatch
		if errors.As(e, &fm) {
			errs[i] = nil // more properties than exp and val (cloud.DatastoreCache's ver): both were loaded
		}
	}
	recs, recErrs := make([]store.Record, len(ids)), make([]error, len(ids))
	for i := range ids {
		r := ents[2*i]
		recs[i], recErrs[i] = store.ResolveGet(store.Record{Value: r.Value, Expires: r.Expires},
			errs[2*i], errs[2*i+1], datastore.ErrNoSuchEntity)
	}
	return recs, recErrs, nil
}

func (d aeDurable) Put(ctx context.Context, id string, r store.Record) error {
	_, err := datastore.Put(ctx, d.key(ctx, id), &entity{Expires: r.Expires, Value: r.Value})
	return err
}

func (d aeDurable) Delete(ctx context.Context, id string) error {
	if err := datastore.Delete(ctx, d.key(ctx, id)); !errors.Is(err, datastore.ErrNoSuchEntity) {
		return err
	}
	return nil
}

func (d aeDurable) End(ctx context.Context, ids []string, until time.Time) error {
	tombs, keys := make([]*datastore.Key, len(ids)), make([]*datastore.Key, len(ids))
	ents := make([]entity, len(ids))
	for i, id := range ids {
		tombs[i], keys[i] = d.key(ctx, id+store.EndSuffix), d.key(ctx, id)
		ents[i] = entity{Expires: until, Value: []byte{}}
	}
	if _, err := datastore.PutMulti(ctx, tombs, ents); err != nil {
		return err
	}
	err := datastore.DeleteMulti(ctx, keys)
	var me appengine.MultiError
	if errors.As(err, &me) {
		for _, e := range me {
			if e != nil && !errors.Is(e, datastore.ErrNoSuchEntity) {
				return e
			}
		}
		return nil
	}
	return err
}

func (d aeDurable) Update(ctx context.Context, id string, f func(store.Record, bool) (store.Record, error)) error {
	return datastore.RunInTransaction(ctx, func(tx context.Context) error {
		var e entity
		err := datastore.Get(tx, d.key(tx, id), &e)
		if err != nil && !errors.Is(err, datastore.ErrNoSuchEntity) {
			return err
		}
		rec, err2 := f(store.Record{Value: e.Value, Expires: e.Expires}, err == nil)
		switch {
		case err2 != nil:
			return err2
		case rec.Value == nil:
			return d.Delete(tx, id)
		}
		_, err = datastore.Put(tx, d.key(tx, id), &entity{Expires: rec.Expires, Value: rec.Value})
		return err
	}, nil)
}

func (d aeDurable) Expired(ctx context.Context, before time.Time, batch func(ids []string) error) error {
	q := datastore.NewQuery(d.kind).Filter(store.PropExpires+" <", before).KeysOnly().BatchSize(store.MaxBatch)
	it := q.Run(ctx)
	return store.InBatches(func() (string, bool, error) {
		k, err := it.Next(nil)
		switch {
		case errors.Is(err, datastore.Done):
			return "", false, nil
		case err != nil:
			return "", false, err
		}
		return k.StringID(), true, nil
	}, batch)
}

func (d aeDurable) DeleteMulti(ctx context.Context, ids []string) error {
	keys := make([]*datastore.Key, len(ids))
	for i, id := range ids {
		keys[i] = d.key(ctx, id)
	}
	return datastore.DeleteMulti(ctx, keys)
}
