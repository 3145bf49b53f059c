package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// save writes one session back if the request added it, changed it, or it
// is due for a touch.
func (s *Store) save(id string, e *entry) {
	var changes map[string]any
	if t, ok := e.sess.(*tracked); ok {
		changes = t.changed()
	}
	if !e.whole && !e.touch && changes == nil {
		if e.vouch {
			s.vouch(e.item)
		}
		return
	}
	if e.whole {
		s.unreserve("save", e.sess) // a session the app made binds no user
	}
	if s.unmoved(id) {
		if e = s.move(id, e, changes); e == nil {
			return
		}
	}
	defer s.debug("save", s.tiers(), id, time.Now(), slog.Bool("async", s.o.AsyncDatastoreSave))
	var (
		w   written
		err error
	)
	defer func(reported int64) { s.wrote(reported, e, w, err) }(s.reported.Load())
	wid, seen := newWriteID(s.o.Now()), writes(e.sess)
	if changes != nil {
		markSet(e.sess, slices.Collect(maps.Keys(changes)), wid)
	}
	value, err := s.encode(e.sess, wid)
	if err != nil {
		s.report("save", "", id, err)
		return
	}
	exp := s.expiry(e.sess)
	if e.whole {
		s.saveWhole(id, e, written{value: value, exp: exp, wid: wid})
		return
	}
	w, err = s.swap(id, e, written{value: value, exp: exp, wid: wid, seen: seen}, changes)
	switch {
	case errors.Is(err, errRemoved):
		return // logout wins
	case err != nil && (changes != nil || !endedUnder(err)):
		s.report("save", errTier(err), id, err)
	}
	if w.value != nil && !endedUnder(err) {
		w.changes = changes
		s.backup(id, w)
		s.confirmed(id, w, err == nil && changes != nil)
	}
}

// confirmed confirms a value the Cache holds unconfirmed after its
// Durable write, reporting, when report is set, that the changes were not
// saved because the session ended meanwhile.
func (s *Store) confirmed(id string, w written, report bool) {
	if !w.unconfirmed || s.t.durable == nil {
		return
	}
	if err := s.confirm(id, w.value); err != nil && report && !errors.Is(err, errRemoved) {
		s.report("save", "", id, err)
	}
}

// saveWhole writes a session the request added: to the Durable tier, then
// to the Cache unconfirmed, for its first reader to vouch for after
// reading the record (see vouch); so it reads nothing. When the Durable
// write fails, the Cache item is ordinary: no reader could have ended a
// session without a record before it lands. A new ID has no older version
// to lose.
func (s *Store) saveWhole(id string, e *entry, w written) {
	w.unconfirmed = s.t.durable != nil
	if s.t.durable != nil {
		if err := s.t.durable.Put(s.ctx, s.sid(id), tier.Record{Value: w.value, Expires: w.exp}); err != nil {
			// No record to vouch for it: the session lives in the Cache
			// until a write-back reaches the Durable tier.
			s.report("save", tierDurable, id, err)
			w.unconfirmed = false
		}
	}
	// A tombstone found (errRemoved, ErrGone) is a logout that read our
	// Durable write and ended it: it wins.
	if _, err := s.swap(id, e, w, nil); err != nil && !endedUnder(err) {
		s.report("save", errTier(err), id, err)
	}
}

// backup writes a session's value to the Durable tier: now, or in the
// background with AsyncDatastoreSave (in the request when MaxBackground
// writes are in flight already).
func (s *Store) backup(id string, w written) {
	if s.t.durable == nil {
		return
	}
	if !s.o.AsyncDatastoreSave || w.unconfirmed { // confirmed after the write
		s.put(s.ctx, id, w, w.merged, s.report)
		return
	}
	if !s.t.bg.start() {
		s.put(s.ctx, id, w, true, s.report)
		return
	}
	// The request is over before this ends: failures are logged. A late
	// write always checks the Cache afterwards; the RPC costs the request
	// no time.
	ctx, cancel := context.WithTimeout(s.ctx, s.o.AsyncTimeout) // s.ctx has no cancel since Close
	s.t.rt.spawn(ctx, func(ctx context.Context) {
		defer s.t.bg.finish()
		defer cancel()
		s.put(ctx, id, w, true, s.logFailure)
	})
}

// put writes w to the Durable tier: with StrictWrites, see putStrict.
// With recheck (other requests wrote the session concurrently, so their
// writes may land in any order; or the write is late) it then reads the
// Cache, and when that holds another value: one that holds the write (see
// AttrWrites) is newer, and the Durable tier follows it; onto one that
// does not (an older copy put back, or another write made from one) the
// changes go, in the Cache and then the Durable tier. It reads again after
// each such write, at most maxSwaps times, so that the last write to land
// is followed by a check.
func (s *Store) put(ctx context.Context, id string, w written, recheck bool, report func(op, tier, id string, err error)) {
	if s.o.StrictWrites {
		s.putStrict(ctx, id, w, report)
		return
	}
	key := s.key(id)
	write := true
	for range maxSwaps {
		if write {
			if err := s.t.durable.Put(ctx, s.sid(id), tier.Record{Value: w.value, Expires: w.exp}); err != nil {
				report("save", tierDurable, id, err)
				return
			}
			if !recheck {
				return
			}
		}
		item, theirs := s.recheck(ctx, key, id, w.value, report)
		if theirs == nil {
			return
		}
		if holds(theirs, w.wid) {
			w.value, w.exp, write = item.Value, s.expiry(theirs), true
			continue
		}
		v, err := s.late(theirs, w)
		if err != nil {
			report("save", "", id, err)
			return
		}
		w.value, w.exp = v, s.expiry(theirs)
		// The item's flags stay. A write meanwhile makes the swap fail:
		// look again.
		item.Value, item.Expires = w.value, w.exp
		if write = s.swapIn(ctx, item, id, report); !write && item.Token == nil {
			return
		}
	}
}

