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
	"strings"
	"time"

	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// Now returns the time by Options.Now, the clock of expiry and AuthTime.
func (t *Tiers) Now() time.Time { return t.o.Now() }

// DefaultMaxSessions is the default limit of sessions per user: far more
// than one person's devices and browsers, and with every entry at its cap
// (maxEntryBytes, 2,000 bytes) a fifth of what a user's index may hold
// (about 200 KB of MaxSize), so the entries of sessions being ended fit
// beside them.
const DefaultMaxSessions = 100

// MaxSessionsLimit is the highest limit of sessions per user: entries at
// their cap fill half of what a user's index may hold, the other half
// being left to entries of sessions being ended. A higher Login.Max is
// taken as MaxSessionsLimit; gaesession.New refuses one.
const MaxSessionsLimit = 256

// Device is one session of a user, as Devices shows it. Its Handle names the
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

// indexPrefix starts the Durable ID of a user's index; no session ID
// contains EndSuffix.
const indexPrefix = "user" + tier.EndSuffix

// IndexID returns the Durable ID of a user's index: a hash, so that any
// user ID fits a key name and none is stored in the clear there.
func IndexID(user string) string {
	sum := sha256.Sum256([]byte(user))
	return indexPrefix + hex.EncodeToString(sum[:16])
}

// isIndexID reports whether a Durable ID names a user's index.
func isIndexID(id string) bool {
	return strings.HasPrefix(id, indexPrefix) && !strings.HasSuffix(id, tier.EndSuffix)
}

