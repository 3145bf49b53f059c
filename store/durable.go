package store

import (
	"context"
	"time"
)

// An ended session (logout, Renew) leaves a tombstone record in the Durable
// tier (Durable.End). Durable writes are last-writer-wins, so a write-back
// whose Put lands after the delete brings the record back; the tombstone
// keeps it unreadable, whatever the Cache forgets.

// end ends a session in the Durable tier, with a tombstone until the
// session's record could no longer be live (now plus its timeout).
func (s *Store) end(ctx context.Context, id string, timeout time.Duration) error {
	return s.t.durable.End(ctx, []string{id}, s.o.Now().Add(max(timeout, minTombstone)))
}
