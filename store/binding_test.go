package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
)

// TestLoginWithoutUser: Login("") fails with ErrNoUser, reported once,
// before any call: the old session stays as it was, bound to nobody.
func TestLoginWithoutUser(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	old := r.create(0, "a", "1")
	s := r.open()
	fresh, err := s.Login(s.Get(old), store.Login{User: ""})
	s.Close()
	if fresh != nil || !errors.Is(err, store.ErrNoUser) {
		t.Errorf("Login(\"\") = %v, %v; want nil, ErrNoUser", fresh, err)
	}
	r.wantErrs("login without a user", 1, "", store.ErrNoUser)
	if got := r.read(old); got != "a=1" {
		t.Errorf("old session reads %q, want a=1, unbound", got)
	}
	s = r.open()
	defer s.Close()
	if fresh, err := s.Login(nil, store.Login{}); fresh != nil || !errors.Is(err, store.ErrNoUser) {
		t.Errorf("Login(nil, \"\") = %v, %v; want nil, ErrNoUser", fresh, err)
	}
}

// TestDeviceIsCapped: what Login records of a device is bounded: the
// User-Agent is cut to MaxUserAgent bytes at a character's start, an IP
// loses its zone, and a value that is not an IP is not recorded.
func TestDeviceIsCapped(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	for _, tc := range []struct{ name, ua, ip, wantUA, wantIP string }{
		{"plain", "UA", "192.0.2.1", "UA", "192.0.2.1"},
		{"long UA", "x" + strings.Repeat("é", 200), "2001:db8::1", "x" + strings.Repeat("é", 127), "2001:db8::1"},
		{"junk IP", "UA", strings.Repeat("9", 4096), "UA", ""},
		{"long zone", "UA", "fe80::1%" + strings.Repeat("z", 4096), "UA", "fe80::1"},
		{"mapped", "UA", "::ffff:192.0.2.1", "UA", "192.0.2.1"},
	} {
		s := r.open()
		fresh, err := s.Login(nil, store.Login{User: tc.name, UserAgent: tc.ua, IP: tc.ip})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		r.ids = append(r.ids, fresh.ID())
		devs := r.list(tc.name, "")
		if len(devs) != 1 || devs[0].UserAgent != tc.wantUA || devs[0].IP != tc.wantIP {
			t.Errorf("%s: devices %+v, want User-Agent %q, IP %q", tc.name, devs, tc.wantUA, tc.wantIP)
		}
	}
}

// TestBindingCannotBeForged: only the library sets the attributes under
// ReservedPrefix. SetAttr of such a name on a session the store handed out
// (loaded, or made by Login or Renew) is ignored and reported with
// ErrReserved; a session the app made and added, or renewed, is written
// without them. A bound session keeps its user.
func TestBindingCannotBeForged(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	forge := func(what string, sess session.Session) {
		t.Helper()
		sess.SetAttr(store.AttrUser, "victim")
		sess.SetAttr(store.AttrHandle, nil)
		sess.SetAttr("a", what)
		r.wantErrs(what, 2, "", store.ErrReserved)
	}
	user := func(id string) any {
		s := r.open()
		defer s.Close()
		return s.Get(id).Attr(store.AttrUser)
	}

	ann := r.login("ann", "", 0)
	bound := ann.ID()
	s := r.open()
	forge("loaded bound", s.Get(bound))
	s.Close()
	if got := user(bound); got != "ann" {
		t.Errorf("bound session's user %v, want ann", got)
	}
	if got := r.read(bound); !strings.Contains(got, "a=loaded bound") || !strings.Contains(got, store.AttrHandle) {
		t.Errorf("bound session reads %q, want its handle and a=loaded bound", got)
	}

	s = r.open()
	fresh, err := s.Login(s.Get(bound), store.Login{User: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	r.ids = append(r.ids, fresh.ID())
	forge("from Login", fresh)
	s.Close()
	if got := user(fresh.ID()); got != "ann" {
		t.Errorf("logged-in session's user %v, want ann", got)
	}

	unbound := r.create(0)
	s = r.open()
	forge("loaded unbound", s.Get(unbound))
	renewed, err := s.Renew(s.Get(unbound))
	if err != nil {
		t.Fatal(err)
	}
	r.ids = append(r.ids, renewed.ID())
	forge("from Renew", renewed)
	s.Close()
	if got := user(renewed.ID()); got != nil {
		t.Errorf("renewed session bound to %v, want nobody", got)
	}

	// A session the app made: written without the reserved attributes.
	made := r.newSession(0, store.AttrUser, "victim", "a", "1")
	s = r.open()
	s.Add(made)
	s.Close()
	r.wantErrs("added", 1, "", store.ErrReserved)
	if got := r.read(made.ID()); got != "a=1" {
		t.Errorf("added session reads %q, want a=1 only", got)
	}
	made = r.newSession(0, store.AttrUser, "victim")
	s = r.open()
	s.Add(made)
	renewed, err = s.Renew(made)
	if err != nil {
		t.Fatal(err)
	}
	r.ids = append(r.ids, renewed.ID())
	s.Close()
	r.wantErrs("added and renewed", 1, "", store.ErrReserved)
	if got := user(renewed.ID()); got != nil {
		t.Errorf("renewed added session bound to %v, want nobody", got)
	}
}
