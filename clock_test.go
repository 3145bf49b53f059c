package gaesession_test

import (
	"sync/atomic"
	"time"
)

// testClock is a store.Options.Now that a test moves instead of sleeping:
// the wall clock plus an offset. icza/session stamps Created and Accessed
// with the wall clock, so moving the offset forward ages the sessions
// stored before; moving it back reads the stamps made since as fresh.
// After set, it stands still: placed relative to a stored stamp, it makes
// a session's age independent of how long the requests in between took.
type testClock struct {
	offset atomic.Int64
	fixed  atomic.Pointer[time.Time]
}

func (c *testClock) now() time.Time {
	if t := c.fixed.Load(); t != nil {
		return *t
	}
	return time.Now().Add(time.Duration(c.offset.Load()))
}
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }
func (c *testClock) set(t time.Time)         { c.fixed.Store(&t) }
