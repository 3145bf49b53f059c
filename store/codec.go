package store

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// Codec turns sessions into the bytes both tiers keep and back. Its fields
// are those of App Engine's memcache.Codec, so that one converts:
// (*store.Codec)(&c) for c a memcache.Codec.
type Codec struct {
	Marshal   func(any) ([]byte, error)
	Unmarshal func([]byte, any) error
}

var (
	// Gob encodes with encoding/gob, one encoder per value: the bytes of
	// App Engine's memcache.Gob, icza/gaesession's format.
	Gob = Codec{gobMarshal, gobUnmarshal}

	// JSON encodes with encoding/json, as App Engine's memcache.JSON.
	JSON = Codec{json.Marshal, json.Unmarshal}
)

func gobMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func gobUnmarshal(b []byte, v any) error {
	return gob.NewDecoder(bytes.NewReader(b)).Decode(v)
}

// encode stamps sess with the write wid (see AttrWrites) and returns it in
// the codec's bytes, holding the ID it is stored under (see HashIDs), or an error wrapping ErrEncode or ErrTooLarge. It
// holds the session's lock meanwhile, so that other goroutines of the
// request may call SetAttr.
func (s *Store) encode(sess session.Session, wid string) (b []byte, err error) {
	stamp(sess, wid)
	sid := s.sid(sess.ID())
	err = locked(sess, func() error {
		v := withID(sess, sid) // the stored ID, in a copy with HashIDs
		if v == nil {
			return fmt.Errorf("HashIDs needs icza/session's sessions, not %T", unwrap(sess))
		}
		b, err = s.o.Codec.Marshal(v)
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

// decode turns stored bytes back into the session with the given ID,
// stored under it or, with HashIDs, under its hash. Bad
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
	switch sid := sess.ID(); {
	case sid == id:
	case s.o.HashIDs && sid == s.hashOf(id):
		setID(sess, id)
	default:
		return nil, fmt.Errorf("%w: value belongs to another session", ErrCorrupt)
	}
	if sess.Timeout() <= 0 {
		return nil, fmt.Errorf("%w: timeout %v", ErrCorrupt, sess.Timeout())
	}
	return sess, nil
}

// ReservedPrefix starts the names of the attributes the library keeps in a
// session, such as AttrUser and AttrHandle. Only the library sets them: on
// a session the store hands out, SetAttr of such a name is ignored and
// reported (ErrReserved), and a session the app made and added is written
// without them. So an app that stores attributes under names a client
// chooses cannot be made to bind a session to another user.
const ReservedPrefix = "_gaesession."

// tracked is a session handed out by the store (loaded, or made by Login or
// Renew). It records the attributes the request sets, so that a write-back
// happens only when something changed and can merge those changes into a
// newer stored version, and it refuses the library's reserved names.
type tracked struct {
	session.Session
	over *atomic.Bool // the request's store is closed
	log  *slog.Logger
	errf func(error) // the store's error function

	mu      sync.Mutex
	changes map[string]any // attribute name to new value; nil means deleted
}

// track wraps a session the store hands out.
func (s *Store) track(sess session.Session) *tracked {
	t := s.tracking(sess)
	return &t
}

// tracking returns the tracked value of sess (see track), for a caller
// that places it in an allocation of its own.
func (s *Store) tracking(sess session.Session) tracked {
	return tracked{Session: sess, over: &s.over, log: s.log, errf: s.errf}
}

// handOut wraps the new session of a Renew, already entered whole, for the
// app.
func (s *Store) handOut(fresh session.Session) session.Session {
	t := s.track(fresh)
	s.entries.get(fresh.ID()).sess = t
	return t
}

// SetAttr sets the attribute and records the change. A name under
// ReservedPrefix is ignored and reported with ErrReserved. After the
// request's store was closed the change cannot be saved: that is logged at
// level Error.
func (t *tracked) SetAttr(name string, value any) {
	if strings.HasPrefix(name, ReservedPrefix) {
		t.errf(&Error{Op: "set-attr", Session: ShortID(t.ID()), Err: fmt.Errorf("%w: %.64q", ErrReserved, name)})
		return
	}
	t.set(name, value)
}

// set is SetAttr without the check of reserved names, for the library.
func (t *tracked) set(name string, value any) {
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

// hasChanges reports whether SetAttr recorded a change.
func (t *tracked) hasChanges() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.changes) > 0
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

// unreserve removes the reserved attributes from a session the app made
// (not tracked), reporting under op that it carried some: only the library
// binds a session.
func (s *Store) unreserve(op string, sess session.Session) {
	if _, ok := sess.(*tracked); ok {
		return
	}
	var names []string
	for name := range sess.Attrs() {
		if strings.HasPrefix(name, ReservedPrefix) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		sess.SetAttr(name, nil)
	}
	if len(names) > 0 {
		s.report(op, "", sess.ID(), fmt.Errorf("%w: %d attributes dropped", ErrReserved, len(names)))
	}
}

// unwrap returns the icza/session value behind sess.
func unwrap(sess session.Session) session.Session {
	if t, ok := sess.(*tracked); ok {
		return t.Session
	}
	return sess
}

// AttrWrites is the reserved attribute that lists, oldest first and
// separated by spaces, the IDs of the latest writes (at most maxWrites)
// whose changes a stored value holds. Each write gets an ID of its own and
// adds it to every value it makes, merged values included; so a check
// after a Durable write tells whether a value holds the write, whatever
// the order in which the tiers saw the writes. A value without it (an
// older release's, or icza/gaesession's) holds no write.
const AttrWrites = ReservedPrefix + "w"

// maxWrites bounds AttrWrites: far more writes than a session sees while
// one write's Durable call is in flight.
const maxWrites = 16

// newWriteID returns a write ID: 12 base64url characters for the
// millisecond the write was made (Options.Now) and 3 random bytes, so that
// of two writes of one attribute that did not see each other the later
// one wins (see setBy).
func newWriteID(now time.Time) string {
	var b [9]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i], ms = byte(ms), ms>>8
	}
	_, _ = rand.Read(b[6:]) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// later reports whether write ID a was made after b (by their times, then
// their random bytes).
func later(a, b string) bool {
	x, errx := base64.RawURLEncoding.DecodeString(a)
	y, erry := base64.RawURLEncoding.DecodeString(b)
	if errx != nil || erry != nil {
		return a > b
	}
	return bytes.Compare(x, y) > 0
}

// AttrSetBy is the reserved attribute that names, for each attribute a
// write set or deleted, the write (its ID, see AttrWrites) that did it
// last, as a JSON object in a string. A write that lands late onto a
// value that lacks it changes an attribute only when it saw the write
// that set it there, or was made after it.
const AttrSetBy = ReservedPrefix + "by"

// setBy returns which write last set each attribute of sess.
func setBy(sess session.Session) map[string]string {
	s, _ := unwrap(sess).Attr(AttrSetBy).(string)
	m := map[string]string{}
	_ = json.Unmarshal([]byte(s), &m) // a value without it, or a bad one: none known
	return m
}

// markSet records that the write wid set the given attributes of sess,
// and forgets deleted attributes no write it holds deleted.
func markSet(sess session.Session, names []string, wid string) {
	by := setBy(sess)
	for _, name := range names {
		by[name] = wid
	}
	for name, w := range by {
		if unwrap(sess).Attr(name) == nil && w != wid && !holds(sess, w) {
			delete(by, name)
		}
	}
	b, _ := json.Marshal(by) // strings only: never fails
	unwrap(sess).SetAttr(AttrSetBy, string(b))
}

// writes returns the write IDs a session holds, oldest first.
func writes(sess session.Session) []string {
	s, _ := unwrap(sess).Attr(AttrWrites).(string)
	return strings.Fields(s)
}

// holds reports whether a session holds the changes of the write wid.
func holds(sess session.Session, wid string) bool {
	return slices.Contains(writes(sess), wid)
}

// stamp adds the write wid to the IDs sess holds, keeping the latest
// maxWrites. It is not a change to merge.
func stamp(sess session.Session, wid string) {
	w := slices.DeleteFunc(writes(sess), func(id string) bool { return id == wid })
	w = append(w, wid)
	if len(w) > maxWrites {
		w = w[len(w)-maxWrites:]
	}
	unwrap(sess).SetAttr(AttrWrites, strings.Join(w, " "))
}
