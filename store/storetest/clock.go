package storetest

import (
	"sync/atomic"
	"time"
)

// Clock is a store.Options.Now (and purge.Options.Now) that a test moves
// instead of sleeping: the wall clock plus an offset. icza/session stamps
// Created and Accessed with the wall clock, so moving the offset forward
// ages the sessions stored before; moving it back reads the stamps made
// since as fresh. After Set, it stands still: placed relative to a stored
// stamp, it makes a session's age independent of how long the requests in
// between took. The zero Clock is the wall clock; it is safe for
// concurrent use.
type Clock struct {
	offset atomic.Int64
	fixed  atomic.Pointer[time.Time]
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	if t := c.fixed.Load(); t != nil {
		return *t
	}
	return time.Now().Add(time.Duration(c.offset.Load()))
}

// Advance moves the clock forward by d (back, if negative).
func (c *Clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// Set stops the clock at t.
func (c *Clock) Set(t time.Time) { c.fixed.Store(&t) }
