package store

import (
	"context"
	"errors"
	"log/slog"
	"time"

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
	var old []string
	if sess == nil {
		fresh = session.NewSessionOptions(&session.SessOptions{Timeout: l.Timeout})
	} else {
		var err error
		if fresh, err = s.renew(sess, l.Timeout); err != nil {
			return nil, err // reported
		}
		old = s.o.entryIDs(sess.ID())
		s.entries.remove(fresh.ID()) // written below
	}
	e := indexEntry{Handle: newHandle(), ID: s.sid(fresh.ID()), Created: s.o.Now(), UA: cut(l.UserAgent, MaxUserAgent), IP: deviceIP(l.IP),
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
	if err := s.t.end(s.ctx, s.o.entriesIDs(ending.ids), byRevocation, ending.life); err != nil {
		// Beyond the limit: those sessions stay marked in the index, and
		// the next revocation ends them.
		s.report("login", errTier(err), fresh.ID(), err)
	}
	return fresh, nil
}

// Renew gives sess a new random ID, against session fixation, and returns
// the new session, to be written whole when the store is closed. It
// retires the old ID and takes over its newest stored value in one step
// (compare-and-swap to a tombstone), so the new session carries every
// write that landed before, plus this request's changes; a request that
// writes to the old ID later is told ErrRenewed. A session bound to a user
// keeps its place (and handle) in the user's list: it is written to both
// tiers at once and its entry moved to it in a transaction; when a
// revocation marked the entry first, the new ID ends as well and Renew
// fails (ErrGone). The new session counts as created now. Renew fails,
// reporting once, when the old ID may still be readable (ErrStillReadable,
// or the Cache's failure: then nothing changed), when the session ended
// meanwhile (ErrGone; ErrRenewed when another request renewed it first),
// or after Close (ErrClosed).
func (s *Store) Renew(sess session.Session) (session.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unreserve("renew", sess) // a session the app made binds no user
	fresh, err := s.renew(sess, 0)
	if err != nil {
		return nil, err
	}
	user, _ := fresh.Attr(AttrUser).(string)
	handle, _ := fresh.Attr(AttrHandle).(string)
	if user == "" || s.t.durable == nil {
		return s.handOut(fresh), nil
	}
	// Bound: the entry moves to the new ID in the user's index, unless a
	// revocation marked it first; then the new ID ends too.
	s.entries.remove(fresh.ID()) // written by listed
	return s.listed(fresh, "renew", func(exp time.Time) error {
		moved := false
		_, err := updateIndex(s.ctx, s.t.durable, IndexID(user), exp, func(ix *index) {
			moved = ix.move(handle, s.o.entryIDs(sess.ID()), s.sid(fresh.ID()))
		})
		if err == nil && !moved {
			err = ErrGone // revoked meanwhile
		}
		return err
	})
}

// renew is Renew without the user's index, with the new session's timeout
// (0: sess's). Callers hold s.mu.
func (s *Store) renew(sess session.Session, timeout time.Duration) (session.Session, error) {
	id := sess.ID()
	defer s.debug("renew", s.tiers(), id, time.Now(), slog.Attr{})
	if s.closed {
		s.report("renew", "", id, ErrClosed)
		return nil, ErrClosed
	}
	e := s.entries.get(id)
	src := sess
	newest, retired, err := s.retire(id, []string{s.sid(id)}, sess.Timeout(), e != nil && !e.whole)
	if err == nil && newest != nil && e != nil && !e.whole {
		var changes map[string]any
		if t, ok := e.sess.(*tracked); ok {
			changes = t.changed()
		}
		src = e.sess // the request's copy, unless the stored value decodes
		if base, ok := s.onto(id, newest, changes); ok {
			src = base
		}
	}
	var fresh session.Session
	if err == nil {
		fresh, err = renewed(src, timeout)
	}
	if retired {
		s.entries.set(id, &entry{sess: sess, removed: true}) // nothing more to write
	}
	if err != nil {
		if errors.Is(err, errRemoved) {
			err = ErrGone
		}
		s.report("renew", errTier(err), id, err)
		return nil, err
	}
	s.entries.set(fresh.ID(), &entry{sess: fresh, whole: true})
	return fresh, nil
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
			if eerr := s.t.end(s.ctx, []string{s.sid(id)}, byRevocation, fresh.Timeout()); eerr != nil {
				err = errors.Join(err, eerr)
			}
		}
	}
	if err != nil {
		s.report(op, errTier(err), id, err)
		return nil, err
	}
	t := s.track(fresh)
	s.entries.set(id, &entry{sess: t})
	return t, nil
}

// create writes a new session to both tiers at once, to the Cache
// unconfirmed (see vouch): nobody knows the ID before both writes have
// returned, but the Add may land later. Only the Durable tier's failure
// fails it: the Cache gets the session back from there.
func (s *Store) create(op, id string, value []byte, exp time.Time) error {
	var putErr error
	join := s.t.rt.fork(s.ctx, func(ctx context.Context) {
		putErr = s.t.durable.Put(ctx, s.sid(id), tier.Record{Value: value, Expires: exp})
	})
	addErr := s.t.cache.Add(s.ctx, &tier.Item{Key: s.key(id), Value: value, Flags: tier.FlagUnconfirmed, Expires: exp})
	join()
	if addErr != nil && putErr == nil {
		s.report(op, tierCache, id, addErr)
	}
	return putErr
}

// Attributes of a session bound to a user by Login. A session never bound
// has neither, and keeps icza/gaesession's format.
const (
	AttrUser   = "_gaesession.user"   // the application's user ID
	AttrHandle = "_gaesession.handle" // the session's handle in the user's list
	AttrAuth   = "_gaesession.auth"   // when the user authenticated (AuthTime)
)

// AuthTime returns when the user of a bound session authenticated: at
// Login, or at the latest Reauthenticated, by Options.Now. ok is false when
// the session records no such time (not bound, or bound by an earlier
// release). The attribute is an RFC 3339 string, which every codec keeps.
func AuthTime(sess session.Session) (t time.Time, ok bool) {
	if sess == nil {
		return time.Time{}, false
	}
	v, _ := sess.Attr(AttrAuth).(string)
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// authStamp is the value of AttrAuth for a time.
func authStamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// Reauthenticated records that the user of sess, a session bound to a user
// that this store handed out, has just authenticated again (re-entered a
// password, say): AuthTime becomes now. The session keeps its ID and its
// entry in the user's list; the change is written back like any other. It
// fails with ErrReserved for a session the store did not hand out (made
// by the app), with ErrNoUser for one not bound, and after Close with
// ErrClosed.
func (s *Store) Reauthenticated(sess session.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := sess.(*tracked)
	var err error
	switch {
	case s.closed:
		err = ErrClosed
	case !ok:
		err = ErrReserved
	case t.Attr(AttrUser) == nil:
		err = ErrNoUser
	}
	if err != nil {
		s.report("reauthenticated", "", sess.ID(), err)
		return err
	}
	t.set(AttrAuth, authStamp(s.o.Now()))
	return nil
}
