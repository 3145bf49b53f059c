package store_test

import (
	"errors"
	"testing"

	"github.com/gaesession/gaesession/store"
)

// TestErrorString: an Error reads as its operation, the tier that failed
// (none when before any tier), the short session ID and the cause.
func TestErrorString(t *testing.T) {
	t.Parallel()
	cause := errors.New("boom")
	for _, tc := range []struct {
		err  store.Error
		want string
	}{
		{store.Error{Op: "save", Tier: "memcache", Session: "0123abcd", Err: cause}, "gaesession: save memcache session 0123abcd: boom"},
		{store.Error{Op: "add", Session: "0123abcd", Err: cause}, "gaesession: add session 0123abcd: boom"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}
