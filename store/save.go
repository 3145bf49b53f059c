package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"time"
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
	defer s.debug("save", s.tiers(), id, time.Now(), slog.Bool("async", s.o.AsyncDatastoreSave))
	value, err := s.encode(e.sess)
	if err != nil {
		s.report("save", "", id, err)
		return
	}
	exp := s.expiry(e.sess)
	if e.whole {
		s.saveWhole(id, e, value, exp)
		return
	}
	w, err := s.swap(id, e, written{value: value, exp: exp}, changes)
	switch {
	case errors.Is(err, errRemoved):
		return // logout wins
	case err != nil && (changes != nil || !isGone(err)):
		s.report("save", errTier(err), id, err)
	}
	if w.value != nil && !isGone(err) {
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
func (s *Store) saveWhole(id string, e *entry, value []byte, exp time.Time) {
	w := written{value: value, exp: exp, unconfirmed: s.t.durable != nil}
	if s.t.durable != nil {
		if err := s.t.durable.Put(s.ctx, id, Record{Value: value, Expires: exp}); err != nil {
			// No record to vouch for it: the session lives in the Cache
			// until a write-back reaches the Durable tier.
			s.report("save", tierDurable, id, err)
			w.unconfirmed = false
		}
	}
	// A tombstone found (errRemoved, ErrGone) is a logout that read our
	// Durable write and ended it: it wins.
	if _, err := s.swap(id, e, w, nil); err != nil && !isGone(err) {
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

// put writes w to the Durable tier. With recheck (other requests wrote the
// session concurrently, so their writes may land in any order; or the write
// is late) it then reads the Cache and makes the two tiers agree on the
// newest version (see followUp), until the Cache holds what it last wrote
// (at most maxSwaps rounds), so that the last write to land is followed by
// a check.
func (s *Store) put(ctx context.Context, id string, w written, recheck bool, report func(op, tier, id string, err error)) {
	key := s.o.KeyPrefix + id
	write := true
	for range maxSwaps {
		if write {
			if err := s.t.durable.Put(ctx, id, Record{Value: w.value, Expires: w.exp}); err != nil {
				report("save", tierDurable, id, err)
				return
			}
			if !recheck {
				return
			}
		}
		item, err := s.t.cache.Get(ctx, key)
		switch {
		case errors.Is(err, ErrCacheMiss):
			return
		case err != nil:
			report("save", tierCache, id, err)
			return
		case isTombstone(item.Flags):
			return // ended: its Durable tombstone hides what was written
		case bytes.Equal(item.Value, w.value):
			return
		}
		theirs, err := s.decode(item.Value, id)
		if err != nil {
			return
		}
		ours, err := s.decode(w.value, id)
		if err != nil {
			return
		}
		step := followUp(version(ours), version(theirs))
		if step == adoptTheirs {
			w, write = written{value: item.Value, exp: s.expiry(theirs), changes: w.changes}, true
			continue
		}
		if step == mergeOnto {
			for k, v := range w.changes {
				theirs.SetAttr(k, v)
			}
			theirs.Access()
			v, err := s.encode(theirs)
			if err != nil {
				report("save", "", id, err)
				return
			}
			w = written{value: v, exp: s.expiry(theirs), changes: w.changes}
		}
		// The Cache takes w, the item's flags kept. A write meanwhile
		// makes the swap fail: look again.
		item.Value, item.Expires = w.value, w.exp
		switch err := s.t.cache.CompareAndSwap(ctx, item); {
		case err == nil && step == restoreOurs:
			return // the Durable tier holds w already
		case err == nil:
			write = true
		case errors.Is(err, ErrNotStored), errors.Is(err, ErrCASConflict):
			write = false
		default:
			report("save", tierCache, id, err)
			return
		}
	}
}

// Steps of the check after a Durable write (put), when the Cache holds
// another value than the one written.
const (
	adoptTheirs = iota // a newer write: the Durable tier follows the Cache
	restoreOurs        // an older copy put back: the Cache follows the write
	mergeOnto          // another write of the same version, made from an older copy: the changes go onto it
)

// followUp decides the check after a Durable write of version ours, the
// Cache holding another value of version theirs.
func followUp(ours, theirs int64) int {
	switch {
	case theirs > ours:
		return adoptTheirs
	case theirs < ours:
		return restoreOurs
	}
	return mergeOnto
}
