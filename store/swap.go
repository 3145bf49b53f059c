package store

import (
	"bytes"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// maxSwaps bounds the compare-and-swap attempts of one write. Each conflict
// means another request's write landed, so this is far more than the
// concurrent requests one session sees.
const maxSwaps = 32

// errRemoved: a write found the session logged out. Not a failure: the
// logout wins.
var errRemoved = errors.New("session was removed")

// written is what a Cache write left there: the value, its expiry, and
// whether it holds other requests' changes too (merged), with the stored
// value it was merged onto (from); unconfirmed when it went to the Cache
// with FlagUnconfirmed, to be confirmed after the Durable write; and the
// request's changes.
type written struct {
	value       []byte
	exp         time.Time
	merged      bool
	from        []byte
	unconfirmed bool
	changes     map[string]any // the request's, for a check after the Durable write (put)
	wid         string         // the write's ID (see AttrWrites)
	seen        []string       // the write IDs of the value the changes went onto
}

// onto applies the write's changes to a value found in a tier that lacks
// the write (see AttrWrites), after it landed late: each attribute that
// the value holds as set by a write this one saw, or by none, or by a
// write made before this one (see later); so of two writes of an
// attribute that did not see each other the later one wins, in both tiers
// whatever the order they land in. The caller stamps the result.
func (w written) onto(theirs session.Session) {
	by := setBy(theirs)
	var set []string
	for k, v := range w.changes {
		if b := by[k]; b == "" || b == w.wid || slices.Contains(w.seen, b) || later(w.wid, b) {
			theirs.SetAttr(k, v)
			set = append(set, k)
		}
	}
	markSet(theirs, set, w.wid)
}

// swap writes w to the Cache with compare-and-swap, never over a version
// newer than the one the request loaded. On a conflict it reads the newer
// version and applies the request's changes to it (a session added whole
// overwrites it) and tries again. When the Cache has lost the session (a
// miss this request saw: a Durable copy read before it may predate an
// eviction), the Durable copy read after is the newest version, and the
// changes go onto it (refill).
// It returns what the Cache holds: w, or the merged value; errRemoved,
// ErrRenewed or ErrGone when the session ended meanwhile; on other
// failures, the value to back up (if any) with the error.
func (s *Store) swap(id string, e *entry, w written, changes map[string]any) (written, error) {
	key := s.key(id)
	item := e.item
	addUnconfirmed := w.unconfirmed // saveWhole's choice
	if item == nil && !e.missed && !e.whole && s.t.durable != nil {
		// The request has not seen the Cache lose the session (its Get
		// failed, or found a value that does not decode): the Durable copy
		// it read may be older than an eviction that came after a write
		// completed, and refilled with it the Cache would lose that write.
		// Refill only after a miss: read the Cache first.
		var err error
		switch item, err = s.newer(key, 0); {
		case endedUnder(err):
			return written{}, err
		case err != nil: // the Cache fails: the Durable copy is the newest we can find
			s.report("save", tierCache, id, err)
			return s.ontoDurable(id, e, w, changes)
		case item != nil:
			if w, err = s.merge(id, item.Value, e, w, changes); err != nil {
				return w, err
			}
		}
	}
	for i := 0; i < maxSwaps; i++ {
		var err error
		switch {
		case item != nil:
			// A value put back unconfirmed stays so until its session is
			// known to live after this write.
			w.unconfirmed = item.Flags == tier.FlagUnconfirmed
			item.Value, item.Expires = w.value, w.exp
			if !w.unconfirmed {
				item.Flags = 0
			}
			if err = s.t.cache.CompareAndSwap(s.ctx, item); errors.Is(err, tier.ErrNotStored) {
				item = nil // evicted since we read it
				continue
			}
		case e.whole || s.t.durable == nil:
			// An Add may land late: after a logout of the new ID (read
			// from our Durable write) whose tombstone was evicted since.
			// So it goes unconfirmed, for a reader to vouch for.
			w.unconfirmed = addUnconfirmed
			it := &tier.Item{Key: key, Value: w.value, Expires: w.exp}
			if w.unconfirmed {
				it.Flags = tier.FlagUnconfirmed
			}
			err = s.t.cache.Add(s.ctx, it)
		default:
			r := s.refill(id, e, w, changes)
			if !r.again {
				return r.w, r.err
			}
			w, item = r.w, r.item // swap again, or refill again if item is nil
			continue
		}
		switch {
		case err == nil:
			return w, nil
		case errors.Is(err, tier.ErrNotStored), errors.Is(err, tier.ErrCASConflict):
		case e.whole || s.t.durable == nil:
			return w, err // the Cache fails: back up our value
		default:
			// The Cache fails: the Durable copy is the newest we can find.
			s.report("save", tierCache, id, err)
			return s.ontoDurable(id, e, w, changes)
		}
		if item, err = s.newer(key, i); item == nil {
			if err != nil {
				return written{}, err
			}
			continue
		}
		if w, err = s.merge(id, item.Value, e, w, changes); err != nil {
			return w, err
		}
	}
	return written{}, ErrConflict
}

// newer reads the version that made a Cache write fail, after a short
// random pause on retries. It returns nil and no error when the Cache has
// lost the session, and the tombstone's error for an ended one.
func (s *Store) newer(key string, attempt int) (*tier.Item, error) {
	if attempt > 0 {
		s.t.rt.sleep(s.ctx, time.Duration(rand.Int64N(int64(time.Millisecond)<<min(attempt, 5))))
	}
	item, err := s.t.cache.Get(s.ctx, key)
	switch found(item, err) {
	case readMiss:
		return nil, nil
	case readFailed:
		return nil, err
	case readEnded:
		return nil, tombstoneErr(item)
	}
	return item, nil
}

// refilled is the outcome of refill: what the Cache holds, or why nothing;
// or, with again, the item to compare-and-swap w with (nil: refill again).
type refilled struct {
	w     written
	item  *tier.Item
	err   error
	again bool
}

// refill puts a session the Cache lost back into it, unconfirmed
// (FlagUnconfirmed), with the request's changes merged onto the Durable
// copy. It then reads the Durable tier again: if the session ended
// meanwhile (with its tombstone evicted), a tombstone replaces the value
// written (ErrGone); if another request wrote
// a newer version meanwhile, whose item was evicted before the Add, it
// returns the item just added, to be swapped for the changes merged onto
// that version; if a tombstone has replaced that item (a Renew, logout or
// revocation), it returns the tombstone's error and nothing to back up.
func (s *Store) refill(id string, e *entry, w written, changes map[string]any) refilled {
	w, err := s.ontoDurable(id, e, w, changes)
	if err != nil {
		return refilled{w: w, err: err}
	}
	key := s.key(id)
	w.unconfirmed = true
	if err := s.t.cache.Add(s.ctx, &tier.Item{Key: key, Value: w.value, Flags: tier.FlagUnconfirmed, Expires: w.exp}); err != nil {
		if errors.Is(err, tier.ErrNotStored) { // someone put it back first
			item, err := s.newer(key, 0)
			if err != nil {
				return refilled{err: err}
			}
			if item != nil {
				if w, err = s.merge(id, item.Value, e, w, changes); err != nil {
					return refilled{w: w, err: err}
				}
			}
			return refilled{w: w, item: item, again: true}
		}
		s.report("save", tierCache, id, err)
		w.unconfirmed = false
		return refilled{w: w} // back up what we have
	}
	e.refilled = true
	rec, err := s.t.durable.Get(s.ctx, s.sid(id))
	switch {
	case errors.Is(err, tier.ErrNotFound):
		if err := s.bury(s.ctx, []string{s.sid(id)}, tier.FlagGone, minTombstone); err != nil {
			return refilled{err: &tierError{tierCache, err}}
		}
		return refilled{err: ErrGone}
	case err != nil || bytes.Equal(rec.Value, w.from):
		return refilled{w: w} // unchanged, or unknown: the write stands
	}
	item, err := s.t.cache.Get(s.ctx, key)
	switch {
	case err == nil && isTombstone(item.Flags):
		return refilled{err: tombstoneErr(item)} // ended meanwhile: say so
	case err != nil || !bytes.Equal(item.Value, w.value):
		return refilled{w: w} // already written over by a later request
	}
	if w, err = s.merge(id, rec.Value, e, w, changes); err != nil {
		return refilled{w: w, err: err}
	}
	return refilled{w: w, item: item, again: true}
}

// ontoDurable applies the request's changes to the Durable copy, or
// returns ErrGone when there is none (removed, expired or purged). A
// failure to read it returns the error and nothing to write.
func (s *Store) ontoDurable(id string, e *entry, w written, changes map[string]any) (written, error) {
	rec, err := s.t.durable.Get(s.ctx, s.sid(id))
	switch {
	case errors.Is(err, tier.ErrNotFound):
		return written{}, ErrGone
	case err != nil:
		return written{}, &tierError{tierDurable, err}
	case !s.o.Now().Before(rec.Expires):
		return written{}, ErrGone
	}
	return s.merge(id, rec.Value, e, w, changes)
}

// merge applies the request's changes to a stored value. A session added
// whole, or a stored value that does not decode, keeps w. When the result
// cannot be encoded (too large), it returns the stored value, to back up,
// with the error.
func (s *Store) merge(id string, stored []byte, e *entry, w written, changes map[string]any) (written, error) {
	if e.whole {
		return w, nil
	}
	base, err := s.decode(stored, id)
	if err != nil {
		return w, nil
	}
	seen := writes(base)
	for k, v := range changes {
		base.SetAttr(k, v)
	}
	markSet(base, slices.Collect(maps.Keys(changes)), w.wid)
	storedExp := s.expiry(base) // changes leave the times alone
	base.Access()
	v, err := s.encode(base, w.wid)
	m := written{value: v, exp: s.expiry(base), merged: true, from: stored, wid: w.wid, seen: seen}
	if err != nil {
		m.value, m.exp = stored, storedExp
	}
	return m, err
}

// onto decodes a stored value and applies a request's changes to it, for
// swap, refill (merge) and Renew; false when the value does not decode.
func (s *Store) onto(id string, stored []byte, changes map[string]any) (session.Session, bool) {
	base, err := s.decode(stored, id)
	if err != nil {
		return nil, false
	}
	for k, v := range changes {
		base.SetAttr(k, v)
	}
	return base, true
}

// isGone reports whether err says the session ended under the request.
func endedUnder(err error) bool {
	return errors.Is(err, ErrGone) || errors.Is(err, ErrRenewed) || errors.Is(err, errRemoved)
}

// tierError is a failure of a named tier.
type tierError struct {
	tier string
	err  error
}

func (e *tierError) Error() string { return e.err.Error() }
func (e *tierError) Unwrap() error { return e.err }

// errTier names the tier that failed (its calls tag their failures, see
// retrier.tag): none for encoding errors and ends.
func errTier(err error) string {
	if te := (*tierError)(nil); errors.As(err, &te) {
		return te.tier
	}
	return ""
}
