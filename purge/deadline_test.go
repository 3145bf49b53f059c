package purge_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession/purge"
)

// testDeadline is the deadline of a handler's runs, passed by the test (on
// an event) rather than by the wall clock.
type testDeadline struct {
	mu     sync.Mutex
	at     []time.Time // the deadline each run asked for
	cancel context.CancelFunc
}

// install makes dl the deadline of h's runs.
func (dl *testDeadline) install(h http.Handler) {
	purge.SetWithDeadline(h, func(parent context.Context, at time.Time) (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(parent)
		dl.mu.Lock()
		dl.at = append(dl.at, at)
		dl.cancel = cancel
		dl.mu.Unlock()
		return ctx, cancel
	})
}

// pass ends the run in progress as its deadline would.
func (dl *testDeadline) pass() {
	dl.mu.Lock()
	defer dl.mu.Unlock()
	dl.cancel()
}

// check fails t unless one run asked for a deadline d after its start,
// which lay between before and after.
func (dl *testDeadline) check(t *testing.T, d time.Duration, before, after time.Time) {
	t.Helper()
	dl.mu.Lock()
	defer dl.mu.Unlock()
	if len(dl.at) != 1 || dl.at[0].Before(before.Add(d)) || dl.at[0].After(after.Add(d)) {
		t.Errorf("runs asked for deadlines %v, want one %v after a start in [%v, %v]", dl.at, d, before, after)
	}
}

// hold blocks a call until ctx ends and returns its error. After a minute
// it gives up, so that a run that ignores its deadline fails, not hangs.
func hold(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Minute):
		return errors.New("held call: its context did not end within a minute")
	}
}
