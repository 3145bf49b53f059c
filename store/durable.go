package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// durableTier is the Durable tier as the rest of the store sees it:
// sessions' records by ID, each hidden once the session is ended, over the
// app's key-value Durable, with its calls retried. A session has two keys:
// its record under the ID, and its tombstone under the ID plus EndSuffix,
// which End writes and purge deletes once it has expired.
type durableTier struct {
	d tier.Durable
	r retrier
}

// idsPerGet is the most sessions one backend GetMulti reads: two keys each.
const idsPerGet = tier.MaxBatch / 2

// resolve answers a read of a session from its record rec and its
// tombstone tomb, as one GetMulti read them (a nil Value: missing). A
// tombstone, live or expired, hides the record: it stays until purge
// deletes it, so that reading needs no clock.
func resolve(rec, tomb tier.Record) (tier.Record, error) {
	if tomb.Value != nil || rec.Value == nil {
		return tier.Record{}, tier.ErrNotFound
	}
	return rec, nil
}

// getMulti reads keys in one backend call, retried.
func (d *durableTier) getMulti(ctx context.Context, keys []string) ([]tier.Record, error) {
	recs, err := retry(ctx, d.r, func() ([]tier.Record, error) { return d.d.GetMulti(ctx, keys) })
	if err == nil && len(recs) != len(keys) {
		err = fmt.Errorf("gaesession/store: Durable.GetMulti returned %d records for %d keys", len(recs), len(keys))
	}
	return recs, err
}

// Get returns a session's record, or ErrNotFound when there is none or the
// session was ended: one backend call reads the record and its tombstone.
func (d *durableTier) Get(ctx context.Context, id string) (tier.Record, error) {
	recs, err := d.getMulti(ctx, []string{id, id + tier.EndSuffix})
	if err != nil {
		return tier.Record{}, err
	}
	return resolve(recs[0], recs[1])
}

// GetMulti is Get of several sessions, idsPerGet to a backend call; a
// record Get would not find has a nil Value.
func (d *durableTier) GetMulti(ctx context.Context, ids []string) ([]tier.Record, error) {
	out := make([]tier.Record, 0, len(ids))
	for start := 0; start < len(ids); start += idsPerGet {
		batch := ids[start:min(start+idsPerGet, len(ids))]
		keys := make([]string, 0, 2*len(batch))
		for _, id := range batch {
			keys = append(keys, id, id+tier.EndSuffix)
		}
		recs, err := d.getMulti(ctx, keys)
		if err != nil {
			return nil, err
		}
		for i := range batch {
			rec, _ := resolve(recs[2*i], recs[2*i+1]) // not found: a nil Value
			out = append(out, rec)
		}
	}
	return out, nil
}

// Put writes a session's record.
func (d *durableTier) Put(ctx context.Context, id string, rec tier.Record) error {
	return do(ctx, d.r, func() error { return d.d.PutMulti(ctx, []string{id}, []tier.Record{rec}) })
}

// Delete removes a session's record; a missing one is not an error.
func (d *durableTier) Delete(ctx context.Context, id string) error {
	return do(ctx, d.r, func() error { return d.d.DeleteMulti(ctx, []string{id}) })
}

// End ends up to MaxBatch sessions for good, in two backend calls: it
// writes their tombstones, each an empty value expiring at until, then
// deletes their records. Writes are last-writer-wins, so a write-back whose
// Put lands later brings a record back; Get keeps it unreadable while the
// tombstone stays. Purge deletes tombstones like expired records, so that
// Get needs no clock: the store's (Options.Now) sets until, purge's
// decides.
func (d *durableTier) End(ctx context.Context, ids []string, until time.Time) error {
	tombs, recs := make([]string, len(ids)), make([]tier.Record, len(ids))
	for i, id := range ids {
		tombs[i], recs[i] = id+tier.EndSuffix, tier.Record{Value: []byte{}, Expires: until}
	}
	if err := do(ctx, d.r, func() error { return d.d.PutMulti(ctx, tombs, recs) }); err != nil {
		return err
	}
	return d.DeleteMulti(ctx, ids)
}

// Update is the backend's Update of a record, retried; one that lost to
// concurrent transactions (ErrContention) is tried again after a short
// random pause, as many times as a compare-and-swap.
func (d *durableTier) Update(ctx context.Context, id string, f func(tier.Record, bool) (tier.Record, error)) error {
	var err error
	for i := range maxSwaps {
		if i > 0 && d.r.sleep(ctx, time.Duration(rand.Int64N(int64(time.Millisecond)<<min(i, 6)))) != nil {
			break
		}
		if err = do(ctx, d.r, func() error { return d.d.Update(ctx, id, f) }); !errors.Is(err, tier.ErrContention) {
			break
		}
	}
	return err
}

// DeleteMulti removes up to MaxBatch records.
func (d *durableTier) DeleteMulti(ctx context.Context, ids []string) error {
	return do(ctx, d.r, func() error { return d.d.DeleteMulti(ctx, ids) })
}

// ReadRecord reads session id's record from d as the store does, in one
// GetMulti of its record and its tombstone, not retried: ErrNotFound when
// there is none or the session was ended (its tombstone, live or expired,
// hides the record until purge deletes it). For tests and tools that look
// into a Durable tier.
func ReadRecord(ctx context.Context, d tier.Durable, id string) (tier.Record, error) {
	return (&durableTier{d: d, r: retrier{tries: 1}}).Get(ctx, id)
}
