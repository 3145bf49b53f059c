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
	err := d.m.do(ctx, "durable.Get", id, func(now time.Time) error {
		if id == "" {
			return fmt.Errorf("durable.Get: %w", errNoID)
		}
		rec, ok := d.m.records[id]
		tomb, ended := d.m.records[id+store.EndSuffix]
		if !ok || ended && now.Before(tomb.Expires) {
			return store.ErrNotFound
		}
		r = store.Record{Value: clone(rec.Value), Expires: rec.Expires}
		return nil
	})
	return r, err
}

// End keeps a tombstone record and deletes the session's, in one step.
func (d modelDurable) End(ctx context.Context, id string, until time.Time) error {
	return d.m.do(ctx, "durable.End", id, func(time.Time) error {
		if id == "" {
			return fmt.Errorf("durable.End: %w", errNoID)
		}
		exp := time.UnixMicro(until.UnixMicro()).UTC()
		d.m.records[id+store.EndSuffix] = store.Record{Value: []byte{}, Expires: exp}
		delete(d.m.records, id)
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
