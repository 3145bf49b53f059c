package gaesession

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gaesession/gaesession/store"
)

// FuzzCookieDecode: any cookie value either decodes to a valid ID or is
// rejected; it never panics, and a signed value round-trips.
func FuzzCookieDecode(f *testing.F) {
	for _, s := range []string{"", "AAAAAAAAAAAAAAAAAAAAAAAA", "a.b", strings.Repeat("=", 40), "AAAAAAAAAAAAAAAAAAAAAAAA." + strings.Repeat("A", 43), "\x00\xff"} {
		f.Add(s)
	}
	plain := CookieOptions{}.withDefaults()
	signed := CookieOptions{SigningKeys: [][]byte{bytes.Repeat([]byte{7}, 32)}}.withDefaults()
	f.Fuzz(func(t *testing.T, v string) {
		for _, o := range []*CookieOptions{&plain, &signed} {
			id, ok := o.decode(v, 0)
			if ok && !store.ValidID(id, 0) {
				t.Fatalf("accepted invalid ID %q", id)
			}
			if store.ValidID(v, 0) {
				if got, ok := o.decode(o.encode(v), 0); !ok || got != v {
					t.Fatalf("round trip of %q gave %q, %v", v, got, ok)
				}
			}
		}
	})
}
