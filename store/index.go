package store

import (
	"encoding/json"
	"errors"
	"net/netip"
	"slices"
	"time"
	"unicode/utf8"
)

// The per-user index is a state machine over one Durable record, changed
// only inside Durable.Update: each change below is a pure function of the
// index as read in the transaction (and of what a read of the sessions
// before it observed). The IDs a caller ends are those the committed index
// names, so a Renew (which moves an entry) and a revocation (which marks
// it) cannot slip past each other.
//
// An entry is live, or ending: marked by a revocation or the per-user
// limit, its ID being ended in both tiers. An ending entry is never moved
// (but one marked gone, below) and never shown; every revocation ends it
// again (End is idempotent). It leaves the index only once a clean-up
// (Login, Sweep) has itself ended it in both tiers, whatever time has
// passed, and not within minTombstone of its marking: the request that
// marked it may still be writing its Cache tombstones after the Durable
// tier ended it, and until then a revocation of it must find it, to end it
// again before it returns.
//
// An entry whose record a clean-up found ended (no record, or an expired
// one) is marked ending too, as gone: its session was logged out, whose
// Cache tombstone may not have landed, or is being renewed, between
// retiring its ID and moving its entry, or has a write-back whose Durable
// Put has not landed. A Renew may still move a gone entry, and a clean-up
// that finds its record live again unmarks it: either makes it live again;
// a revocation's mark makes it ending for good.

// index is a user's sessions, keyed by handle, and the KeyPrefix of the
// store that last listed one (nil in indexes of earlier releases): a
// clean-up with another prefix would end sessions under keys they do not
// have, so it changes nothing (see Sweep).
type index struct {
	Sessions []indexEntry `json:"s"`
	Prefix   *string      `json:"kp,omitempty"`
}

type indexEntry struct {
	Handle  string    `json:"h"`
	ID      string    `json:"id"`
	Created time.Time `json:"c"`
	UA      string    `json:"ua,omitempty"`
	IP      string    `json:"ip,omitempty"`
	Ending  bool      `json:"x,omitempty"`
	Marked  int64     `json:"xt,omitempty"` // when last marked ending, Unix seconds
	Gone    bool      `json:"xg,omitempty"` // marked by a clean-up, not a revocation
	Timeout int64     `json:"t,omitempty"`  // the session's, in seconds; 0 in entries of earlier releases
}

// life is how long after now the entry's session could still live, and
// its tombstones must: its timeout, or maxRevoked when the entry does not
// record it.
func (e indexEntry) life() time.Duration {
	if e.Timeout <= 0 {
		return maxRevoked
	}
	return time.Duration(e.Timeout) * time.Second
}

// ends is sessions to end: their IDs, and the longest life among them.
type ends struct {
	ids  []string
	life time.Duration
}

func (x *ends) add(e indexEntry) {
	x.ids = append(x.ids, e.ID)
	x.life = max(x.life, e.life())
}

// mark marks the entry at i as ending, now, for a revocation or the limit.
func (ix *index) mark(i int, now time.Time) {
	ix.Sessions[i].setEnding()
	ix.Sessions[i].Marked, ix.Sessions[i].Gone = now.Unix(), false
}

// marking reports whether e was marked ending less than minTombstone
// before now: its marker may still be ending it.
func (e indexEntry) marking(now time.Time) bool {
	return e.Ending && now.Before(time.Unix(e.Marked, 0).Add(minTombstone))
}

// observed is what a read of the sessions an index lists found, by handle:
// the ID read, whether it had ended (no live record: none, or an expired
// one), its access time and its expiry.
type observed map[string]observation

type observation struct {
	id      string
	ended   bool
	seen    time.Time
	expires time.Time
}

// ended reports whether the read found e's session ended.
func (o observed) ended(e indexEntry) bool {
	ob, ok := o[e.Handle]
	return ok && ob.id == e.ID && ob.ended
}

// drop removes the entries that a clean-up has just ended in both tiers
// (ended, by ID, see mayDrop), and the one with an ID in old. The Durable
// tier's word alone drops nothing. A live entry found ended there (no
// record, or an expired one) is marked gone instead: a logout whose Cache
// tombstone may not have landed, a Renew between retiring its ID and
// moving its entry (which may still move it), or a write-back whose
// Durable Put has not landed yet, after which the Cache's copy outlives
// the Durable one. Every revocation ends it again; a clean-up at least
// minTombstone later that still finds it ended ends it in both tiers and
// drops it; one that finds it live again makes it live.
func (ix *index) drop(o observed, ended map[string]bool, old []string, now time.Time) {
	ix.Sessions = slices.DeleteFunc(ix.Sessions, func(e indexEntry) bool {
		return ended[e.ID] && mayDrop(e, o, now) || slices.Contains(old, e.ID)
	})
	for i, e := range ix.Sessions {
		ob, ok := o[e.Handle]
		if !ok || ob.id != e.ID {
			continue
		}
		x := &ix.Sessions[i]
		switch {
		case ob.ended && !e.Ending:
			x.Ending, x.Gone, x.Marked = true, true, now.Unix()
		case !ob.ended && e.Ending && e.Gone: // its record is live after all
			x.Ending, x.Gone, x.Marked = false, false, 0
		}
	}
}

