package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gaesession/gaesession/store"
)

// modelDurable is the Model's store.Durable.
type modelDurable struct{ m *Model }

// errNoID is the answer to an empty ID, which names no Datastore entity.
var errNoID = errors.New("empty session ID")

func (d modelDurable) Get(ctx context.Context, id string) (store.Record, error) {
	var r store.Record
	err := d.m.do(ctx, "durable.Get", id, func(time.Time) error {
		if id == "" {
			return fmt.Errorf("durable.Get: %w", errNoID)
		}
		var ok bool
		r, ok = d.read(id)
		if !ok {
			return store.ErrNotFound
		}
		return nil
	})
	return r, err
}

// GetMulti reads the records in one step; a missing or ended one has a
// nil Value.
func (d modelDurable) GetMulti(ctx context.Context, ids []string) ([]store.Record, error) {
	recs := make([]store.Record, len(ids))
	err := d.m.do(ctx, "durable.GetMulti", "", func(time.Time) error {
		for i, id := range ids {
			recs[i], _ = d.read(id)
		}
		return nil
	})
	return recs, err
}

// read returns a copy of a record unless it is missing or ended (its
// tombstone, live or expired, not yet purged). Callers hold the lock.
func (d modelDurable) read(id string) (store.Record, bool) {
	rec, ok := d.m.records[id]
	_, ended := d.m.records[id+store.EndSuffix]
	if !ok || ended {
		return store.Record{}, false
	}
	return store.Record{Value: clone(rec.Value), Expires: rec.Expires}, true
}

// End keeps tombstone records and deletes the sessions' in one step.
func (d modelDurable) End(ctx context.Context, ids []string, until time.Time) error {
	key := ""
	if len(ids) == 1 {
		key = ids[0]
	}
	return d.m.do(ctx, "durable.End", key, func(time.Time) error {
		if len(ids) > store.MaxBatch {
			return fmt.Errorf("durable.End: %d ids, at most %d", len(ids), store.MaxBatch)
		}
		exp := time.UnixMicro(until.UnixMicro()).UTC()
		for _, id := range ids {
			if id == "" {
				return fmt.Errorf("durable.End: %w", errNoID)
			}
			d.m.records[id+store.EndSuffix] = store.Record{Value: []byte{}, Expires: exp}
			delete(d.m.records, id)
		}
		return nil
	})
}

// Update runs f on the record and stores its result, in one step.
func (d modelDurable) Update(ctx context.Context, id string, f func(store.Record, bool) (store.Record, error)) error {
	return d.m.do(ctx, "durable.Update", id, func(time.Time) error {
		rec, ok := d.m.records[id]
		out, err := f(store.Record{Value: clone(rec.Value), Expires: rec.Expires}, ok)
		if err != nil {
			return err
		}
		if out.Value == nil {
			delete(d.m.records, id)
			return nil
		}
		exp := time.UnixMicro(out.Expires.UnixMicro()).UTC()
		d.m.records[id] = store.Record{Value: clone(out.Value), Expires: exp}
		return nil
	})
}

func (d modelDurable) Put(ctx context.Context, id string, r store.Record) error {
	return d.m.do(ctx, "durable.Put", id, func(time.Time) error {
		if id == "" {
			return fmt.Errorf("durable.Put: %w", errNoID)
		}
		// The Datastore keeps microseconds and returns UTC.
		exp := time.UnixMicro(r.Expires.UnixMicro()).UTC()
		d.m.records[id] = store.Record{Value: clone(r.Value), Expires: exp}
		return nil
	})
}

func (d modelDurable) Delete(ctx context.Context, id string) error {
	return d.m.do(ctx, "durable.Delete", id, func(time.Time) error {
		delete(d.m.records, id)
		return nil
	})
}

// Expired reads the expired IDs a batch at a time, as a Datastore query
// does: each batch sees the records as they are when it is read, after a
// call of Before with the last ID of the batch before ("" for the first).
// batch runs outside the lock, so it may call the model.
func (d modelDurable) Expired(ctx context.Context, before time.Time, batch func(ids []string) error) error {
	after := ""
	for {
		var ids []string
		err := d.m.do(ctx, "durable.Expired", after, func(time.Time) error {
			for id, r := range d.m.records {
				if id > after && r.Expires.Before(before) {
					ids = append(ids, id)
				}
			}
			slices.Sort(ids)
			ids = ids[:min(len(ids), store.MaxBatch)]
			return nil
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		if err := batch(ids); err != nil {
			return err
		}
		if len(ids) < store.MaxBatch {
			return nil
		}
		after = ids[len(ids)-1]
	}
}

func (d modelDurable) DeleteMulti(ctx context.Context, ids []string) error {
	return d.m.do(ctx, "durable.DeleteMulti", "", func(time.Time) error {
		if len(ids) > store.MaxBatch {
			return fmt.Errorf("durable.DeleteMulti: %d IDs, at most %d", len(ids), store.MaxBatch)
		}
		for _, id := range ids {
			delete(d.m.records, id)
		}
		return nil
	})
}
