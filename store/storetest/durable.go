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
		rec, ok := d.m.records[id]
		if !ok {
			return store.ErrNotFound
		}
		r = store.Record{Value: clone(rec.Value), Expires: rec.Expires}
		return nil
	})
	return r, err
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

func (d modelDurable) Expired(ctx context.Context, before time.Time, cursor string, limit int) ([]string, string, error) {
	var (
		ids  []string
		next string
	)
	err := d.m.do(ctx, "durable.Expired", "", func(time.Time) error {
		if limit <= 0 {
			return fmt.Errorf("durable.Expired: limit %d is not positive", limit)
		}
		for id, r := range d.m.records {
			if id > cursor && r.Expires.Before(before) {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		if len(ids) >= limit {
			// Like the Datastore, a full page has a cursor even when
			// nothing follows.
			ids = ids[:limit]
			next = ids[limit-1]
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return ids, next, nil
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