// newHandle returns a random handle.
func newHandle() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// observe reads the sessions an index lists, MaxBatch at a time: a
// session is ended when it has no live record (a tombstone, or expired)
// under any of its stored IDs (forms, see Options.entryIDs). With a codec
// it also decodes when each was last seen.
func observe(ctx context.Context, d *durableTier, ix index, now time.Time, codec *Codec, forms func(string) []string) (observed, error) {
	o := make(observed, len(ix.Sessions))
	for start := 0; start < len(ix.Sessions); start += tier.MaxBatch {
		batch := ix.Sessions[start:min(start+tier.MaxBatch, len(ix.Sessions))]
		ids := make([]string, 0, len(batch))
		for _, e := range batch {
			ids = append(ids, forms(e.ID)...)
		}
		recs, err := d.GetMulti(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, e := range batch {
			ob := observation{id: e.ID, ended: true}
			for range forms(e.ID) {
				rec := recs[0]
				recs = recs[1:]
				if rec.Value != nil && now.Before(rec.Expires) {
					ob.ended, ob.expires = false, rec.Expires
					if codec != nil {
						ob.seen = lastSeen(codec, rec, e)
					}
				}
			}
			o[e.Handle] = ob
		}
	}
	return o, nil
}

// lastSeen is a stored session's access time, or its creation.
func lastSeen(codec *Codec, rec tier.Record, e indexEntry) time.Time {
	sess := session.NewSession()
	if err := codec.Unmarshal(rec.Value, sess); err != nil {
		return e.Created
	}
	return sess.Accessed()
}

// Devices returns a user's live sessions, oldest first; current is the
// handle of the session to mark as the current one (or ""). It costs two
// Durable calls, both lookups by key, so it is right at once after a login
// or a revocation elsewhere.
func (t *Tiers) Devices(ctx context.Context, user, current string) ([]Device, error) {
	if t.durable == nil {
		return nil, ErrNoIndex
	}
	ix, err := readIndex(ctx, t.durable, IndexID(user))
	if err != nil {
		return nil, err
	}
	o, err := observe(ctx, t.durable, ix, t.o.Now(), t.o.Codec, t.o.entryIDs)
	if err != nil {
		return nil, err
	}
	var devs []Device
	for _, e := range ix.Sessions {
		if e.Ending || o.ended(e) {
			continue
		}
		devs = append(devs, Device{Handle: e.Handle, Current: e.Handle == current, Created: e.Created,
			LastSeen: o[e.Handle].seen, UserAgent: e.UA, IP: e.IP})
	}
	return devs, nil
}

// Revoke ends the session with the given handle among the user's, as
// finally as a logout. It reports whether there was one not revoked
// before: another user's handle, or an unknown one, does nothing; one
// revoked before is ended again, reporting false. Two Revokes of one
// handle racing may both report true.
func (t *Tiers) Revoke(ctx context.Context, user, handle string) (bool, error) {
	return t.revoke(ctx, user, func(e indexEntry) bool { return e.Handle == handle })
}

// RevokeAll ends every session of the user except the one with the handle
// keep ("" keeps none), in a bounded number of batched calls.
func (t *Tiers) RevokeAll(ctx context.Context, user, keep string) error {
	_, err := t.revoke(ctx, user, func(e indexEntry) bool { return e.Handle != keep })
	return err
}

// revoke marks the user's sessions that match as ending, in a transaction,
// then ends every session the committed index marks: whatever ID each
// entry held then, also one renewed meanwhile, and again those of earlier
// revocations that may have failed.
func (t *Tiers) revoke(ctx context.Context, user string, match func(indexEntry) bool) (bool, error) {
	if t.durable == nil {
		return false, ErrNoIndex
	}
	found := false
	now := t.o.Now()
	ix, err := updateIndex(ctx, t.durable, IndexID(user), time.Time{}, func(ix *index) {
		// A retry runs on its own committed result: keep what the first
		// run found.
		live := ix.revoke(match, now)
		found = found || live
	})
	if err != nil {
		return false, err
	}
	x := ix.ending(nil)
	t.o.notify(ctx, EventRevoked, len(x.ids))
	return found, t.end(ctx, t.o.entriesIDs(x.ids), byRevocation, x.life)
}

// Sweep is for purge: of the expired Durable IDs found at now, it returns
// those to delete. It sweeps users' indexes itself: a transaction marks
// the entries of sessions found ended, drops those it has ended in both
// tiers (see drop) and deletes the index only when it then lists none (a
// login may have added one meanwhile); an index that still lists a live
// session is kept until the latest of their expiries. swept counts the
// indexes it deleted. When ending sessions fails, their entries stay, for
// the next run, and Sweep goes on: endErr is the first such failure. err
// is a failure to read or write an index, which stops it.
func (t *Tiers) Sweep(ctx context.Context, now time.Time, ids []string) (del []string, swept int, endErr, err error) {
	if t.durable == nil {
		return nil, 0, nil, ErrNoIndex
	}
	del = make([]string, 0, len(ids))
	for _, id := range ids {
		if !isIndexID(id) {
			del = append(del, id)
			continue
		}
		deleted, eerr, err := t.sweepIndex(ctx, id, now)
		switch {
		case errors.Is(err, ErrCorrupt):
			del = append(del, id) // an unreadable index protects nothing
		case err != nil:
			return nil, 0, endErr, err
		case deleted:
			swept++
		}
		if endErr == nil {
			endErr = eerr
		}
	}
	return del, swept, endErr, nil
}

// sweepIndex drops the ended entries of an expired index (see drop),
// reporting whether none was left and the index was deleted, and a failure to
// end its ending entries.
func (t *Tiers) sweepIndex(ctx context.Context, id string, now time.Time) (deleted bool, endErr, err error) {
	d := t.durable
	ix, err := readIndex(ctx, d, id)
	if err != nil {
		return false, nil, err
	}
	if ix.Prefix != nil && *ix.Prefix != t.o.KeyPrefix {
		return false, fmt.Errorf("gaesession/store: a user's index lists sessions of a store with KeyPrefix %q, this one has %q: give purge the store's KeyPrefix", *ix.Prefix, t.o.KeyPrefix), nil
	}
	o, err := observe(ctx, d, ix, now, nil, t.o.entryIDs)
	if err != nil {
		return false, nil, err
	}
	ended, endErr := t.endFirst(ctx, ix.droppable(o, now))
	var exp time.Time
	for _, ob := range o {
		if !ob.ended && ob.expires.After(exp) {
			exp = ob.expires
		}
	}
	ix, err = updateIndex(ctx, d, id, exp, func(ix *index) { ix.drop(o, ended, nil, now) })
	return err == nil && len(ix.Sessions) == 0, endErr, err
}

// endFirst ends in both tiers the sessions a clean-up may then drop from
// an index, returning their IDs when it succeeded; on a failure none is
// dropped.
func (t *Tiers) endFirst(ctx context.Context, x ends) (map[string]bool, error) {
	if len(x.ids) == 0 {
		return nil, nil
	}
	if err := t.end(ctx, t.o.entriesIDs(x.ids), byRevocation, x.life); err != nil {
		return nil, err
	}
	ended := make(map[string]bool, len(x.ids))
	for _, id := range x.ids {
		ended[id] = true
	}
	return ended, nil
}

// readIndex returns a user's index, empty when there is none.
func readIndex(ctx context.Context, d *durableTier, id string) (index, error) {
	rec, err := d.Get(ctx, id)
	if errors.Is(err, tier.ErrNotFound) {
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

// updateIndex applies f to the index record id in a transaction and
// returns the committed index. The record expires no sooner than exp nor
// than before; an index left empty is deleted; an unchanged one is not
// written.
func updateIndex(ctx context.Context, d *durableTier, id string, exp time.Time, f func(*index)) (index, error) {
	var out index
	err := d.Update(ctx, id, func(rec tier.Record, found bool) (tier.Record, error) {
		ix, err := decodeIndex(rec.Value)
		if err != nil {
			return tier.Record{}, err
		}
		f(&ix)
		out = ix
		if len(ix.Sessions) == 0 {
			if !found {
				return tier.Record{}, errUnchanged
			}
			return tier.Record{}, nil // deletes
		}
		b, err := json.Marshal(ix)
		if err != nil {
			return tier.Record{}, err
		}
		if rec.Expires.After(exp) {
			exp = rec.Expires
		}
		if found && string(b) == string(rec.Value) && exp.Equal(rec.Expires) {
			return tier.Record{}, errUnchanged
		}
		return tier.Record{Value: b, Expires: exp}, nil
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	return out, err
}

// bind lists e in its user's index, in a transaction that marks the
// entries of sessions found ended, drops those it has first ended in both
// tiers (see drop) and that of the session it replaces (old: its stored
// IDs, if any), and
// marks the least recently seen sessions beyond the limit as ending. It
// returns the IDs the committed index marks, to end, and a failure to end
// those it would have dropped.
func (t *Tiers) bind(ctx context.Context, l Login, e indexEntry, exp time.Time, old []string) (ending ends, endErr, err error) {
	id := IndexID(l.User)
	ix, err := readIndex(ctx, t.durable, id)
	if err != nil {
		return ends{}, nil, err
	}
	now := t.o.Now()
	o, err := observe(ctx, t.durable, ix, now, t.o.Codec, t.o.entryIDs)
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
