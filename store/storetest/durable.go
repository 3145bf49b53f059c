package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// modelDurable is the Model's tier.Durable: a plain key-value store.
type modelDurable struct{ m *Model }

// Name implements tier.Named: the model stands for App Engine's Datastore.
func (modelDurable) Name() string { return "datastore" }

// errNoID is the answer to an empty key, which names no Datastore entity.
var errNoID = errors.New("empty key")

// firstKey is the key a multi-key call gives Before and After: its first,
// "" when it has none.
func firstKey(keys []string) string {
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// checkKeys refuses more than tier.MaxBatch keys, or an empty one.
func checkKeys(op string, keys []string) error {
	if len(keys) > tier.MaxBatch {
		return fmt.Errorf("%s: %d keys, at most %d", op, len(keys), tier.MaxBatch)
	}
	for _, k := range keys {
		if k == "" {
			return fmt.Errorf("%s: %w", op, errNoID)
		}
	}
	return nil
}

// GetMulti reads the records in one step; a missing one has a nil Value.
func (d modelDurable) GetMulti(ctx context.Context, keys []string) ([]tier.Record, error) {
	var recs []tier.Record
	err := d.m.do(ctx, "durable.GetMulti", firstKey(keys), func(time.Time) error {
		if err := checkKeys("durable.GetMulti", keys); err != nil {
			return err
		}
		recs = make([]tier.Record, len(keys))
		for i, k := range keys {
			if r, ok := d.m.records[k]; ok {
				recs[i] = tier.Record{Value: clone(r.Value), Expires: r.Expires}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// PutMulti writes the records in one step.
func (d modelDurable) PutMulti(ctx context.Context, keys []string, recs []tier.Record) error {
	return d.m.do(ctx, "durable.PutMulti", firstKey(keys), func(time.Time) error {
		if err := checkKeys("durable.PutMulti", keys); err != nil {
			return err
		}
		if len(recs) != len(keys) {
			return fmt.Errorf("durable.PutMulti: %d records for %d keys", len(recs), len(keys))
		}
		for i, k := range keys {
			d.m.records[k] = stored(recs[i])
		}
		return nil
	})
}

// stored is a record as the Datastore keeps it: a copy of the value,
// Expires to the microsecond, in UTC.
func stored(r tier.Record) tier.Record {
	return tier.Record{Value: clone(r.Value), Expires: time.UnixMicro(r.Expires.UnixMicro()).UTC()}
}

// DeleteMulti deletes the records in one step.
func (d modelDurable) DeleteMulti(ctx context.Context, keys []string) error {
	return d.m.do(ctx, "durable.DeleteMulti", firstKey(keys), func(time.Time) error {
		if err := checkKeys("durable.DeleteMulti", keys); err != nil {
			return err
		}
		for _, k := range keys {
			delete(d.m.records, k)
		}
		return nil
	})
}

// Update runs f on the record and stores its result, in one step.
func (d modelDurable) Update(ctx context.Context, id string, f func(tier.Record, bool) (tier.Record, error)) error {
	return d.m.do(ctx, "durable.Update", id, func(time.Time) error {
		rec, ok := d.m.records[id]
		out, err := f(tier.Record{Value: clone(rec.Value), Expires: rec.Expires}, ok)
		if err != nil {
			return err
		}
		if out.Value == nil {
			delete(d.m.records, id)
			return nil
		}
		d.m.records[id] = stored(out)
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
			ids = ids[:min(len(ids), tier.MaxBatch)]
			return nil
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		if err := batch(ids); err != nil {
			return err
		}
		if len(ids) < tier.MaxBatch {
			return nil
		}
		after = ids[len(ids)-1]
	}
}
