package store

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/icza/session"
)

// ErrNoIndex means a user operation was asked of a store without the
// Durable tier (OnlyMemcache), which keeps the per-user index.
var ErrNoIndex = errors.New("sessions per user need the Durable tier")

// Login describes a login: the user and the device.
type Login struct {
	User      string        // the application's user ID
	UserAgent string        // recorded as given
	IP        string        // recorded as given; "" records none
	Timeout   time.Duration // of the new session; 0 keeps the session's
	Max       int           // sessions per user; the least recently seen beyond it end; 0: DefaultMaxSessions
}

// Login gives sess a new ID, as Renew does (or starts a session when sess
// is nil), binds it to l.User and records it in the user's index, ending
// the user's least recently seen sessions beyond l.Max. The new session is
// written to the Durable tier at once, so that the user's list shows it
// right away, and whole (both tiers) when the store is closed. Login
// fails, reporting once, when Renew would, or when the new session cannot
// be written or indexed: then the old session has ended all the same (its
// ID was retired) and no session is bound.
func (s *Store) Login(sess session.Session, l Login) (session.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.debug("login", s.tiers(), "", time.Now(), slog.Attr{})
	if s.t.durable == nil || s.closed {
		err := ErrNoIndex
		if s.closed {
			err = ErrClosed
		}
		s.report("login", "", "", err)
		return nil, err
	}
	var fresh session.Session
	old := ""
	if sess == nil {
		fresh = session.NewSessionOptions(&session.SessOptions{Timeout: l.Timeout})
	} else {
		var err error
		if fresh, err = s.renew(sess, l.Timeout); err != nil {
			return nil, err // reported
		}
		old = sess.ID()
	}
	e := indexEntry{Handle: newHandle(), ID: fresh.ID(), Created: s.o.Now(), UA: l.UserAgent, IP: l.IP}
	fresh.SetAttr(AttrUser, l.User)
	fresh.SetAttr(AttrHandle, e.Handle)
	value, err := s.encode(fresh)
	exp := s.expiry(fresh)
	if err == nil {
		err = s.t.durable.Put(s.ctx, fresh.ID(), Record{Value: value, Expires: exp})
	}
	if err == nil {
		err = s.t.bind(s.ctx, l, e, exp, old)
	}
	if err != nil {
		s.report("login", errTier(&tierError{tierDurable, err}), fresh.ID(), err)
		delete(s.entries, fresh.ID())
		return nil, err
	}
	s.entries[fresh.ID()] = &entry{sess: fresh, whole: true}
	return fresh, nil
}

// bind adds a session to its user's index, ending the user's sessions
// beyond the limit, least recently seen first, and dropping ended ones and
// the entry of the session it replaces (old, if any).
func (t *Tiers) bind(ctx context.Context, l Login, e indexEntry, exp time.Time, old string) error {
	ix, err := readIndex(ctx, t.durable, l.User)
	if err != nil {
		return err
	}
	live, seen, dead, err := t.live(ctx, ix)
	if err != nil {
		return err
	}
	max := l.Max
	if max <= 0 {
		max = DefaultMaxSessions
	}
	var over []string
	if n := len(live) - max + 1; n > 0 {
		order := make([]int, len(live))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return seen[a].Compare(seen[b]) })
		for _, i := range order[:n] {
			over = append(over, live[i].ID)
		}
		if err := t.end(ctx, over); err != nil {
			return err
		}
	}
	gone := append(append(dead, over...), old)
	return updateIndex(ctx, t.durable, IndexID(l.User), exp, func(ix *index) {
		ix.Sessions = append(ix.without(gone), e)
	})
}

// List returns a user's live sessions, oldest first; current is the handle
// of the session to mark as the current one (or ""). It costs two Durable
// calls, both lookups by key, so it is right at once after a login or a
// revocation elsewhere.
func (t *Tiers) List(ctx context.Context, user, current string) ([]Device, error) {
	if t.durable == nil {
		return nil, ErrNoIndex
	}
	ix, err := readIndex(ctx, t.durable, user)
	if err != nil {
		return nil, err
	}
	live, seen, _, err := t.live(ctx, ix)
	if err != nil {
		return nil, err
	}
	devs := make([]Device, len(live))
	for i, e := range live {
		devs[i] = Device{Handle: e.Handle, Current: e.Handle == current, Created: e.Created,
			LastSeen: seen[i], UserAgent: e.UA, IP: e.IP}
	}
	return devs, nil
}

// Revoke ends the session with the given handle among the user's, as
// finally as a logout. It reports whether there was one: another user's
// handle, or an unknown one, does nothing.
func (t *Tiers) Revoke(ctx context.Context, user, handle string) (bool, error) {
	return t.revoke(ctx, user, func(e indexEntry) bool { return e.Handle == handle })
}

// RevokeAll ends every session of the user except the one with the handle
// keep ("" keeps none), in a bounded number of batched calls.
func (t *Tiers) RevokeAll(ctx context.Context, user, keep string) error {
	_, err := t.revoke(ctx, user, func(e indexEntry) bool { return e.Handle != keep })
	return err
}

// revoke ends the user's sessions that match, and drops them from the
// index.
func (t *Tiers) revoke(ctx context.Context, user string, match func(indexEntry) bool) (bool, error) {
	if t.durable == nil {
		return false, ErrNoIndex
	}
	ix, err := readIndex(ctx, t.durable, user)
	if err != nil {
		return false, err
	}
	var ids []string
	for _, e := range ix.Sessions {
		if match(e) {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) == 0 {
		return false, nil
	}
	if err := t.end(ctx, ids); err != nil {
		return false, err
	}
	return true, updateIndex(ctx, t.durable, IndexID(user), time.Time{}, func(ix *index) { ix.Sessions = ix.without(ids) })
}

// maxRevoked bounds the life of a revocation's tombstones: longer than any
// session that a write-back landing late could extend.
const maxRevoked = 400 * 24 * time.Hour

// end ends sessions in both tiers, MaxBatch at a time: tombstones in the
// Cache in one call, then in the Durable tier in two.
func (t *Tiers) end(ctx context.Context, ids []string) error {
	until := t.o.Now().Add(maxRevoked)
	for start := 0; start < len(ids); start += MaxBatch {
		batch := ids[start:min(start+MaxBatch, len(ids))]
		items := make([]*Item, len(batch))
		for i, id := range batch {
			items[i] = &Item{Key: t.o.KeyPrefix + id, Value: []byte{}, Flags: FlagRemoved, Expires: until}
		}
		cerr := t.cache.SetMulti(ctx, items)
		if err := t.durable.End(ctx, batch, until); err != nil {
			return err
		}
		if cerr != nil {
			return t.deleteInstead(ctx, items, cerr)
		}
	}
	return nil
}
