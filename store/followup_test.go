package store

import (
	"context"
	"strings"
	"testing"

	"github.com/icza/session"
)

// TestWrites: a value holds the write IDs it was stamped with, the latest
// maxWrites, oldest first; stamping one it holds moves it last; an
// AttrWrites that is not a string holds none.
func TestWrites(t *testing.T) {
	o := Options{}.withDefaults() // encoding needs no tier
	s := &Store{o: &o, ctx: context.Background()}
	sess := session.NewSession()
	if w := writes(sess); len(w) != 0 || latest(sess) != "" {
		t.Errorf("a new session holds writes %q", w)
	}
	sess.SetAttr(AttrWrites, 7)
	if w := writes(sess); len(w) != 0 {
		t.Errorf("AttrWrites 7 holds writes %q", w)
	}
	var ids []string
	for range maxWrites + 2 {
		id := newWriteID()
		ids = append(ids, id)
		if _, err := s.encode(sess, id); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := strings.Join(writes(sess), " "), strings.Join(ids[2:], " "); got != want {
		t.Errorf("after %d writes: %q, want the last %d: %q", len(ids), got, maxWrites, want)
	}
	if holds(sess, ids[1]) || !holds(sess, ids[2]) || latest(sess) != ids[len(ids)-1] {
		t.Errorf("holds(oldest dropped) = %v, holds(oldest kept) = %v, latest = %q", holds(sess, ids[1]), holds(sess, ids[2]), latest(sess))
	}
	stamp(sess, ids[2])
	if latest(sess) != ids[2] || len(writes(sess)) != maxWrites {
		t.Errorf("stamping a held ID again: latest %q, %d IDs; want it last, %d IDs", latest(sess), len(writes(sess)), maxWrites)
	}
	if a, b := newWriteID(), newWriteID(); a == b || len(a) != 12 {
		t.Errorf("write IDs %q, %q: want 12 characters, distinct", a, b)
	}
}
