package store

import (
	"maps"
	"testing"
)

// TestEntries: the set of a request's entries behaves as a map from ID to
// entry that tells a nil entry from none, past the two it keeps inline.
func TestEntries(t *testing.T) {
	t.Parallel()
	a, b, c := &entry{}, &entry{}, &entry{}
	var s entries
	want := map[string]*entry{}
	check := func(step string) {
		t.Helper()
		got := map[string]*entry{}
		s.all(func(id string, e *entry) {
			if _, dup := got[id]; dup {
				t.Errorf("%s: %q listed twice", step, id)
			}
			got[id] = e
		})
		if !maps.Equal(got, want) || s.len() != len(want) {
			t.Errorf("%s: all = %v (len %d), want %v", step, got, s.len(), want)
		}
		for _, id := range []string{"a", "b", "c", "d", "none"} {
			e, ok := s.lookup(id)
			we, wok := want[id]
			if e != we || ok != wok || s.get(id) != we {
				t.Errorf("%s: lookup(%q) = %p, %v, want %p, %v", step, id, e, ok, we, wok)
			}
		}
	}
	steps := []struct {
		name string
		do   func()
	}{
		{"empty", func() {}},
		{"set a", func() { s.set("a", a); want["a"] = a }},
		{"set b nil", func() { s.set("b", nil); want["b"] = nil }},
		{"set c (a third: in the map)", func() { s.set("c", c); want["c"] = c }},
		{"replace b", func() { s.set("b", b); want["b"] = b }},
		{"remove a", func() { s.remove("a"); delete(want, "a") }},
		{"replace c, now in the map", func() { s.set("c", a); want["c"] = a }},
		{"set d (inline again)", func() { s.set("d", c); want["d"] = c }},
		{"remove c", func() { s.remove("c"); delete(want, "c") }},
		{"remove none", func() { s.remove("none") }},
		{"remove b and d", func() { s.remove("b"); s.remove("d"); delete(want, "b"); delete(want, "d") }},
	}
	for _, st := range steps {
		st.do()
		check(st.name)
	}
}
