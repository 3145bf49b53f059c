package aestore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/appengine/v2"
	"google.golang.org/appengine/v2/datastore"

	"github.com/gaesession/gaesession/store/tier"
)

// Datastore returns the tier.Durable tier on App Engine's bundled
// Datastore, with records of the given kind (tier.DefaultKind when ""). Its
// calls need an App Engine context.
func Datastore(kind string) tier.Durable {
	if kind == "" {
		kind = tier.DefaultKind
	}
	return aeDurable{kind: kind}
}

type aeDurable struct{ kind string }

// Name implements tier.Named.
func (aeDurable) Name() string { return "datastore" }

// entity is a session in Datastore, in icza/gaesession's format: the key
// name is the session ID.
type entity struct {
	Expires time.Time `datastore:"exp"`
	Value   []byte    `datastore:"val,noindex"`
}

func (d aeDurable) key(ctx context.Context, id string) *datastore.Key {
	return datastore.NewKey(ctx, d.kind, id, 0, nil)
}

func (d aeDurable) keys(ctx context.Context, names []string) []*datastore.Key {
	keys := make([]*datastore.Key, len(names))
	for i, name := range names {
		keys[i] = d.key(ctx, name)
	}
	return keys
}

// GetMulti reads the records in one call; a missing one has a nil Value.
func (d aeDurable) GetMulti(ctx context.Context, names []string) ([]tier.Record, error) {
	ents := make([]entity, len(names))
	errs := make([]error, len(names))
	var me appengine.MultiError
	switch err := datastore.GetMulti(ctx, d.keys(ctx, names), ents); {
	case errors.As(err, &me) && len(me) == len(names):
		errs = me
	case err != nil:
		return nil, err
	}
	recs := make([]tier.Record, len(names))
	for i, e := range errs {
		var fm *datastore.ErrFieldMismatch
		switch {
		case errors.Is(e, datastore.ErrNoSuchEntity):
			continue
		case e != nil && !errors.As(e, &fm): // more properties than exp and val (cloud.DatastoreCache's ver): both were loaded
			return nil, e
		}
		recs[i] = tier.Record{Value: present(ents[i].Value), Expires: ents[i].Expires}
	}
	return recs, nil
}

// present is the value of an entity read: never nil, which means missing.
func present(v []byte) []byte {
	if v == nil {
		return []byte{}
	}
	return v
}

// PutMulti writes the records in one call.
func (d aeDurable) PutMulti(ctx context.Context, names []string, recs []tier.Record) error {
	ents := make([]entity, len(recs))
	for i, r := range recs {
		ents[i] = entity{Expires: r.Expires, Value: present(r.Value)}
	}
	_, err := datastore.PutMulti(ctx, d.keys(ctx, names), ents)
	return err
}

// DeleteMulti deletes the records in one call; missing ones are not errors.
func (d aeDurable) DeleteMulti(ctx context.Context, names []string) error {
	err := datastore.DeleteMulti(ctx, d.keys(ctx, names))
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

func (d aeDurable) Update(ctx context.Context, id string, f func(tier.Record, bool) (tier.Record, error)) error {
	err := datastore.RunInTransaction(ctx, func(tx context.Context) error {
		var e entity
		err := datastore.Get(tx, d.key(tx, id), &e)
		if err != nil && !errors.Is(err, datastore.ErrNoSuchEntity) {
			return err
		}
		rec, err2 := f(tier.Record{Value: e.Value, Expires: e.Expires}, err == nil)
		switch {
		case err2 != nil:
			return err2
		case rec.Value == nil:
			return d.DeleteMulti(tx, []string{id})
		}
		_, err = datastore.Put(tx, d.key(tx, id), &entity{Expires: rec.Expires, Value: rec.Value})
		return err
	}, nil)
	if errors.Is(err, datastore.ErrConcurrentTransaction) || lostTransaction(err) {
		return fmt.Errorf("%w: %w", tier.ErrContention, err)
	}
	return err
}

// lostTransaction reports whether err says the transaction is gone: the
// dev server's answer when a retry of a transaction that lost to a
// concurrent one names it as the previous one (Datastore says "expired or
// no longer valid"). Nothing was committed; a new transaction may succeed.
func lostTransaction(err error) bool {
	msg := fmt.Sprint(err)
	return err != nil && strings.Contains(msg, "BAD_REQUEST") && strings.Contains(msg, "Transaction(") && strings.Contains(msg, "not found")
}

func (d aeDurable) Expired(ctx context.Context, before time.Time, batch func(ids []string) error) error {
	q := datastore.NewQuery(d.kind).Filter(tier.PropExpires+" <", before).KeysOnly().BatchSize(tier.MaxBatch)
	it := q.Run(ctx)
	return tier.InBatches(func() (string, bool, error) {
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
