package store

// entries maps the IDs of the sessions a request touched to what the store
// knows of them; an ID may map to nil (looked up, not found). A request
// touches one or two sessions, so the first two live in the Store's own
// allocation and a map is made only for a third.
type entries struct {
	n     int // of first in use
	first [2]idEntry
	more  map[string]*entry
}

// idEntry is one session's entry in entries.
type idEntry struct {
	id string
	e  *entry
}

// lookup returns id's entry, and whether id is in the set at all.
func (s *entries) lookup(id string) (*entry, bool) {
	for i := range s.n {
		if s.first[i].id == id {
			return s.first[i].e, true
		}
	}
	e, ok := s.more[id]
	return e, ok
}

// get returns id's entry, nil when it has none.
func (s *entries) get(id string) *entry {
	e, _ := s.lookup(id)
	return e
}

// set makes e id's entry.
func (s *entries) set(id string, e *entry) {
	for i := range s.n {
		if s.first[i].id == id {
			s.first[i].e = e
			return
		}
	}
	if _, ok := s.more[id]; ok || s.n == len(s.first) {
		if s.more == nil {
			s.more = make(map[string]*entry)
		}
		s.more[id] = e
		return
	}
	s.first[s.n] = idEntry{id, e}
	s.n++
}

// remove takes id out of the set.
func (s *entries) remove(id string) {
	for i := range s.n {
		if s.first[i].id == id {
			copy(s.first[i:s.n], s.first[i+1:s.n])
			s.n--
			s.first[s.n] = idEntry{}
			return
		}
	}
	delete(s.more, id)
}

// all calls f for each ID and its entry, in no particular order.
func (s *entries) all(f func(id string, e *entry)) {
	for _, ie := range s.first[:s.n] {
		f(ie.id, ie.e)
	}
	for id, e := range s.more {
		f(id, e)
	}
}

// len returns the number of IDs in the set.
func (s *entries) len() int { return s.n + len(s.more) }
