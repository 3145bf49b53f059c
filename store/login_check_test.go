package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gaesession/gaesession/store"
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
