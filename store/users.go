package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/icza/session"
)

// Attributes of a session bound to a user by Login. A session never bound
// has neither, and keeps icza/gaesession's format.
const (
	AttrUser   = "_gaesession.user"   // the application's user ID
	AttrHandle = "_gaesession.handle" // the session's handle in the user's list
)

// DefaultMaxSessions is the default limit of sessions per user.
const DefaultMaxSessions = 100

// Device is one session of a user, as List shows it. Its Handle names the
// session in the user's list only: it is not the session ID, which cannot
// be derived from it.
type Device struct {
	Handle    string    `json:"handle"`
	Current   bool      `json:"current"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"` // at TouchInterval granularity
	UserAgent string    `json:"user_agent"`
	IP        string    `json:"ip"`
}

// index is a user's sessions: one Durable record per user, read by key
// (strongly consistent, unlike a query), updated in a transaction.
type index struct {
	Sessions []indexEntry `json:"s"`
}

type indexEntry struct {
	Handle  string    `json:"h"`
	ID      string    `json:"id"`
	Created time.Time `json:"c"`
	UA      string    `json:"ua,omitempty"`
	IP      string    `json:"ip,omitempty"`
}

// indexPrefix starts the Durable ID of a user's index; no session ID
// contains EndSuffix.
const indexPrefix = "user" + EndSuffix

// IndexID returns the Durable ID of a user's index: a hash, so that any
// user ID fits a key name and none is stored in the clear there.
func IndexID(user string) string {
	sum := sha256.Sum256([]byte(user))
	return indexPrefix + hex.EncodeToString(sum[:16])
}

// IsIndexID reports whether a Durable ID names a user's index.
func IsIndexID(id string) bool {
	return strings.HasPrefix(id, indexPrefix) && !strings.HasSuffix(id, EndSuffix)
}

// newHandle returns a random handle.
func newHandle() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// readIndex returns a user's index, empty when there is none.
func readIndex(ctx context.Context, d Durable, user string) (index, error) {
	rec, err := d.Get(ctx, IndexID(user))
	if errors.Is(err, ErrNotFound) {
		return index{}, nil
	}
	if err != nil {
		return index{}, err
	}
	return decodeIndex(rec.Value)
}

func decodeIndex(b []byte) (index, error) {
	var ix index
	if len(b) == 0 {
		return ix, nil
	}
	if err := json.Unmarshal(b, &ix); err != nil {
		return ix, fmt.Errorf("%w: user index: %v", ErrCorrupt, err)
	}
	return ix, nil
}

// updateIndex applies f to a user's index (the record indexID) in a
// transaction. The record expires with the longest-lived session it may
// list (purge's Sweep keeps it while one lives).
func updateIndex(ctx context.Context, d Durable, indexID string, exp time.Time, f func(*index)) error {
	return d.Update(ctx, indexID, func(rec Record, found bool) (Record, error) {
		ix, err := decodeIndex(rec.Value)
		if err != nil {
			return Record{}, err
		}
		f(&ix)
		b, err := json.Marshal(ix)
		if err != nil {
			return Record{}, err
		}
		if rec.Expires.After(exp) {
			exp = rec.Expires
		}
		return Record{Value: b, Expires: exp}, nil
	})
}

// without returns the entries whose IDs are not in ids.
func (ix *index) without(ids []string) []indexEntry {
	return slices.DeleteFunc(slices.Clone(ix.Sessions), func(e indexEntry) bool { return slices.Contains(ids, e.ID) })
}

// live pairs a user's index entries with their sessions as stored: those
// still live, and the IDs of those that ended or expired (except entries
// younger than a request, whose session may not be written yet).
func (t *Tiers) live(ctx context.Context, ix index) (live []indexEntry, seen []time.Time, dead []string, err error) {
	recs, err := records(ctx, t.durable, ix)
	if err != nil {
		return nil, nil, nil, err
	}
	now := t.o.Now()
	for i, rec := range recs {
		e := ix.Sessions[i]
		switch {
		case rec.Value != nil && now.Before(rec.Expires):
			live, seen = append(live, e), append(seen, t.lastSeen(rec, e))
		case now.Sub(e.Created) > minTombstone/6:
			dead = append(dead, e.ID)
		}
	}
	return live, seen, dead, nil
}

// records reads the sessions an index lists, MaxBatch at a time; one that
// is missing or ended has a nil Value.
func records(ctx context.Context, d Durable, ix index) ([]Record, error) {
	recs := make([]Record, 0, len(ix.Sessions))
	for start := 0; start < len(ix.Sessions); start += MaxBatch {
		batch := ix.Sessions[start:min(start+MaxBatch, len(ix.Sessions))]
		ids := make([]string, len(batch))
		for i, e := range batch {
			ids[i] = e.ID
		}
		got, err := d.GetMulti(ctx, ids)
		if err != nil {
			return nil, err
		}
		recs = append(recs, got...)
	}
	return recs, nil
}

// lastSeen is a stored session's access time, or its creation.
func (t *Tiers) lastSeen(rec Record, e indexEntry) time.Time {
	sess := session.NewSession()
	if err := t.o.Codec.Unmarshal(rec.Value, sess); err != nil {
		return e.Created
	}
	return sess.Accessed()
}

// Sweep is for purge: of the expired Durable IDs found, it returns those
// to delete. A user's index expires with the sessions it listed when it was
// written, but touches keep sessions alive longer: an index that still
// lists a live session is kept, with those entries only, until the latest
// of their expiries.
func Sweep(ctx context.Context, d Durable, ids []string) ([]string, error) {
	del := make([]string, 0, len(ids))
	for _, id := range ids {
		if !IsIndexID(id) {
			del = append(del, id)
			continue
		}
		keep, err := sweepIndex(ctx, d, id)
		if err != nil {
			return nil, err
		}
		if !keep {
			del = append(del, id)
		}
	}
	return del, nil
}

// sweepIndex keeps the live entries of an expired index, reporting false
// when there is none left (or no index).
func sweepIndex(ctx context.Context, d Durable, id string) (bool, error) {
	rec, err := d.Get(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	ix, err := decodeIndex(rec.Value)
	if err != nil || len(ix.Sessions) == 0 {
		return false, nil // an unreadable index protects nothing
	}
	recs, err := records(ctx, d, ix)
	if err != nil {
		return false, err
	}
	now, exp := time.Now(), time.Time{}
	var dead []string
	for i, r := range recs {
		switch {
		case r.Value == nil || !now.Before(r.Expires):
			dead = append(dead, ix.Sessions[i].ID)
		case r.Expires.After(exp):
			exp = r.Expires
		}
	}
	if exp.IsZero() {
		return false, nil
	}
	// Drop only what was found dead: a login may add an entry meanwhile.
	return true, updateIndex(ctx, d, id, exp, func(ix *index) { ix.Sessions = ix.without(dead) })
}
