package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/icza/session"
	"google.golang.org/appengine/v2/datastore"
	"google.golang.org/appengine/v2/memcache"
)

// Store keeps sessions in Memcache with a Datastore backup for the lifetime
// of one request. It implements session.Store; Close writes back what the
// request changed. It is safe for concurrent use by the request's
// goroutines.
type Store struct {
	ctx context.Context
	o   Options

	mu      sync.Mutex
	entries map[string]*entry
	closed  bool
}

// entry is what the store knows of one session the request touched.
type entry struct {
	sess    session.Session
	item    *memcache.Item // as read from Memcache, for compare-and-swap; nil if not
	whole   bool           // Add was called: write the whole session, not just changes
	touch   bool           // the stored access time is old: write back even if unchanged
	removed bool
}

// New returns a Store that makes its App Engine calls with ctx, the
// request's context (appengine.NewContext(r)).
func New(ctx context.Context, opts Options) *Store {
	return &Store{ctx: ctx, o: opts.withDefaults(), entries: make(map[string]*entry, 1)}
}

var _ session.Store = (*Store)(nil)

// Get returns the session with the given ID, or nil when it does not exist,
// has expired or was removed. Memcache is asked first, then Datastore, whose
// session is put back into Memcache.
func (s *Store) Get(id string) session.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[id]; ok {
		if e == nil || e.removed {
			return nil
		}
		return e.sess
	}
	start := time.Now()
	e, tiers := s.load(id)
	s.debug("get", tiers, id, start, slog.Bool("found", e != nil))
	s.entries[id] = e
	if e == nil {
		return nil
	}
	return e.sess
}

// load reads a session from Memcache, else from Datastore. It returns nil
// when there is none, and the tiers it asked.
func (s *Store) load(id string) (*entry, string) {
	key := s.o.KeyPrefix + id
	item, err := s.mcGet(s.ctx, key)
	var corrupt *memcache.Item // an unreadable Memcache value to replace
	switch {
	case err == nil && item.Flags == tombstone:
		return nil, tierMemcache
	case err == nil:
		sess, err := s.decode(item.Value, id)
		if err == nil {
			return s.live(sess, item), tierMemcache
		}
		s.report("get", "memcache", id, err)
		corrupt = item
	case !errors.Is(err, memcache.ErrCacheMiss):
		s.report("get", "memcache", id, err)
	}
	if s.o.OnlyMemcache {
		return nil, tierMemcache
	}
	var ent entity
	err = s.retry(s.ctx, func() error { return datastore.Get(s.ctx, s.dsKey(id), &ent) })
	if errors.Is(err, datastore.ErrNoSuchEntity) {
		return nil, tierBoth
	}
	if err != nil {
		s.report("get", "datastore", id, err)
		return nil, tierBoth
	}
	if !time.Now().Before(ent.Expires) {
		if err := s.deleteEntity(s.ctx, id); err != nil {
			s.report("delete-expired", "datastore", id, err)
		}
		return nil, tierBoth
	}
	sess, err := s.decode(ent.Value, id)
	if err != nil {
		s.report("get", "datastore", id, err)
		return nil, tierBoth
	}
	e := s.live(sess, nil)
	if e != nil {
		// Put it back for the next request. Add (or compare-and-swap over
		// a corrupt value), not Set: a concurrent writer or a logout wins.
		it := &memcache.Item{Key: key, Value: ent.Value, Expiration: time.Until(ent.Expires)}
		put := memcache.Add
		if corrupt != nil {
			corrupt.Value, corrupt.Flags, corrupt.Expiration = it.Value, 0, it.Expiration
			it, put = corrupt, memcache.CompareAndSwap
		}
		if err := put(s.ctx, it); err != nil && !errors.Is(err, memcache.ErrNotStored) && !errors.Is(err, memcache.ErrCASConflict) {
			s.report("get", "memcache", id, err)
		}
	}
	return e, tierBoth
}

