package store

import (
	"context"
	"testing"

	"github.com/icza/session"
)

// FuzzDecode: corrupted stored bytes give an error, never a panic, and
// never a session other than the one asked for.
func FuzzDecode(f *testing.F) {
	sess := session.NewSession()
	sess.SetAttr("user", "gopher")
	sess.SetAttr("n", 42)
	good, err := Gob.Marshal(sess)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Add([]byte("\xff\xff\xff\xff"))
	o := Options{}.withDefaults() // decoding needs no tier
	s := &Store{o: &o, ctx: context.Background()}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := s.decode(b, sess.ID())
		if err == nil && got.ID() != sess.ID() {
			t.Fatalf("decoded session %q", got.ID())
		}
	})
}
