package otel

import (
	"context"
	"errors"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// Durable returns d with every call traced and timed, as Cache does. The
// result keeps d's name (tier.Named).
func (t *Telemetry) Durable(d tier.Durable) tier.Durable {
	return &durable{d: d, k: newCaller(t, d, "durable", "GetMulti", "PutMulti", "DeleteMulti", "Update", "Expired")}
}

// The Durable tier's operations, numbered as Durable gives them to
// newCaller.
const (
	opGetMulti = iota
	opPutMulti
	opDeleteMulti
	opUpdate
	opExpired
)

// durable is a traced tier.Durable.
type durable struct {
	d tier.Durable
	k *caller
}

var _ tier.Named = (*durable)(nil)

// Name returns the inner tier's name, "" when it has none.
func (d *durable) Name() string {
	if n, ok := d.d.(tier.Named); ok {
		return n.Name()
	}
	return ""
}

func (d *durable) GetMulti(ctx context.Context, keys []string) ([]tier.Record, error) {
	ctx, k := d.k.start(ctx, opGetMulti, len(keys))
	recs, err := d.d.GetMulti(ctx, keys)
	if err != nil {
		k.end(outcomeError, err, keys...)
		return recs, err
	}
	k.found = 0
	for _, r := range recs {
		if r.Value != nil {
			k.found++
			k.size += len(r.Value)
		}
	}
	k.end(outcomeOK, nil)
	return recs, nil
}

func (d *durable) PutMulti(ctx context.Context, keys []string, recs []tier.Record) error {
	ctx, k := d.k.start(ctx, opPutMulti, len(keys))
	for _, r := range recs {
		k.size += len(r.Value)
	}
	err := d.d.PutMulti(ctx, keys, recs)
	k.end(writeOutcome(err), err, keys...)
	return err
}

func (d *durable) DeleteMulti(ctx context.Context, keys []string) error {
	ctx, k := d.k.start(ctx, opDeleteMulti, len(keys))
	err := d.d.DeleteMulti(ctx, keys)
	k.end(writeOutcome(err), err, keys...)
	return err
}

// Update's span covers the whole transaction, its retries included; its
// value size is that of the last record f returned to be written.
func (d *durable) Update(ctx context.Context, key string, f func(rec tier.Record, found bool) (tier.Record, error)) error {
	ctx, k := d.k.start(ctx, opUpdate, 0)
	var ferr error
	err := d.d.Update(ctx, key, func(rec tier.Record, found bool) (tier.Record, error) {
		out, err := f(rec, found)
		ferr, k.size = err, len(out.Value)
		return out, err
	})
	switch {
	case err != nil && ferr != nil && errors.Is(err, ferr):
		k.end(outcomeAborted, nil)
	default:
		k.end(writeOutcome(err), err, key)
	}
	return err
}

// Expired's span covers the query and the batches it hands over (purge's
// deletions run beside it, in spans of their own).
func (d *durable) Expired(ctx context.Context, before time.Time, batch func(keys []string) error) error {
	ctx, k := d.k.start(ctx, opExpired, 0)
	k.found = 0
	var berr error
	err := d.d.Expired(ctx, before, func(keys []string) error {
		k.found += len(keys)
		berr = batch(keys)
		return berr
	})
	switch {
	case err != nil && berr != nil && errors.Is(err, berr):
		k.end(outcomeAborted, nil)
	default:
		k.end(writeOutcome(err), err)
	}
	return err
}