// live wraps a stored session for the request, or returns nil when it has
// expired. It marks the session accessed now; the access time is written
// back only when TouchInterval has passed since the stored one.
func (s *Store) live(sess session.Session, item *memcache.Item) *entry {
	now := time.Now()
	if !now.Before(s.expiry(sess)) {
		return nil
	}
	touch := now.Sub(sess.Accessed()) >= s.o.touchInterval(sess.Timeout())
	sess.Access()
	return &entry{sess: &tracked{Session: sess}, item: item, touch: touch}
}

// Add stores sess: it is written whole when the store is closed.
func (s *Store) Add(sess session.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.entries[sess.ID()]; e != nil {
		e.sess, e.whole, e.removed = sess, true, false
		return
	}
	s.entries[sess.ID()] = &entry{sess: sess, whole: true}
}

// Remove deletes sess from both tiers at once, even when the request has
// been canceled (its client went away). In Memcache a tombstone takes its
// place for the session's timeout, so that a request that loaded it earlier
// cannot bring it back.
func (s *Store) Remove(sess session.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := sess.ID()
	defer s.debug("remove", s.tiers(), id, time.Now(), slog.Attr{})
	s.entries[id] = &entry{sess: sess, removed: true}
	ctx := context.WithoutCancel(s.ctx)
	it := &memcache.Item{Key: s.o.KeyPrefix + id, Value: []byte{}, Flags: tombstone, Expiration: sess.Timeout()}
	if err := s.retry(ctx, func() error { return memcache.Set(ctx, it) }); err != nil {
		s.report("remove", "memcache", id, err)
	}
	if s.o.OnlyMemcache {
		return
	}
	if err := s.deleteEntity(ctx, id); err != nil &&
		!errors.Is(err, datastore.ErrNoSuchEntity) {
		s.report("remove", "datastore", id, err)
	}
}

// Close writes back every session the request added or changed, and those
// due for a touch, even when the request has been canceled (its client went
// away): each call is still bounded by App Engine's RPC deadline and
// Retries. Later calls do nothing.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.ctx = context.WithoutCancel(s.ctx)
	for id, e := range s.entries {
		if e != nil && !e.removed {
			s.flush(id, e)
		}
	}
}

// Discard ends the store without writing anything back: what the request
// changed is dropped. Removals already happened. Later calls to Close or
// Discard do nothing.
func (s *Store) Discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

// deleteEntity deletes a session's Datastore entity.
func (s *Store) deleteEntity(ctx context.Context, id string) error {
	return s.retry(ctx, func() error { return datastore.Delete(ctx, s.dsKey(id)) })
}

// dsKey is the Datastore key of a session.
func (s *Store) dsKey(id string) *datastore.Key {
	return datastore.NewKey(s.ctx, s.o.DSEntityName, id, 0, nil)
}

// Tier names in errors and logs.
const (
	tierMemcache = "memcache"
	tierBoth     = "memcache,datastore"
)

// tiers names the tiers a write goes to.
func (s *Store) tiers() string {
	if s.o.OnlyMemcache {
		return tierMemcache
	}
	return tierBoth
}

// debug logs one operation on a session at level Debug, with the tiers it
// used, how long it took and one more fact about it (or none: slog.Attr{}).
func (s *Store) debug(op, tiers, id string, start time.Time, fact slog.Attr) {
	if !s.o.Logger.Enabled(s.ctx, slog.LevelDebug) {
		return
	}
	s.o.Logger.LogAttrs(s.ctx, slog.LevelDebug, "gaesession: "+op, slog.String("op", op), slog.String("tier", tiers),
		slog.String("session", ShortID(id)), slog.Duration("duration", time.Since(start)), fact)
}

// report sends a failure to ErrorFunc.
func (s *Store) report(op, tier, id string, err error) {
	s.o.ErrorFunc(&Error{Op: op, Tier: tier, Session: ShortID(id), Err: err})
}

// logFailure logs a failure of a background write, which ends after the
// request, at level Error.
func (s *Store) logFailure(op, tier, id string, err error) {
	logFailure(s.o.Logger, &Error{Op: op, Tier: tier, Session: ShortID(id), Err: err})
}

// logFailure logs a store failure at level Error.
func logFailure(l *slog.Logger, err error) {
	l.Error("gaesession: store failure", "err", err)
}
