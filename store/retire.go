package store

import (
	"bytes"
	"encoding/base64"
	"encoding/gob"
	"errors"
	"fmt"
	"time"

	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// retire replaces a session in the Cache with a FlagRenewed tombstone and
// ends it in the Durable tier (under the stored IDs ends), its tombstones
// lasting as long as a session of the given timeout could. It returns the
// newest value stored before (nil if none) and whether the tombstone is
// in place; when the session
// had ended, what its tombstone says (ErrRenewed, errRemoved, ErrGone; for
// a session the request loaded, no record in the Durable tier means
// errRemoved too); a Cache failure, having changed nothing; or, with the
// tombstone in place and the newest value read so far,
// ErrStillReadable when the Durable tier could not end the session, or the
// Cache could not retire a value put back and confirmed meanwhile.
func (s *Store) retire(id string, ends []string, timeout time.Duration, loaded bool) (newest []byte, retired bool, err error) {
	key := s.key(id)
	tomb := s.o.tombstone(s.sid(id), tier.FlagRenewed, s.o.tombstoneExpiry(timeout))
	for i := 0; i < maxSwaps && !retired; i++ {
		item, err := s.t.cache.Get(s.ctx, key)
		switch found(item, err) {
		case readEnded:
			return nil, false, tombstoneErr(item) // ErrRenewed to a second Renew
		case readSession, readUnconfirmed:
			newest = item.Value
			tomb.Token = item.Token
			err = s.t.cache.CompareAndSwap(s.ctx, tomb)
		case readMiss:
			// Tombstone first: a write-back that lands in the Durable tier
			// after the read below found the tombstone and was refused.
			if err = s.t.cache.Add(s.ctx, tomb); err == nil {
				retired = true
				if newest, err = s.durableValue(id); err == nil && newest == nil && loaded && s.t.durable != nil {
					err = errRemoved // ended, its tombstone evicted
				}
				if err != nil {
					return nil, true, err
				}
			}
		}
		switch {
		case err == nil:
			retired = true
		case errors.Is(err, tier.ErrCASConflict), errors.Is(err, tier.ErrNotStored):
		default:
			// Without the Cache's compare-and-swap the old ID cannot be
			// retired in one step: nothing is changed.
			return nil, false, &tierError{tierCache, err}
		}
	}
	if !retired {
		return nil, false, ErrConflict
	}
	if s.t.durable != nil {
		if s.o.StrictWrites && newest != nil {
			// The value retired may have been made from an older copy put
			// back, and lack a write the record holds: the record's value
			// is then taken over. Its writes are complete; those of the
			// value retired that it lacks are not (their transactions
			// follow, find no record, and report it, see put). Read and
			// deleted in one transaction, so that a write's transaction
			// lands before (and is taken over) or finds no record.
			err := s.t.durable.Update(s.ctx, s.sid(id), func(rec tier.Record, found bool) (tier.Record, error) {
				if found && !s.coversRecord(id, newest, rec) {
					newest = rec.Value
				}
				return tier.Record{}, nil
			})
			if err != nil {
				return newest, true, &tierError{tierDurable, fmt.Errorf("%w: %w", ErrStillReadable, err)}
			}
		}
		if err := s.t.end(s.ctx, ends, byRequest, timeout); err != nil {
			return newest, true, &tierError{tierDurable, fmt.Errorf("%w: %w", ErrStillReadable, err)}
		}
		v, err := s.retireAgain(tomb)
		if err != nil {
			return newest, true, err
		}
		// With StrictWrites, a value put back from an older copy loses to
		// one that holds its writes and more (writes it holds that the
		// record lacks are in flight, and report that they found no
		// record).
		if v != nil && (!s.o.StrictWrites || newest == nil || s.coversRecord(id, v, tier.Record{Value: newest})) {
			newest = v
		}
	}
	return newest, true, nil
}

// retireAgain runs once the Durable tier has ended the old ID: if the
// tombstone was evicted and a write-back put the session back and
// confirmed it before the end landed, that value is the newest (it holds
// the write-back's change, which it counts as done); it is retired too.
// Put-backs after now find the Durable tier ended. It returns the value
// retired, or nil; when the Cache fails, so that such a value may still be
// readable (or after maxSwaps conflicts), it deletes the key instead and
// fails with ErrStillReadable either way.
func (s *Store) retireAgain(tomb *tier.Item) ([]byte, error) {
	for range maxSwaps {
		item, err := s.t.cache.Get(s.ctx, tomb.Key)
		switch found(item, err) {
		case readMiss, readEnded:
			return nil, nil
		case readSession, readUnconfirmed:
			tomb.Token = item.Token
			switch err = s.t.cache.CompareAndSwap(s.ctx, tomb); {
			case err == nil:
				return item.Value, nil
			case errors.Is(err, tier.ErrCASConflict), errors.Is(err, tier.ErrNotStored):
				continue
			}
		}
		return nil, &tierError{tierCache, s.t.deleteInstead(s.ctx, []*tier.Item{tomb}, err)}
	}
	return nil, &tierError{tierCache, s.t.deleteInstead(s.ctx, []*tier.Item{tomb}, ErrConflict)}
}

// durableValue returns a session's value in the Durable tier, nil if none.
func (s *Store) durableValue(id string) ([]byte, error) {
	if s.t.durable == nil {
		return nil, nil
	}
	rec, err := s.t.durable.Get(s.ctx, s.sid(id))
	if errors.Is(err, tier.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, &tierError{tierDurable, err}
	}
	return rec.Value, nil
}

// sessionFields holds the fields of an icza/session session; gob matches
// them by name, so a session decodes into it.
type sessionFields struct {
	CAttrsF  map[string]any
	AttrsF   map[string]any
	TimeoutF time.Duration
}

// renewed returns a copy of sess under a new random ID as long as the old
// one (at least 24 characters), with the same constant and ordinary
// attributes and timeout (or the given one, if positive), created now.
// The copy is made with gob under the session's lock; it fails when an
// attribute cannot be encoded with gob.
func renewed(sess session.Session, timeout time.Duration) (session.Session, error) {
	var buf bytes.Buffer
	var rec sessionFields
	err := locked(sess, func() error { return gob.NewEncoder(&buf).Encode(unwrap(sess)) })
	if err == nil {
		err = gob.NewDecoder(&buf).Decode(&rec)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	n := max(base64.URLEncoding.DecodedLen(len(sess.ID())), 18)
	if timeout <= 0 {
		timeout = rec.TimeoutF
	}
	return session.NewSessionOptions(&session.SessOptions{
		CAttrs: rec.CAttrsF, Attrs: rec.AttrsF, Timeout: timeout, IDLength: n,
	}), nil
}
