package store_test

import (
	"errors"
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
