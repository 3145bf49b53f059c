package store

import (
	"testing"
	"time"
)

// TestSeconds: an index entry records its session's timeout in whole
// seconds, rounded up.
func TestSeconds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    time.Duration
		want int64
	}{
		{0, 0},
		{time.Nanosecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{90*time.Second + 500*time.Millisecond, 91},
		{30 * time.Minute, 1800},
	} {
		if got := seconds(tc.d); got != tc.want {
			t.Errorf("seconds(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}
