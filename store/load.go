package store

import (
	"bytes"
	"errors"
	"time"

	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// load reads a session from the Cache, else from the Durable tier. It
// returns nil when there is none, and the tiers it asked.
func (s *Store) load(id string) (*entry, string) {
	key := s.key(id)
	item, err := s.t.cache.Get(s.ctx, key)
	var corrupt *tier.Item // an unreadable Cache value to replace
	read := found(item, err)
	missed := read == readMiss
	lookRaw := missed && s.o.rawIDs()
	if lookRaw {
		// Not under its hash: it may be stored under its raw ID still.
		raw, rerr := s.t.cache.Get(s.ctx, s.o.KeyPrefix+id)
		switch r := found(raw, rerr); r {
		case readSession, readUnconfirmed:
			s.setRaw(id, true)
			item, err, read = raw, rerr, r
		case readEnded:
			lookRaw = false // ended, or moved: only the hash may live
		case readFailed:
			missed = false // the raw copy may be newer than the Durable one
		}
	}
	switch read {
	case readEnded:
		s.o.notify(s.ctx, EventReadTombstone, 1)
		return nil, tierCache
	case readUnconfirmed:
		// Put back from the Durable tier, whose record may have ended
		// since: trust it only while the record lives.
		s.o.notify(s.ctx, EventReadFallback, 1)
		stored, rec := s.fromDurable("get", id, false)
		if stored == nil {
			return nil, tierBoth
		}
		sess, err := s.decode(item.Value, id)
		if err == nil {
			if behind(sess, stored) {
				sess, item.Value, item.Expires = stored, rec.Value, rec.Expires
			}
			e := s.admit(sess, item)
			if e != nil {
				// Alive after the item was read: the request's write, or
				// Close, clears the flag with this item's token.
				item.Flags, e.vouch = 0, true
			}
			return e, tierBoth
		}
		s.report("get", tierCache, id, err)
		corrupt = item
	case readSession:
		sess, err := s.decode(item.Value, id)
		if err == nil {
			s.o.notify(s.ctx, EventReadHit, 1)
			return s.admit(sess, item), tierCache
		}
		s.report("get", tierCache, id, err)
		corrupt = item
	case readFailed:
		s.report("get", tierCache, id, err)
	}
	if s.t.durable == nil {
		s.o.notify(s.ctx, EventReadMiss, 1)
		return nil, tierCache
	}
	if read != readUnconfirmed {
		s.o.notify(s.ctx, EventReadFallback, 1)
	}
	sess, rec := s.fromDurable("get", id, lookRaw || read == readFailed && s.o.rawIDs())
	if sess == nil {
		return nil, tierBoth
	}
	key = s.key(id) // the raw one, for a session found under its raw ID
	e := s.admit(sess, nil)
	if e != nil {
		e.missed = missed
	}
	if e == nil || !missed && corrupt == nil {
		// After a failed Get the Cache may hold a newer version: it could
		// be evicted while this request reads, so put nothing back.
		return e, tierBoth
	}
	// Put it back for the next request. Add (or compare-and-swap over a
	// corrupt value), not Set: a concurrent writer or a logout wins. The
	// session may have ended since it was read, with its tombstone
	// evicted: it goes back unconfirmed, and is confirmed after a second
	// read of the Durable tier.
	it := &tier.Item{Key: key, Value: rec.Value, Flags: tier.FlagUnconfirmed, Expires: rec.Expires}
	put := s.t.cache.Add
	if corrupt != nil {
		corrupt.Value, corrupt.Flags, corrupt.Expires = it.Value, it.Flags, it.Expires
		it, put = corrupt, s.t.cache.CompareAndSwap
	}
	switch err := put(s.ctx, it); {
	case err == nil:
		if err := s.confirm(id, rec.Value); err != nil {
			return nil, tierBoth // ended meanwhile
		}
	case !errors.Is(err, tier.ErrNotStored) && !errors.Is(err, tier.ErrCASConflict):
		s.report("get", tierCache, id, err)
	}
	return e, tierBoth
}

// confirm reads the Durable tier again after an unconfirmed value was
// written to the Cache. If the session lives, the value, if still there,
// becomes an ordinary one (compare-and-swap to flag 0); if it ended, a
// tombstone replaces whatever the Cache holds that is not one, and confirm
// returns what the tombstone says (ErrGone when there was none). A failure
// to read leaves the value unconfirmed, for the next reader to check.
// The Cache is read before the Durable tier: the item confirmed may be
// another request's equal put-back, read from the Durable tier before an
// end, and only a check after that item was written vouches for it (an end
// after the check is followed by tombstones that replace it).
func (s *Store) confirm(id string, value []byte) error {
	key := s.key(id)
	item, gerr := s.t.cache.Get(s.ctx, key)
	rec, err := s.t.durable.Get(s.ctx, s.sid(id))
	switch {
	case errors.Is(err, tier.ErrNotFound):
		if gerr == nil && isTombstone(item.Flags) {
			return tombstoneErr(item)
		}
		if err := s.bury(s.ctx, []string{s.sid(id)}, tier.FlagGone, minTombstone); err != nil {
			s.report("save", tierCache, id, err)
		}
		return ErrGone
	case err != nil:
		return nil
	}
	if gerr == nil && item.Flags == tier.FlagUnconfirmed && bytes.Equal(item.Value, value) {
		if s.behindRecord(id, value, rec) {
			item.Value, item.Expires = rec.Value, rec.Expires
		}
		item.Flags = 0
		_ = s.t.cache.CompareAndSwap(s.ctx, item) // lost to a later write: it confirms its own
	}
	return nil
}

// covers reports whether v holds every write that stored holds (see
// AttrWrites).
func covers(v, stored session.Session) bool {
	for _, w := range writes(stored) {
		if !holds(v, w) {
			return false
		}
	}
	return true
}

// behind reports whether a Cache value (put) lacks a write the stored
// record holds (see AttrWrites), and holds none the record lacks: the
// record is newer, and replaces it. A write the record has not got yet is
// its writer's to check for.
func behind(put, stored session.Session) bool {
	return !covers(put, stored) && covers(stored, put)
}

// coversRecord reports whether an encoded value holds every write the
// stored record holds; true when one does not decode.
func (s *Store) coversRecord(id string, value []byte, rec tier.Record) bool {
	v, err := s.decode(value, id)
	if err != nil {
		return true
	}
	stored, err := s.decode(rec.Value, id)
	return err != nil || covers(v, stored)
}

// behindRecord is behind for encoded values; false when one does not
// decode.
func (s *Store) behindRecord(id string, value []byte, rec tier.Record) bool {
	put, err := s.decode(value, id)
	if err != nil {
		return false
	}
	stored, err := s.decode(rec.Value, id)
	return err == nil && behind(put, stored)
}

// vouch clears the flag of an unconfirmed item the request read before it
// found the session alive in the Durable tier, and did not write over:
// compare-and-swap to flag 0, so that later readers need not read the
// Durable tier. An end after that read replaced the item, and the swap
// fails; so does a write since, which vouches for itself.
func (s *Store) vouch(item *tier.Item) {
	_ = s.t.cache.CompareAndSwap(s.ctx, item) // flag 0 since load
}

// fromDurable reads a session from the Durable tier. It returns nil when
// there is none or it has expired (then it deletes the record); failures
// are reported under op. With raw, the same call reads the session's raw
// ID too (see record).
func (s *Store) fromDurable(op, id string, raw bool) (session.Session, tier.Record) {
	rec, err := s.record(id, raw)
	switch {
	case errors.Is(err, tier.ErrNotFound):
		return nil, rec
	case err != nil:
		s.report(op, tierDurable, id, err)
		return nil, rec
	case !s.o.Now().Before(rec.Expires):
		if err := s.t.durable.Delete(s.ctx, s.sid(id)); err != nil {
			s.report("delete-expired", tierDurable, id, err)
		}
		return nil, rec
	}
	sess, err := s.decode(rec.Value, id)
	if err != nil {
		s.report(op, tierDurable, id, err)
		return nil, rec
	}
	return sess, rec
}

// record reads session id's record, and with raw and HashIDs, until
// RawIDsUntil, unless the request found it under its raw ID already, the
// record under its raw ID in the same call: it takes that one when its
// hash has neither a record nor a tombstone (a session moved and ended
// never reads from a raw record a late write left), and the request then
// keeps to the raw ID.
func (s *Store) record(id string, raw bool) (tier.Record, error) {
	if !raw || !s.o.rawIDs() || s.unmoved(id) {
		return s.t.durable.Get(s.ctx, s.sid(id))
	}
	h := s.hashOf(id)
	recs, err := s.t.durable.getMulti(s.ctx, []string{h, h + tier.EndSuffix, id, id + tier.EndSuffix})
	if err != nil {
		return tier.Record{}, err
	}
	if recs[0].Value != nil || recs[1].Value != nil {
		return resolve(recs[0], recs[1]) // under its hash: moved, perhaps ended
	}
	rec, err := resolve(recs[2], recs[3])
	if err == nil {
		s.setRaw(id, true)
	}
	return rec, err
}

// admit wraps a stored session for the request, or returns nil when it has
// expired. It marks the session accessed now; the access time is written
// back only when TouchInterval has passed since the stored one.
func (s *Store) admit(sess session.Session, item *tier.Item) *entry {
	now := s.o.Now()
	if !now.Before(s.expiry(sess)) {
		return nil
	}
	touch := now.Sub(sess.Accessed()) >= s.o.touchInterval(sess.Timeout())
	sess.Access()
	e := &entry{item: item, touch: touch}
	e.own = s.tracking(sess)
	e.sess = &e.own
	return e
}

// expiry is when sess expires if nobody touches it again.
func (s *Store) expiry(sess session.Session) time.Time {
	exp := sess.Accessed().Add(sess.Timeout())
	if s.o.MaxLifetime > 0 {
		if abs := sess.Created().Add(s.o.MaxLifetime); abs.Before(exp) {
			exp = abs
		}
	}
	return exp
}
