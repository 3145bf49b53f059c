package cloud

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession/store/tier"
	"google.golang.org/api/iterator"
)

// Datastore returns a tier.Durable on Firestore in Datastore mode (or the
// Datastore emulator), through a client the app created once, with
// records of the given kind (tier.DefaultKind when ""). It writes the
// entities App Engine's bundled Datastore backend (aestore.Datastore)
// writes, in the client's project and its default namespace: key name =
// session ID, no ancestor, property tier.PropExpires (a time, indexed)
// and tier.PropValue (bytes, not indexed). Sessions written by either
// backend are read by the other.
func Datastore(client *datastore.Client, kind string) tier.Durable {
	if kind == "" {
		kind = tier.DefaultKind
	}
	return &dsDurable{c: client, kind: kind}
}

type dsDurable struct {
	c    *datastore.Client
	kind string
}

// Name implements tier.Named.
func (*dsDurable) Name() string { return "datastore" }

// entity is a session record; its property names are tier.PropExpires and
// tier.PropValue (struct tags must be constants).
type entity struct {
	Expires time.Time `datastore:"exp"`
	Value   []byte    `datastore:"val,noindex"`
}

func (d *dsDurable) key(id string) *datastore.Key {
	return datastore.NameKey(d.kind, id, nil)
}

func (d *dsDurable) keys(names []string) []*datastore.Key {
	keys := make([]*datastore.Key, len(names))
	for i, name := range names {
		keys[i] = d.key(name)
	}
	return keys
}

// GetMulti reads the records in one call; a missing one has a nil Value.
func (d *dsDurable) GetMulti(ctx context.Context, names []string) ([]tier.Record, error) {
	if err := overMax("get-multi", len(names)); err != nil {
		return nil, err
	}
	ents := make([]entity, len(names))
	errs := make([]error, len(names))
	var me datastore.MultiError
	switch err := d.c.GetMulti(ctx, d.keys(names), ents); {
	case errors.As(err, &me) && len(me) == len(names):
		errs = me
	case err != nil:
		return nil, dsErr(ctx, "get-multi", err)
	}
	loaded(errs)
	recs := make([]tier.Record, len(names))
	for i, err := range errs {
		switch {
		case errors.Is(err, datastore.ErrNoSuchEntity):
			continue
		case err != nil:
			return nil, dsErr(ctx, "get-multi", err)
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
func (d *dsDurable) PutMulti(ctx context.Context, names []string, recs []tier.Record) error {
	if err := overMax("put-multi", len(names)); err != nil {
		return err
	}
	ents := make([]entity, len(recs))
	for i, r := range recs {
		ents[i] = entity{Expires: r.Expires, Value: present(r.Value)}
	}
	_, err := d.c.PutMulti(ctx, d.keys(names), ents)
	return dsErr(ctx, "put-multi", err)
}

// DeleteMulti deletes the records in one call; missing ones are not errors.
func (d *dsDurable) DeleteMulti(ctx context.Context, names []string) error {
	if err := overMax("delete-multi", len(names)); err != nil {
		return err
	}
	return dsErr(ctx, "delete-multi", d.c.DeleteMulti(ctx, d.keys(names)))
}

// overMax refuses more than tier.MaxBatch records in one call, which the
// emulator would take and Firestore would not.
func overMax(op string, n int) error {
	if n > tier.MaxBatch {
		return fmt.Errorf("datastore %s: %d records, over %d", op, n, tier.MaxBatch)
	}
	return nil
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

// Update reads and writes a record in one transaction.
func (d *dsDurable) Update(ctx context.Context, id string, f func(tier.Record, bool) (tier.Record, error)) error {
	_, err := d.c.RunInTransaction(ctx, func(tx *datastore.Transaction) error {
		var e entity
		err := tx.Get(d.key(id), &e)
		if err != nil && !errors.Is(err, datastore.ErrNoSuchEntity) {
			return err
		}
		rec, ferr := f(tier.Record{Value: e.Value, Expires: e.Expires}, err == nil)
		switch {
		case ferr != nil:
			return ferr
		case rec.Value == nil:
			return tx.Delete(d.key(id))
		}
		_, err = tx.Put(d.key(id), &entity{Expires: rec.Expires, Value: rec.Value})
		return err
	})
	if errors.Is(err, datastore.ErrConcurrentTransaction) {
		err = fmt.Errorf("%w: %w", tier.ErrContention, err)
	}
	return dsErr(ctx, "update", err)
}

func (d *dsDurable) Expired(ctx context.Context, before time.Time, batch func(ids []string) error) error {
	q := datastore.NewQuery(d.kind).FilterField(tier.PropExpires, "<", before).KeysOnly()
	it := d.c.Run(ctx, q)
	return tier.InBatches(func() (string, bool, error) {
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