// mayDrop reports whether a clean-up that has ended e's session in both
// tiers may drop e: an ending entry no longer marking, and, if marked
// gone, still found ended.
func mayDrop(e indexEntry, o observed, now time.Time) bool {
	return e.Ending && !e.marking(now) && (!e.Gone || o.ended(e))
}

// droppable returns the entries a clean-up may drop once it has ended
// them in both tiers (see mayDrop).
func (ix *index) droppable(o observed, now time.Time) ends {
	var x ends
	for _, e := range ix.Sessions {
		if mayDrop(e, o, now) {
			x.add(e)
		}
	}
	return x
}

// maxEntryBytes bounds the JSON of one index entry with every field at its
// cap: a handle, an ID of MaxKeyLen bytes, the creation time with a zone,
// a User-Agent of MaxUserAgent bytes each escaped to 6 (\ufffd, \u003c),
// the longest IPv6 address, the marks of a gone entry, the timeout and the
// keys: 1,976 bytes (TestIndexEntryBound).
const maxEntryBytes = 2000

// maxIndexBytes is the most a user's index may hold: the value a record
// may have (MaxSize). A login that would pass it ends the least recently
// seen sessions until it fits.
const maxIndexBytes = MaxSize

// setEnding marks an entry as ending, dropping what only the list of devices
// shows: an ending entry keeps its handle and ID only, so that ending
// entries whose ends failed take little room.
func (x *indexEntry) setEnding() {
	x.Ending, x.UA, x.IP = true, "", ""
}

// entryBytes is the size of an entry in the index's JSON.
func entryBytes(x indexEntry) int {
	b, _ := json.Marshal(x)
	return len(b)
}

// size is the length of the index's JSON.
func (ix *index) size() int {
	n := len(`{"s":[]}`) + max(0, len(ix.Sessions)-1) // the commas
	for _, x := range ix.Sessions {
		n += entryBytes(x)
	}
	if ix.Prefix != nil {
		b, _ := json.Marshal(*ix.Prefix)
		n += len(`,"kp":`) + len(b)
	}
	return n
}

// bind adds e, marking the least recently seen live entries beyond limit
// as ending, and more of them while the index would exceed maxIndexBytes:
// a full index ends sessions rather than failing the login. Gone entries
// count as live (a Renew may move them) and are the first marked. Like every
// change here it is idempotent: a transaction that committed but reported
// a failure runs again on its own result.
func (ix *index) bind(e indexEntry, limit int, o observed, now time.Time) {
	if slices.ContainsFunc(ix.Sessions, func(x indexEntry) bool { return x.Handle == e.Handle }) {
		return
	}
	var live []int // and gone: a Renew may make them live again
	for i, x := range ix.Sessions {
		switch {
		case x.Gone:
			live = append(live, i)
		case x.Ending:
			ix.Sessions[i].setEnding() // written by an earlier release: compact it
		default:
			live = append(live, i)
		}
	}
	seen := func(i int) time.Time {
		x := ix.Sessions[i]
		if x.Gone {
			return time.Time{} // the first to mark for good
		}
		if ob, ok := o[x.Handle]; ok && !ob.seen.IsZero() {
			return ob.seen
		}
		return x.Created // listed after the read: as recent as its login
	}
	slices.SortStableFunc(live, func(a, b int) int { return seen(a).Compare(seen(b)) })
	over := max(0, len(live)-limit+1)
	for _, i := range live[:over] {
		ix.mark(i, now)
	}
	ix.Sessions = append(ix.Sessions, e)
	size := ix.size()
	for _, i := range live[over:] {
		if size <= maxIndexBytes {
			break
		}
		before := entryBytes(ix.Sessions[i])
		ix.mark(i, now)
		size -= before - entryBytes(ix.Sessions[i])
	}
}

// move gives the live or gone entry of handle, which holds an ID in from
// (or to), the ID to, live. It reports false when there is none: the session was revoked
// or renewed.
func (ix *index) move(handle string, from []string, to string) bool {
	for i, x := range ix.Sessions {
		if x.Handle == handle && (slices.Contains(from, x.ID) || x.ID == to) && (!x.Ending || x.Gone) {
			ix.Sessions[i] = indexEntry{Handle: x.Handle, ID: to, Created: x.Created, UA: x.UA, IP: x.IP, Timeout: x.Timeout}
			return true
		}
	}
	return false
}

// revoke marks the entries that match as ending (again), now, reporting
// whether one of them was live or gone (its session may still live): one
// revoked before is ended again, but not reported.
func (ix *index) revoke(match func(indexEntry) bool, now time.Time) bool {
	found := false
	for i, x := range ix.Sessions {
		if match(x) {
			found = found || !x.Ending || x.Gone
			ix.mark(i, now)
		}
	}
	return found
}

// ending returns the entries being ended, but those o found ended (nil:
// none).
func (ix *index) ending(o observed) ends {
	var x ends
	for _, e := range ix.Sessions {
		if e.Ending && !o.ended(e) {
			x.add(e)
		}
	}
	return x
}

// errUnchanged aborts an Update that would write what is stored.
var errUnchanged = errors.New("index unchanged")

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
