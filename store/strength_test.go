package store

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// TestWriteIDClock: a write ID starts with the millisecond it was made,
// all six bytes of it.
func TestWriteIDClock(t *testing.T) {
	for _, at := range []time.Time{time.UnixMilli(1), time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)} {
		b, err := base64.RawURLEncoding.DecodeString(newWriteID(at))
		if err != nil || len(b) != 9 {
			t.Fatalf("write ID at %v: %x, %v", at, b, err)
		}
		var ms int64
		for _, c := range b[:6] {
			ms = ms<<8 | int64(c)
		}
		if ms != at.UnixMilli() {
			t.Errorf("write ID at %v holds %d ms, want %d", at, ms, at.UnixMilli())
		}
	}
}

// TestLaterEdges: a write ID is not later than itself; IDs that do not
// decode compare as strings.
func TestLaterEdges(t *testing.T) {
	a := newWriteID(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC))
	far := newWriteID(time.Date(2080, 1, 1, 0, 0, 0, 0, time.UTC)) // differs in the first byte
	for _, tc := range []struct {
		name string
		x, y string
		want bool
	}{
		{"itself", a, a, false},
		{"decades later", far, a, true},
		{"decades earlier", a, far, false},
		{"the first does not decode", "~~~~", a, a < "~~~~"},
		{"the second does not decode", a, "~~~~", a > "~~~~"},
		{"neither decodes, greater", "~~~~", "!!!!", true},
		{"neither decodes, equal", "~~~~", "~~~~", false},
	} {
		if got := later(tc.x, tc.y); got != tc.want {
			t.Errorf("%s: later(%q, %q) = %v, want %v", tc.name, tc.x, tc.y, got, tc.want)
		}
	}
}

// TestMarkSet: markSet records the setter of each attribute, and forgets a
// deleted attribute once no write the value holds deleted it.
func TestMarkSet(t *testing.T) {
	sess := session.NewSession()
	old, cur := newWriteID(time.UnixMilli(1)), newWriteID(time.UnixMilli(2))
	sess.SetAttr("kept", "v")
	markSet(sess, []string{"kept", "gone", "held"}, old) // "gone", "held" deleted by old
	stamp(sess, old)
	if by := setBy(sess); by["kept"] != old || by["gone"] != old || by["held"] != old {
		t.Fatalf("after the first write: %v", by)
	}
	for range maxWrites - 1 {
		stamp(sess, newWriteID(time.UnixMilli(3)))
	}
	markSet(sess, []string{"held"}, cur) // old is still held: nothing forgotten
	if by := setBy(sess); by["gone"] != old || by["held"] != cur || by["kept"] != old {
		t.Errorf("old still held: %v", by)
	}
	stamp(sess, cur) // old falls out of the latest maxWrites
	markSet(sess, nil, cur)
	by := setBy(sess)
	if _, ok := by["gone"]; ok {
		t.Errorf("a deletion by a write no longer held is remembered: %v", by)
	}
	if by["kept"] != old || by["held"] != cur {
		t.Errorf("a set attribute, or the current write's deletion, forgotten: %v", by)
	}
	sess.SetAttr(AttrSetBy, "not JSON")
	if by := setBy(sess); len(by) != 0 {
		t.Errorf("a bad AttrSetBy reads as %v, want none", by)
	}
}

// TestCoversRecordUndecodable: a value or record that does not decode is
// left as it is (covers), never replaced (behind).
func TestCoversRecordUndecodable(t *testing.T) {
	o := Options{}.withDefaults()
	s := &Store{o: &o, ctx: context.Background()}
	sess := session.NewSession()
	good, err := s.encode(sess, newWriteID(time.UnixMilli(1)))
	if err != nil {
		t.Fatal(err)
	}
	id := sess.ID()
	if !s.coversRecord(id, []byte("junk"), tier.Record{Value: good}) {
		t.Error("a value that does not decode: covers = false")
	}
	if !s.coversRecord(id, good, tier.Record{Value: []byte("junk")}) {
		t.Error("a record that does not decode: covers = false")
	}
	if s.behindRecord(id, []byte("junk"), tier.Record{Value: good}) || s.behindRecord(id, good, tier.Record{Value: []byte("junk")}) {
		t.Error("an undecodable value or record is behind")
	}
}

// TestEncodeAtMaxSize: a session of exactly MaxSize encoded bytes is
// written; one byte more is ErrTooLarge.
func TestEncodeAtMaxSize(t *testing.T) {
	o := Options{}.withDefaults()
	s := &Store{o: &o, ctx: context.Background()}
	wid := newWriteID(time.UnixMilli(1))
	for _, extra := range []int{0, 1} {
		sess := session.NewSession()
		pad := MaxSize - 200
		for range 10 {
			sess.SetAttr("big", strings.Repeat("x", pad))
			if _, err := s.encode(sess, wid); err != nil && !errors.Is(err, ErrTooLarge) {
				t.Fatal(err)
			}
			n, _ := Gob.Marshal(unwrap(sess))
			if len(n) == MaxSize+extra {
				break
			}
			pad += MaxSize + extra - len(n)
		}
		_, err := s.encode(sess, wid)
		if got := err != nil; got != (extra == 1) || (extra == 1) != errors.Is(err, ErrTooLarge) {
			t.Errorf("MaxSize+%d: %v", extra, err)
		}
	}
}
