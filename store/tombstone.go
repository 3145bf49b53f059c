package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// isTombstone reports whether an Item with these flags holds no session:
// any flags but 0 and FlagUnconfirmed.
func isTombstone(flags uint32) bool {
	return flags != 0 && flags != tier.FlagUnconfirmed
}

// cacheRead is what a Cache Get found, as every reader of the Cache tells
// it apart (see found).
type cacheRead int

const (
	readMiss        cacheRead = iota // nothing: evicted, expired or never written
	readFailed                       // the call failed: the Cache may hold anything
	readEnded                        // a tombstone: the session ended
	readUnconfirmed                  // a session put in with Add, not yet vouched for
	readSession                      // a session
)

// found tells what a Cache Get's answer (item, err) is.
func found(item *tier.Item, err error) cacheRead {
	switch {
	case errors.Is(err, tier.ErrCacheMiss):
		return readMiss
	case err != nil:
		return readFailed
	case isTombstone(item.Flags):
		return readEnded
	case item.Flags == tier.FlagUnconfirmed:
		return readUnconfirmed
	}
	return readSession
}

// tombstoneErr returns what a tombstone says to a writer, nil for a
// session.
func tombstoneErr(item *tier.Item) error {
	switch item.Flags {
	case 0, tier.FlagUnconfirmed:
		return nil
	case tier.FlagRemoved:
		return errRemoved
	case tier.FlagRenewed:
		return ErrRenewed
	}
	return ErrGone
}

// endReason is what ended a session: a revocation also writes the Cache
// tombstones (see end).
type endReason int

const (
	// byRequest: a logout, a Renew, or a session found gone.
	byRequest endReason = iota
	// byRevocation: a revocation, which may end sessions of any timeout.
	byRevocation
)

// minTombstone is the shortest life of a tombstone: longer than any request
// or background write that may still hold the session.
const minTombstone = time.Hour

// maxRevoked is the life of the tombstones of a session whose timeout is
// not known (an index entry of an earlier release records none): longer
// than any session that a write-back landing late could extend.
const maxRevoked = 400 * 24 * time.Hour

// tombstoneSlack lengthens a tombstone beyond its session's timeout: a
// write-back landing late extends a record to its access time plus the
// timeout, stamped by another instance's clock, at most AsyncTimeout ago.
const tombstoneSlack = 10 * time.Minute

// tombstoneExpiry returns when the tombstones (both tiers) of a session of
// the given timeout may go: once its record could no longer be live (a
// write-back landing late extends it by at most its timeout, see
// tombstoneSlack), and no sooner than minTombstone.
func (o *Options) tombstoneExpiry(timeout time.Duration) time.Time {
	return o.Now().Add(max(timeout+tombstoneSlack, minTombstone))
}

// tombstone is the Cache item, flagged flag until until, that says the
// session stored under sid ended.
func (o *Options) tombstone(sid string, flag uint32, until time.Time) *tier.Item {
	return &tier.Item{Key: o.KeyPrefix + sid, Value: []byte{}, Flags: flag, Expires: until}
}

// bury puts a tombstone with the given flag in the Cache for a session of
// the given timeout, under each of its stored IDs sids (one Set, or one
// SetMulti), or, if that fails, deletes the session there. Either way
// without a tombstone it fails with ErrStillReadable: a request that read
// the session from the Durable tier just before may put it back.
func (s *Store) bury(ctx context.Context, sids []string, flag uint32, timeout time.Duration) error {
	until := s.o.tombstoneExpiry(timeout)
	tombs := make([]*tier.Item, len(sids))
	for i, sid := range sids {
		tombs[i] = s.o.tombstone(sid, flag, until)
	}
	var err error
	if len(tombs) == 1 {
		err = s.t.cache.Set(ctx, tombs[0])
	} else {
		err = s.t.cache.SetMulti(ctx, tombs)
	}
	if err != nil {
		return s.t.deleteInstead(ctx, tombs, err)
	}
	return nil
}

// end ends sessions of the given timeout in the Durable tier
// (Durable.End), MaxBatch at a time, for logout, Renew and revocation; a
// revocation also tombstones them in the Cache (FlagRemoved), a batch at a
// time after the Durable tier: a put-back read before it and confirmed
// since is then overwritten.
func (t *Tiers) end(ctx context.Context, ids []string, why endReason, timeout time.Duration) error {
	until := t.o.tombstoneExpiry(timeout)
	for start := 0; start < len(ids); start += tier.MaxBatch {
		batch := ids[start:min(start+tier.MaxBatch, len(ids))]
		derr := t.durable.End(ctx, batch, until)
		if derr != nil {
			derr = &tierError{tierDurable, derr}
		}
		if why != byRevocation {
			if derr != nil {
				return derr
			}
			continue
		}
		items := make([]*tier.Item, len(batch))
		for i, id := range batch {
			items[i] = t.o.tombstone(id, tier.FlagRemoved, until)
		}
		if err := t.cache.SetMulti(ctx, items); err != nil {
			return errors.Join(derr, &tierError{tierCache, t.deleteInstead(ctx, items, err)})
		}
		if derr != nil {
			return derr
		}
	}
	return nil
}

// deleteInstead deletes from the Cache the items whose tombstones could not
// be written (err). It fails with ErrStillReadable either way: without a
// tombstone, a request that read a session from the Durable tier just
// before may put it back.
func (t *Tiers) deleteInstead(ctx context.Context, tombs []*tier.Item, err error) error {
	for _, it := range tombs {
		if derr := t.cache.Delete(ctx, it.Key); derr != nil {
			return fmt.Errorf("%w: %w", ErrStillReadable, errors.Join(err, derr))
		}
	}
	return fmt.Errorf("%w: no tombstone, deleted instead: %w", ErrStillReadable, err)
}
