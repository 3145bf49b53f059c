package store

import (
	"bytes"
	"encoding/base64"
	"encoding/gob"
	"fmt"
	"sync"
	"time"

	"github.com/icza/session"
)

// MaxSize is the largest encoded session the store writes: it fits a
// Memcache value (1 MB) and a Datastore entity (1,048,572 bytes) with room
// for the key and the other property.
const MaxSize = 1_000_000

// tombstone marks, in the Memcache item's flags, a session removed on
// logout: requests that loaded it earlier cannot write it back. Values
// written by icza/gaesession have flags 0.
const tombstone = 1

// entity is a session in Datastore, in icza/gaesession's format: the key
// name is the session ID.
type entity struct {
	Expires time.Time `datastore:"exp"`
	Value   []byte    `datastore:"val,noindex"`
}

// encode returns sess in the codec's bytes, or an error wrapping ErrEncode
// or ErrTooLarge.
func (s *Store) encode(sess session.Session) ([]byte, error) {
	b, err := s.o.Codec.Marshal(unwrap(sess))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxSize)
	}
	return b, nil
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

// tracked is a session loaded from the store. It records the attributes the
// request sets, so that a flush writes only when something changed and can
// merge those changes into a newer stored version.
type tracked struct {
	session.Session
	mu      sync.Mutex
	changes map[string]any // attribute name to new value; nil means deleted
}

// SetAttr sets the attribute and records the change.
func (t *tracked) SetAttr(name string, value any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.Session.SetAttr(name, value)
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

// record holds the fields of an icza/session session; gob matches them by
// name, so a session decodes into it.
type record struct {
	CAttrsF  map[string]any
	AttrsF   map[string]any
	TimeoutF time.Duration
}

// Renew returns a copy of sess under a new random ID, with the same
// constant and ordinary attributes and timeout, created now. It fails when
// an attribute cannot be encoded with gob.
func Renew(sess session.Session) (session.Session, error) {
	var buf bytes.Buffer
	var rec record
	if err := gob.NewEncoder(&buf).Encode(unwrap(sess)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	if err := gob.NewDecoder(&buf).Decode(&rec); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	n := max(base64.URLEncoding.DecodedLen(len(sess.ID())), 18)
	return session.NewSessionOptions(&session.SessOptions{
		CAttrs: rec.CAttrsF, Attrs: rec.AttrsF, Timeout: rec.TimeoutF, IDLength: n,
	}), nil
}
