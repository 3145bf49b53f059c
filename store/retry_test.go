package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// TestRetryBacksOff: a call that keeps failing with a service error is
// tried Retries times, 10 ms apart, then 20, 40…; an answer is not retried.
func TestRetryBacksOff(t *testing.T) {
	t.Parallel()
	var waits []time.Duration
	r := retrier{tries: 4, sleep: func(_ context.Context, d time.Duration) error {
		waits = append(waits, d)
		return nil
	}}
	calls := 0
	unavailable := errors.New("service unavailable")
	_, err := retry(context.Background(), r, func() (int, error) { calls++; return 0, unavailable })
	if !errors.Is(err, unavailable) || calls != 4 || fmt.Sprint(waits) != "[10ms 20ms 40ms]" {
		t.Errorf("%d calls, waits %v, %v; want 4 calls, waits [10ms 20ms 40ms], the error", calls, waits, err)
	}
	calls, waits = 0, nil
	_, err = retry(context.Background(), r, func() (int, error) { calls++; return 0, tier.ErrCacheMiss })
	if !errors.Is(err, tier.ErrCacheMiss) || calls != 1 || waits != nil {
		t.Errorf("a miss: %d calls, waits %v, %v; want one call, no wait", calls, waits, err)
	}
}
