package store

import (
	"errors"
	"time"

	"github.com/icza/session"
)

// load reads a session from the Cache, else from the Durable tier. It
// returns nil when there is none, and the tiers it asked.
func (s *Store) load(id string) (*entry, string) {
	key := s.o.KeyPrefix + id
	item, err := s.t.cache.Get(s.ctx, key)
	var corrupt *Item // an unreadable Cache value to replace
	missed := errors.Is(err, ErrCacheMiss)
	switch {
	case err == nil && item.Flags != 0:
		return nil, tierCache // a tombstone
	case err == nil:
		sess, err := s.decode(item.Value, id)
		if err == nil {
			return s.live(sess, item), tierCache
		}
		s.report("get", tierCache, id, err)
		corrupt = item
	case !missed:
		s.report("get", tierCache, id, err)
	}
	if s.t.durable == nil {
		return nil, tierCache
	}
	sess, rec := s.fromDurable("get", id)
	if sess == nil {
		return nil, tierBoth
	}
	e := s.live(sess, nil)
	if e != nil {
		e.missed = missed
	}
	if e == nil || !missed && corrupt == nil {
		// After a failed Get the Cache may hold a newer version: it could
		// be evicted while this request reads, so put nothing back.
		return e, tierBoth
	}
	// Put it back for the next request. Add (or compare-and-swap over a
	// corrupt value), not Set: a concurrent writer or a logout wins.
	it := &Item{Key: key, Value: rec.Value, Expires: rec.Expires}
	put := s.t.cache.Add
	if corrupt != nil {
		corrupt.Value, corrupt.Flags, corrupt.Expires = it.Value, 0, it.Expires
		it, put = corrupt, s.t.cache.CompareAndSwap
	}
	if err := put(s.ctx, it); err != nil && !errors.Is(err, ErrNotStored) && !errors.Is(err, ErrCASConflict) {
		s.report("get", tierCache, id, err)
	}
	return e, tierBoth
}

// fromDurable reads a session from the Durable tier. It returns nil when
// there is none or it has expired (then it deletes the record); failures
// are reported under op.
func (s *Store) fromDurable(op, id string) (session.Session, Record) {
	rec, err := s.t.durable.Get(s.ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, rec
	case err != nil:
		s.report(op, tierDurable, id, err)
		return nil, rec
	case !s.o.Now().Before(rec.Expires):
		if err := s.t.durable.Delete(s.ctx, id); err != nil {
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

// live wraps a stored session for the request, or returns nil when it has
// expired. It marks the session accessed now; the access time is written
// back only when TouchInterval has passed since the stored one.
func (s *Store) live(sess session.Session, item *Item) *entry {
	now := s.o.Now()
	if !now.Before(s.expiry(sess)) {
		return nil
	}
	touch := now.Sub(sess.Accessed()) >= s.o.touchInterval(sess.Timeout())
	sess.Access()
	return &entry{sess: s.track(sess), item: item, touch: touch}
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
