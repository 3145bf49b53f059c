package store

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/icza/session"
)

// MaxSize is the largest encoded session the store writes, 1,048,000
// bytes: the smaller of a Memcache value under a key of MaxKeyLen bytes
// (1 MiB less the key and 73 bytes of overhead: 1,048,253) and what a
// Datastore entity (at most 1,048,572 bytes) leaves for its value after the
// key (a name of up to MaxKeyLen bytes, the kind, the app ID) and the exp
// property, for which 572 bytes are kept. icza/gaesession stored sessions
// of up to about 1,030,000 bytes.
const MaxSize = maxEntity - entityOverhead

const (
	maxEntity      = 1_048_572 // Datastore's entity limit
	entityOverhead = 572       // key, kind, app ID and exp of a session entity
)

// encode returns sess in the codec's bytes, or an error wrapping ErrEncode
// or ErrTooLarge. It holds the session's lock meanwhile, so that other
// goroutines of the request may call SetAttr.
func (s *Store) encode(sess session.Session) (b []byte, err error) {
	err = locked(sess, func() error {
		b, err = s.o.Codec.Marshal(unwrap(sess))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxSize)
	}
	return b, nil
}

// locked runs f holding sess's read lock (icza/session's SetAttr takes the
// write lock).
func locked(sess session.Session, f func() error) error {
	mu := sess.Mutex()
	mu.RLock()
	defer mu.RUnlock()
	return f()
}

// decode turns stored bytes back into the session with the given ID. Bad
// bytes, or bytes of another session, give an error wrapping ErrCorrupt.
func (s *Store) decode(b []byte, id string) (sess session.Session, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: decoder panic: %v", ErrCorrupt, p)
		}
	}()
	sess = session.NewSession()
	if err := s.o.Codec.Unmarshal(b, sess); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if sess.ID() != id {
		return nil, fmt.Errorf("%w: value belongs to another session", ErrCorrupt)
	}
	if sess.Timeout() <= 0 {
		return nil, fmt.Errorf("%w: timeout %v", ErrCorrupt, sess.Timeout())
	}
	return sess, nil
}

// tracked is a session loaded from the store. It records the attributes the
// request sets, so that a write-back happens only when something changed
// and can merge those changes into a newer stored version.
type tracked struct {
	session.Session
	over *atomic.Bool // the request's store is closed
	log  *slog.Logger

	mu      sync.Mutex
	changes map[string]any // attribute name to new value; nil means deleted
}

// SetAttr sets the attribute and records the change. After the request's
// store was closed the change cannot be saved: that is logged at level
// Error.
func (t *tracked) SetAttr(name string, value any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Session.SetAttr(name, value)
	if t.over.Load() {
		t.log.Error("gaesession: SetAttr after the request ended: change not saved",
			"err", &Error{Op: "set-attr", Session: ShortID(t.ID()), Err: ErrClosed}, "attr", name)
		return
	}
	if t.changes == nil {
		t.changes = make(map[string]any)
	}
	t.changes[name] = value
}

// changed returns a copy of the recorded changes.
func (t *tracked) changed() map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.changes) == 0 {
		return nil
	}
	m := make(map[string]any, len(t.changes))
	for k, v := range t.changes {
		m[k] = v
	}
	return m
}

// unwrap returns the icza/session value behind sess.
func unwrap(sess session.Session) session.Session {
	if t, ok := sess.(*tracked); ok {
		return t.Session
	}
	return sess
}
