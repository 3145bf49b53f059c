package gaesession_test

import (
	"sync/atomic"
	"time"
)

// testClock is a store.Options.Now that a test sets instead of sleeping:
// the wall clock until set, then standing still. Placed relative to a
// stored stamp (icza/session stamps Accessed with the wall clock), it
// makes a session's age independent of how long the requests in between
// took.
type testClock struct{ fixed atomic.Pointer[time.Time] }

func (c *testClock) now() time.Time {
	if t := c.fixed.Load(); t != nil {
		return *t
	}
	return time.Now()
}
func (c *testClock) set(t time.Time) { c.fixed.Store(&t) }
