package store

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"
	"unicode/utf8"

	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// ErrNoIndex means a user operation was asked of a store without the
// Durable tier (OnlyMemcache), which keeps the per-user index.
var ErrNoIndex = errors.New("sessions per user need the Durable tier")

// ErrNoUser means Login was given an empty user ID; nothing was changed.
var ErrNoUser = errors.New("login without a user ID")

// MaxUserAgent bounds the User-Agent recorded per session, in bytes.
const MaxUserAgent = 256

// Login describes a login: the user and the device.
type Login struct {
	User      string        // the application's user ID; "" fails with ErrNoUser
	UserAgent string        // recorded cut to MaxUserAgent bytes
	IP        string        // recorded if an IP address (without its zone), else none
	Timeout   time.Duration // of the new session; 0 keeps the session's
	Max       int           // sessions per user; the least recently seen beyond it end; 0: DefaultMaxSessions; at most MaxSessionsLimit
}

// Login gives sess a new ID, as Renew does (or starts a session when sess
// is nil), binds it to l.User (now is its AuthTime) and records it in the
// user's index, ending the user's least recently seen sessions beyond
// l.Max. The new session is written to both tiers at once, before it is
// listed, so that the user's list shows it right away; Close writes it
// again only if the request changed it. Login fails, reporting once, when
// Renew would, or when the new session cannot be written or indexed: then
// the old session has ended all the same (its ID was retired) and no
// session is bound. An empty l.User fails with ErrNoUser, changing
// nothing.
func (s *Store) Login(sess session.Session, l Login) (session.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.debug("login", s.tiers(), "", time.Now(), slog.Attr{})
	if s.t.durable == nil || s.closed || l.User == "" {
		err := ErrNoIndex
		if s.closed {
			err = ErrClosed
		} else if l.User == "" {
			err = ErrNoUser
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
		delete(s.entries, fresh.ID()) // written below
	}
	e := indexEntry{Handle: newHandle(), ID: fresh.ID(), Created: s.o.Now(), UA: cut(l.UserAgent, MaxUserAgent), IP: deviceIP(l.IP),
		Timeout: seconds(fresh.Timeout())}
	fresh.SetAttr(AttrUser, l.User)
	fresh.SetAttr(AttrHandle, e.Handle)
	fresh.SetAttr(AttrAuth, authStamp(e.Created))
	var ending ends
	fresh, err := s.listed(fresh, "login", func(exp time.Time) (err error) {
		var endErr error
		ending, endErr, err = s.t.bind(s.ctx, l, e, exp, old)
		if endErr != nil { // those entries stay, for the next clean-up
			s.report("login", errTier(endErr), "", endErr)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := s.t.end(s.ctx, ending.ids, byRevocation, ending.life); err != nil {
		// Beyond the limit: those sessions stay marked in the index, and
		// the next revocation ends them.
		s.report("login", errTier(err), fresh.ID(), err)
	}
	return fresh, nil
}

// seconds returns d in whole seconds, rounded up, for an index entry: a
// tombstone lasts no less than its session.
func seconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// cut returns s cut to at most n bytes, at a character's start.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// deviceIP returns ip in its short form, without a zone, or "" if it is
// not an IP address: so no client-sent value grows the user's index.
func deviceIP(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	return a.WithZone("").Unmap().String()
}

// listed writes a new bound session to both tiers and only then lets index
// (a transaction on the user's index) list it, so that no revocation can
// name an ID before it is written; once one has ended it, no write of this
// request brings it back (its write-back reads the Cache first and never
// Adds). When either step fails the new session is ended, reported under
// op.
func (s *Store) listed(fresh session.Session, op string, index func(exp time.Time) error) (session.Session, error) {
	id := fresh.ID()
	value, err := s.encode(fresh, newWriteID(s.o.Now()))
	exp := s.expiry(fresh)
	if err == nil {
		err = s.create(op, id, value, exp)
		if err == nil {
			err = index(exp)
		}
		if err != nil {
			if eerr := s.t.end(s.ctx, []string{id}, byRevocation, fresh.Timeout()); eerr != nil {
				err = errors.Join(err, eerr)
			}
		}
	}
	if err != nil {
		s.report(op, errTier(err), id, err)
		return nil, err
	}
	t := s.track(fresh)
	s.entries[id] = &entry{sess: t}
	return t, nil
}

// create writes a new session to both tiers at once, to the Cache
// unconfirmed (see vouch): nobody knows the ID before both writes have
// returned, but the Add may land later. Only the Durable tier's failure
// fails it: the Cache gets the session back from there.
func (s *Store) create(op, id string, value []byte, exp time.Time) error {
	var putErr error
	join := s.t.rt.fork(s.ctx, func(ctx context.Context) {
		putErr = s.t.durable.Put(ctx, id, tier.Record{Value: value, Expires: exp})
	})
	addErr := s.t.cache.Add(s.ctx, &tier.Item{Key: s.o.KeyPrefix + id, Value: value, Flags: tier.FlagUnconfirmed, Expires: exp})
	join()
	if addErr != nil && putErr == nil {
		s.report(op, tierCache, id, addErr)
	}
	return putErr
}

// bind lists e in its user's index, in a transaction that marks the
// entries of sessions found ended, drops those it has first ended in both
// tiers (see drop) and that of the session it replaces (old, if any), and
// marks the least recently seen sessions beyond the limit as ending. It
// returns the IDs the committed index marks, to end, and a failure to end
// those it would have dropped.
func (t *Tiers) bind(ctx context.Context, l Login, e indexEntry, exp time.Time, old string) (ending ends, endErr, err error) {
	id := IndexID(l.User)
	ix, err := readIndex(ctx, t.durable, id)
	if err != nil {
		return ends{}, nil, err
	}
	now := t.o.Now()
	o, err := observe(ctx, t.durable, ix, now, t.o.Codec)
	if err != nil {
		return ends{}, nil, err
	}
	ended, endErr := t.endFirst(ctx, ix.droppable(o, now))
	limit := l.Max
	if limit <= 0 {
		limit = DefaultMaxSessions
	}
	limit = min(limit, MaxSessionsLimit)
	ix, err = updateIndex(ctx, t.durable, id, exp, func(ix *index) {
		ix.Prefix = &t.o.KeyPrefix // before bind, which counts it in the size
		ix.drop(o, ended, old, now)
		ix.bind(e, limit, o, now)
	})
	// Those found ended were ended by a logout, a Renew or whoever marked
	// them, which may be still at it: drop keeps them listed, for a
	// revocation to end again, and a later clean-up to end before it drops
	// them.
	return ix.ending(o), endErr, err
}
