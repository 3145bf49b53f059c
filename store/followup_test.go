package store

import (
	"context"
	"testing"

	"github.com/icza/session"
)

// TestFollowUp: the check after a Durable write, for each order of the
// versions written (ours) and found in the Cache (theirs).
func TestFollowUp(t *testing.T) {
	for _, tc := range []struct {
		name         string
		ours, theirs int64
		want         int
	}{
		{"a newer write in the Cache: the Durable tier follows", 3, 4, adoptTheirs},
		{"an older copy put back: the Cache follows", 4, 3, restoreOurs},
		{"an unversioned copy put back", 1, 0, restoreOurs},
		{"another write of our version, from an older copy", 4, 4, mergeOnto},
	} {
		if got := followUp(tc.ours, tc.theirs); got != tc.want {
			t.Errorf("%s: followUp(%d, %d) = %d, want %d", tc.name, tc.ours, tc.theirs, got, tc.want)
		}
	}
}

// TestVersion: a value's version reads from AttrVersion, 0 without it or
// when it is not a count; each encode stamps one more.
func TestVersion(t *testing.T) {
	o := Options{}.withDefaults() // encoding needs no tier
	s := &Store{o: &o, ctx: context.Background()}
	sess := session.NewSession()
	if v := version(sess); v != 0 {
		t.Errorf("a new session has version %d, want 0", v)
	}
	for _, bad := range []any{"x", "-2", 7} {
		sess.SetAttr(AttrVersion, bad)
		if v := version(sess); v != 0 {
			t.Errorf("AttrVersion %#v reads as version %d, want 0", bad, v)
		}
	}
	sess.SetAttr(AttrVersion, "41")
	if _, err := s.encode(sess); err != nil {
		t.Fatal(err)
	}
	if v := version(sess); v != 42 {
		t.Errorf("after an encode of version 41: %d, want 42", v)
	}
}
