package store

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// Store keeps the sessions of one request: what it loaded, what it set and
// what it must write back. It implements session.Store; Close writes back
// what the request changed. It is safe for concurrent use by the request's
// goroutines.
type Store struct {
	t    *Tiers
	o    *Options
	ctx  context.Context
	errf func(error)
	log  *slog.Logger
	over atomic.Bool // Close or Discard ran: later SetAttr calls are lost

	reported atomic.Int64 // failures reported, for Options.Observe

	mu      sync.Mutex
	entries entries
	closed  bool
	detach  bool // Close had nothing to write: a later Get detaches ctx (see Get)

	sidMu  sync.Mutex
	hashed [2]string       // with HashIDs: the last ID hashed, and its hash
	raw    map[string]bool // with HashIDs: sessions found under their raw IDs
}

// entry is what the store knows of one session the request touched.
type entry struct {
	sess    session.Session
	item    *tier.Item // as read from the Cache, for compare-and-swap; nil if not
	missed  bool       // the Cache answered that it had lost the session (a miss)
	whole   bool       // Add was called: write the whole session, not just changes
	touch   bool       // the stored access time is old: write back even if unchanged
	vouch   bool       // item was unconfirmed and found alive: write it back with flag 0
	removed bool

	refilled bool // the write-back put the session back into the Cache (refill)

	own tracked // sess, when admit made the entry: one allocation for both
}

// pending reports whether Close has a call to make for e: it was added,
// changed (SetAttr), is due for a touch or has an unconfirmed item to
// vouch for (see save).
func (e *entry) pending() bool {
	if e.whole || e.touch || e.vouch {
		return true
	}
	t, ok := e.sess.(*tracked)
	return ok && t.hasChanges()
}

var _ session.Store = (*Store)(nil)

// Get returns the session with the given ID, or nil when it does not exist,
// has expired or was removed. The Cache is asked first, then the Durable
// tier, whose session is put back into the Cache. A hashed ID (see
// HashIDs) is no session's: nil, without a call.
func (s *Store) Get(id string) session.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	if isHashed(id) {
		return nil
	}
	if e, ok := s.entries.lookup(id); ok {
		if e == nil || e.removed {
			return nil
		}
		return e.sess
	}
	if s.detach {
		// After Close, calls outlive the request, whether Close wrote or
		// not; it leaves that to this first call after it when it had
		// nothing to write.
		s.ctx, s.detach = context.WithoutCancel(s.ctx), false
	}
	start := time.Now()
	e, tiers := s.load(id)
	s.debug("get", tiers, id, start, slog.Bool("found", e != nil))
	s.entries.set(id, e)
	if e == nil {
		return nil
	}
	return e.sess
}

// Touching reports whether the request loaded the session with the given
// ID and, its stored access time being TouchInterval old, writes it back
// to extend its life even if unchanged: the middleware then re-sends a
// remembered session's cookie.
func (s *Store) Touching(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries.get(id)
	return e != nil && e.touch && !e.removed
}

// Add stores sess: it is written whole when the store is closed. After
// Close it reports ErrClosed and stores nothing.
func (s *Store) Add(sess session.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.report("add", "", sess.ID(), ErrClosed)
		return
	}
	if e := s.entries.get(sess.ID()); e != nil {
		e.sess, e.whole, e.removed = sess, true, false
		return
	}
	s.entries.set(sess.ID(), &entry{sess: sess, whole: true})
}

// Remove deletes sess from both tiers at once, even when the request has
// been canceled. In the Cache a tombstone takes its place, so that a
// request that loaded it earlier cannot bring it back; if neither the
// tombstone nor a delete reaches the Cache, the failure is reported, as the
// session may still be readable.
func (s *Store) Remove(sess session.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := sess.ID()
	defer s.debug("remove", s.tiers(), id, time.Now(), slog.Attr{})
	s.entries.set(id, &entry{sess: sess, removed: true})
	ctx := context.WithoutCancel(s.ctx)
	// The Durable tier first: a value put back from it before is then
	// overwritten by the tombstone, and one put back after the tombstone
	// is evicted is confirmed never.
	if s.t.durable != nil {
		if err := s.t.end(ctx, s.ended(id), byRequest, sess.Timeout()); err != nil {
			s.report("remove", tierDurable, id, err)
		}
	}
	if err := s.bury(ctx, s.ended(id), tier.FlagRemoved, sess.Timeout()); err != nil {
		s.report("remove", tierCache, id, err)
	}
}

// Close writes back every session the request added or changed, and those
// due for a touch, even when the request has been canceled (its client went
// away): each call is still bounded by the backend's deadline and Retries.
// Later calls do nothing.
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	s.over.Store(true)
	var ids []string
	s.entries.all(func(id string, e *entry) {
		if e != nil && !e.removed && e.pending() {
			ids = append(ids, id)
		}
	})
	if len(ids) == 0 {
		s.detach = true // only read: no call to make now
		return
	}
	s.ctx = context.WithoutCancel(s.ctx)
	slices.Sort(ids) // the same order every time, for the simulation
	for _, id := range ids {
		s.save(id, s.entries.get(id))
	}
}

// Discard ends the store without writing anything back: what the request
// changed is dropped. Removals already happened. Later calls to Close or
// Discard do nothing.
func (s *Store) Discard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.over.Store(true)
}

// The tiers as the code names them; errors and logs name them after their
// backends (see Named and Tiers.name).
const (
	tierCache   = "cache"
	tierDurable = "durable"
	tierBoth    = "cache,durable"
)

// tiers names the tiers a write goes to.
func (s *Store) tiers() string {
	if s.t.durable == nil {
		return tierCache
	}
	return tierBoth
}

// debug logs one operation on a session at level Debug, with the tiers it
// used, how long it took and one more fact about it (or none: slog.Attr{}).
func (s *Store) debug(op, tiers, id string, start time.Time, fact slog.Attr) {
	if !s.log.Enabled(s.ctx, slog.LevelDebug) {
		return
	}
	s.log.LogAttrs(s.ctx, slog.LevelDebug, "gaesession: "+op, slog.String("op", op), slog.String("tier", s.t.name(tiers)),
		slog.String("session", ShortID(id)), slog.Duration("duration", time.Since(start)), fact)
}

// report sends a failure to the store's error function.
func (s *Store) report(op, tier, id string, err error) {
	s.reported.Add(1)
	s.errf(&Error{Op: op, Tier: s.t.name(tier), Session: ShortID(id), Err: err})
}

// logFailure logs a failure that happened after the request, at level Error.
func (s *Store) logFailure(op, tier, id string, err error) {
	logFailure(s.log, &Error{Op: op, Tier: s.t.name(tier), Session: ShortID(id), Err: err})
}
