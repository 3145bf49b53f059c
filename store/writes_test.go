package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/icza/session"
)

// TestWrites: a value holds the write IDs it was stamped with, the latest
// maxWrites, oldest first; stamping one it holds moves it last; an
// AttrWrites that is not a string holds none.
func TestWrites(t *testing.T) {
	o := Options{}.withDefaults() // encoding needs no tier
	s := &Store{o: &o, ctx: context.Background()}
	sess := session.NewSession()
	if w := writes(sess); len(w) != 0 {
		t.Errorf("a new session holds writes %q", w)
	}
	sess.SetAttr(AttrWrites, 7)
	if w := writes(sess); len(w) != 0 {
		t.Errorf("AttrWrites 7 holds writes %q", w)
	}
	var ids []string
	for range maxWrites + 2 {
		id := newWriteID(time.Now())
		ids = append(ids, id)
		if _, err := s.encode(sess, id); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := strings.Join(writes(sess), " "), strings.Join(ids[2:], " "); got != want {
		t.Errorf("after %d writes: %q, want the last %d: %q", len(ids), got, maxWrites, want)
	}
	last := func() string { w := writes(sess); return w[len(w)-1] }
	if holds(sess, ids[1]) || !holds(sess, ids[2]) || last() != ids[len(ids)-1] {
		t.Errorf("holds(oldest dropped) = %v, holds(oldest kept) = %v, last = %q", holds(sess, ids[1]), holds(sess, ids[2]), last())
	}
	stamp(sess, ids[2])
	if last() != ids[2] || len(writes(sess)) != maxWrites {
		t.Errorf("stamping a held ID again: last %q, %d IDs; want it last, %d IDs", last(), len(writes(sess)), maxWrites)
	}
	if a, b := newWriteID(time.Now()), newWriteID(time.Now()); a == b || len(a) != 12 {
		t.Errorf("write IDs %q, %q: want 12 characters, distinct", a, b)
	}
}

// TestBehind: a Cache value is behind a record when the record holds a
// write it lacks and it holds none the record lacks; covers is the first
// half. Write IDs are compared as sets: the order they were stamped in
// differs between tiers.
func TestBehind(t *testing.T) {
	with := func(ids string) session.Session {
		sess := session.NewSession()
		if ids != "" {
			sess.SetAttr(AttrWrites, ids)
		}
		return sess
	}
	for _, tc := range []struct {
		name                string
		cache, record       string
		wantCovers, wantBeh bool
	}{
		{"the same writes", "a b", "a b", true, false},
		{"the same writes, stamped in another order", "a c b", "a b c", true, false},
		{"an older copy put back", "a", "a b", false, true},
		{"a copy from before any write ID", "", "a", false, true},
		{"the record lacks one: in flight", "a b c", "a b", true, false},
		{"each lacks one: a fork", "a c", "a b", false, false},
		{"the record's last write merged onto an older copy", "a c", "a b c", false, true},
		{"neither has write IDs", "", "", true, false},
	} {
		c, r := with(tc.cache), with(tc.record)
		if got := covers(c, r); got != tc.wantCovers {
			t.Errorf("%s: covers = %v, want %v", tc.name, got, tc.wantCovers)
		}
		if got := behind(c, r); got != tc.wantBeh {
			t.Errorf("%s: behind = %v, want %v", tc.name, got, tc.wantBeh)
		}
	}
}

// TestLater: write IDs order by the millisecond they were made.
func TestLater(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	a, b := newWriteID(t0), newWriteID(t0.Add(time.Millisecond))
	if !later(b, a) || later(a, b) {
		t.Errorf("later(%q, %q) = %v, later(%q, %q) = %v; want the second write later", b, a, later(b, a), a, b, later(a, b))
	}
	c := newWriteID(t0.Add(1000 * 24 * time.Hour))
	if !later(c, b) {
		t.Errorf("a write 1000 days later is not later")
	}
}

// TestOnto: a write landing late changes an attribute of a value that
// lacks it when it saw the write that set it there, or none did, or it was
// made after that write; never otherwise. It records itself as the setter.
func TestOnto(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	seen, before, after := newWriteID(t0), newWriteID(t0.Add(-time.Second)), newWriteID(t0.Add(time.Second))
	ours := newWriteID(t0)
	for _, tc := range []struct {
		name  string
		setBy string // the write that set k in the value found, "" none
		want  any
	}{
		{"set by no write", "", "ours"},
		{"set by a write it saw", seen, "ours"},
		{"set by a write made before it, unseen", before, "ours"},
		{"set by a write made after it, unseen", after, "theirs"},
	} {
		theirs := session.NewSession()
		theirs.SetAttr("k", "theirs")
		if tc.setBy != "" {
			markSet(theirs, []string{"k"}, tc.setBy)
		}
		w := written{wid: ours, seen: []string{seen}, changes: map[string]any{"k": "ours", "j": "ours"}}
		w.onto(theirs)
		if got := theirs.Attr("k"); got != tc.want {
			t.Errorf("%s: k = %v, want %v", tc.name, got, tc.want)
		}
		if got := theirs.Attr("j"); got != "ours" {
			t.Errorf("%s: j (set by no write) = %v, want ours", tc.name, got)
		}
		if by := setBy(theirs); (tc.want == "ours") != (by["k"] == ours) || by["j"] != ours {
			t.Errorf("%s: set by %v", tc.name, by)
		}
	}
}
