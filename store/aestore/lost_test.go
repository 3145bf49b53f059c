package aestore

import (
	"errors"
	"testing"
)

// TestLostTransaction: only the dev server's answer for a transaction it
// no longer knows reads as contention.
func TestLostTransaction(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{errors.New(`API error 1 (datastore_v3: BAD_REQUEST): Transaction(<handle: 1, app: "dev~testapp", >) not found`), true},
		{errors.New(`API error 1 (datastore_v3: BAD_REQUEST): previous_transaction can only be set in READ_WRITE mode`), false},
		{errors.New(`API error 2 (datastore_v3: CONCURRENT_TRANSACTION): Transaction(<handle: 1>) not found`), false},
		{nil, false},
	} {
		if got := lostTransaction(tc.err); got != tc.want {
			t.Errorf("lostTransaction(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
