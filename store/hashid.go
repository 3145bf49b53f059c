package store

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"

	"github.com/icza/session"
)

// hashMark starts a hashed ID: no session ID contains it (see ValidID), so
// a hashed ID is never taken for a raw one, and a cookie holding one is
// refused before it reaches the store.
const hashMark = "~"

// HashID returns the ID a session is stored under with HashIDs, in every
// tier: hashMark and the SHA-256 of id in unpadded base64url, 44 bytes.
// The store uses it; tests and tools that look into the tiers may too.
func HashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	var b [len(hashMark) + 43]byte
	copy(b[:], hashMark)
	base64.RawURLEncoding.Encode(b[len(hashMark):], sum[:])
	return string(b[:])
}

// isHashed reports whether a stored ID is a hashed one.
func isHashed(sid string) bool { return strings.HasPrefix(sid, hashMark) }

// rawIDs reports whether sessions stored under their raw IDs are still
// looked for (HashIDs and RawIDsUntil).
func (o *Options) rawIDs() bool {
	return o.HashIDs && (o.RawIDsUntil.IsZero() || o.Now().Before(o.RawIDsUntil))
}

// entryIDs returns the stored IDs a session or an index entry known by
// eid may have: with HashIDs, a raw ID (a session's, or an entry's written
// before HashIDs or not moved since) stands for its hash too, where the
// session moves on its next write.
func (o *Options) entryIDs(eid string) []string {
	if o.HashIDs && !isHashed(eid) {
		return []string{eid, HashID(eid)}
	}
	return []string{eid}
}

// entriesIDs returns the stored IDs of the sessions of index entries with
// the IDs eids (see entryIDs).
func (o *Options) entriesIDs(eids []string) []string {
	if !o.HashIDs {
		return eids
	}
	var ids []string
	for _, eid := range eids {
		ids = append(ids, o.entryIDs(eid)...)
	}
	return ids
}

// sid returns the ID session id is stored under for this request: id
// without HashIDs, or when the request found it stored so; else its hash.
func (s *Store) sid(id string) string {
	if !s.o.HashIDs {
		return id
	}
	s.sidMu.Lock()
	defer s.sidMu.Unlock()
	if s.raw[id] {
		return id
	}
	return s.hashLocked(id)
}

// hashOf is HashID, computed once for the last ID asked (a request
// rarely touches more than one session).
func (s *Store) hashOf(id string) string {
	s.sidMu.Lock()
	defer s.sidMu.Unlock()
	return s.hashLocked(id)
}

func (s *Store) hashLocked(id string) string {
	if id != s.hashed[0] || s.hashed[1] == "" {
		s.hashed = [2]string{id, HashID(id)}
	}
	return s.hashed[1]
}

// setRaw records whether the request found session id under its raw ID
// (with HashIDs): its next write moves it (see move).
func (s *Store) setRaw(id string, raw bool) {
	s.sidMu.Lock()
	defer s.sidMu.Unlock()
	if raw && s.raw == nil {
		s.raw = make(map[string]bool, 1)
	}
	if raw || s.raw != nil {
		s.raw[id] = raw
	}
}

// key returns session id's Cache key for this request.
func (s *Store) key(id string) string { return s.o.KeyPrefix + s.sid(id) }

// unmoved reports whether the request found session id under its raw ID
// while HashIDs is on: its next write moves it (see move).
func (s *Store) unmoved(id string) bool {
	if !s.o.HashIDs {
		return false
	}
	s.sidMu.Lock()
	defer s.sidMu.Unlock()
	return s.raw[id]
}

// ended returns the stored IDs that a logout of session id ends: its hash,
// and its raw ID too when the request found it there (another request may
// be moving it: of a move and a logout, the one that ends the raw ID first
// wins, see move).
func (s *Store) ended(id string) []string {
	if s.unmoved(id) {
		return []string{id, s.hashOf(id)}
	}
	return []string{s.sid(id)}
}

// withID returns sess, or with another stored ID a shallow copy of it
// holding that ID, for encoding; nil when sess is not icza/session's.
func withID(sess session.Session, sid string) any {
	v := unwrap(sess)
	if sid == v.ID() {
		return v
	}
	p := reflect.ValueOf(v)
	if p.Kind() != reflect.Pointer || p.Elem().Kind() != reflect.Struct {
		return nil
	}
	cp := reflect.New(p.Elem().Type())
	cp.Elem().Set(p.Elem())
	f := cp.Elem().FieldByName("IDF")
	if !f.IsValid() || f.Kind() != reflect.String {
		return nil
	}
	f.SetString(sid)
	return cp.Interface()
}

// setID gives a session just decoded the ID it is known by.
func setID(sess session.Session, id string) {
	if f := reflect.ValueOf(sess).Elem().FieldByName("IDF"); f.IsValid() && f.Kind() == reflect.String {
		f.SetString(id)
	}
}

// move takes a session the request found under its raw ID to its hash, on
// its first write with HashIDs, as Renew does without a new ID: it retires
// the raw ID (a FlagRenewed tombstone in the Cache, ending it in the
// Durable tier), taking over its newest stored value, onto which the
// request's changes go, and moves the session's entry in its user's
// index. It returns the entry to write whole under the hash (see
// saveWhole), or nil: ended meanwhile, or a failure (reported). A request
// that writes the raw ID later is told ErrRenewed; one that reads the
// session between the raw ID's end and the write under the hash finds
// none (once per session, for the few calls of the move).
func (s *Store) move(id string, e *entry, changes map[string]any) *entry {
	// Its raw ID's tombstones need only outlive the requests and
	// background writes that may still write it: the session lives on
	// under its hash, and a tombstone's key holds the raw ID.
	newest, retired, err := s.retire(id, []string{id}, 0, !e.whole)
	switch {
	case errors.Is(err, errRemoved):
		return nil // logout wins
	case err != nil:
		s.report("save", errTier(err), id, err)
		if !retired || !errors.Is(err, ErrStillReadable) {
			return nil
		}
		// The raw ID is retired in the Cache: the session goes on under
		// its hash, its raw record left for a store without HashIDs.
	}
	src := e.sess
	if newest != nil && !e.whole {
		if base, ok := s.onto(id, newest, changes); ok {
			src = base
		}
	}
	s.setRaw(id, false)
	if user, _ := src.Attr(AttrUser).(string); user != "" && s.t.durable != nil {
		// An entry left under the raw ID stands for the hash too (see
		// Options.entryIDs).
		handle, _ := src.Attr(AttrHandle).(string)
		_, err := updateIndex(s.ctx, s.t.durable, IndexID(user), s.expiry(src), func(ix *index) {
			ix.move(handle, []string{id}, s.hashOf(id))
		})
		if err != nil {
			s.report("save", errTier(err), id, err)
		}
	}
	return &entry{sess: src, whole: true}
}