// recheck reads the Cache after a Durable write of value. It returns the
// item and its session when that holds another value; no session when it
// holds value, nothing, a tombstone (returned: ended, its Durable
// tombstone hides what was written) or a value that does not decode, or
// fails (reported).
func (s *Store) recheck(ctx context.Context, key, id string, value []byte, report func(op, tier, id string, err error)) (*tier.Item, session.Session) {
	item, err := s.t.cache.Get(ctx, key)
	switch found(item, err) {
	case readMiss:
		return nil, nil
	case readFailed:
		report("save", tierCache, id, err)
		return nil, nil
	case readEnded:
		return item, nil
	}
	if bytes.Equal(item.Value, value) {
		return nil, nil
	}
	theirs, err := s.decode(item.Value, id)
	if err != nil {
		return nil, nil
	}
	return item, theirs
}

// swapIn writes item to the Cache with compare-and-swap: true when it
// did, false on a conflict (look again); on a failure, reported, false
// and item's Token cleared.
func (s *Store) swapIn(ctx context.Context, item *tier.Item, id string, report func(op, tier, id string, err error)) bool {
	switch err := s.t.cache.CompareAndSwap(ctx, item); {
	case err == nil:
		return true
	case errors.Is(err, tier.ErrNotStored), errors.Is(err, tier.ErrCASConflict):
		return false
	default:
		report("save", tierCache, id, err)
		item.Token = nil
		return false
	}
}

// putStrict writes w to the Durable tier in a transaction (see store),
// then reads the Cache. An item that lacks a write the record held (put
// back from an older copy, or made from one) is made whole: when the
// record, read again, holds all it holds and more, it takes the record's
// value (see behind); else it holds writes whose transactions are in
// flight, whose writers check after them, and only this write's changes
// go onto it. The item's flags stay. Without a record (the session ended,
// or its record was lost), or when a Renew may have missed the write, the
// write is reported.
func (s *Store) putStrict(ctx context.Context, id string, w written, report func(op, tier, id string, err error)) {
	final, found, err := s.store(ctx, id, w)
	if err != nil {
		report("save", tierDurable, id, err)
		return
	}
	if !found {
		report("save", "", id, errNoRecord)
	}
	stored, err := s.decode(final.Value, id)
	if err != nil {
		return
	}
	key := s.key(id)
	for range maxSwaps {
		item, theirs := s.recheck(ctx, key, id, final.Value, report)
		if theirs == nil && item != nil && item.Flags == tier.FlagRenewed && found {
			// Renewed: the value it took over may have been made from an
			// older copy put back, without the write, and the record
			// deleted by a logout before it could be read.
			report("save", "", id, errMayBeRenewed)
		}
		if theirs == nil || covers(theirs, stored) {
			return
		}
		rec, err := s.t.durable.Get(ctx, s.sid(id))
		switch {
		case errors.Is(err, tier.ErrNotFound):
			return // ended since
		case err != nil:
			report("save", tierDurable, id, err)
			return
		}
		if now, err := s.decode(rec.Value, id); err == nil && behind(theirs, now) {
			item.Value, item.Expires = rec.Value, rec.Expires
		} else if !holds(theirs, w.wid) {
			v, err := s.late(theirs, w)
			if err != nil {
				report("save", "", id, err)
				return
			}
			item.Value, item.Expires = v, s.expiry(theirs)
		} else {
			return
		}
		if s.swapIn(ctx, item, id, report) || item.Token == nil {
			return
		}
	}
}

// store writes w to the Durable tier: a Put, last writer wins; or, with
// StrictWrites, a transaction that leaves a record holding the write (see
// AttrWrites) as it is and merges the write's changes onto any other, so
// that a write landing late never takes a completed one away. It returns
// the record it left, and whether it found one (always true for a Put).
func (s *Store) store(ctx context.Context, id string, w written) (final tier.Record, found bool, err error) {
	final = tier.Record{Value: w.value, Expires: w.exp}
	if !s.o.StrictWrites {
		return final, true, s.t.durable.Put(ctx, s.sid(id), final)
	}
	ours := final
	update := func(rec tier.Record, ok bool) (tier.Record, error) {
		if found, final = ok, ours; !ok {
			return ours, nil
		}
		sess, err := s.decode(rec.Value, id)
		switch {
		case err != nil:
			return ours, nil
		case holds(sess, w.wid):
			final = rec
			return tier.Record{}, errUnchanged
		}
		v, err := s.late(sess, w)
		if err != nil {
			return tier.Record{}, err
		}
		final = tier.Record{Value: v, Expires: s.expiry(sess)}
		return final, nil
	}
	err = s.t.durable.Update(ctx, s.sid(id), update)
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	return final, found, err
}

// errMayBeRenewed: with StrictWrites, a write found its session renewed
// after its Durable transaction.
var errMayBeRenewed = fmt.Errorf("%w: after the write reached the Durable tier: the new ID may lack it", ErrRenewed)

// errNoRecord: with StrictWrites, a write found no Durable record.
var errNoRecord = fmt.Errorf("%w: its Durable record was gone when the write reached it", ErrGone)

// late puts a write that landed late onto a value that lacks it (see
// written.onto), marks it accessed and stamps it with the write, and
// returns it encoded.
func (s *Store) late(theirs session.Session, w written) ([]byte, error) {
	w.onto(theirs)
	theirs.Access()
	return s.encode(theirs, w.wid)
}
