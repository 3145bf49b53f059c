package store

import (
	"context"
	"errors"
	"time"
)

// An ended session (logout, Renew) leaves a tombstone record in the Durable
// tier beside deleting its record: key name the ID with endMark appended
// (no ID contains it), an empty value, expiring when any record of the
// session written late could. Durable writes are last-writer-wins, so a
// write-back whose Put lands after the delete brings the record back; the
// tombstone keeps it unreadable, whatever the Cache forgets.
const endMark = "!"

// durableGet reads a session's record, or ErrNotFound when there is none or
// the session was ended. Both records are read at once.
func (s *Store) durableGet(ctx context.Context, id string) (Record, error) {
	var tomb Record
	var tombErr error
	join := s.t.rt.fork(ctx, func(ctx context.Context) {
		tomb, tombErr = s.t.durable.Get(ctx, id+endMark)
	})
	rec, err := s.t.durable.Get(ctx, id)
	join()
	switch {
	case tombErr == nil && s.o.Now().Before(tomb.Expires):
		return Record{}, ErrNotFound
	case tombErr != nil && !errors.Is(tombErr, ErrNotFound):
		return Record{}, tombErr
	}
	return rec, err
}

// end ends a session in the Durable tier: a tombstone record until the
// session's record could no longer be live (now plus its timeout), then
// the record is deleted.
func (s *Store) end(ctx context.Context, id string, timeout time.Duration) error {
	tomb := Record{Value: []byte{}, Expires: s.o.Now().Add(max(timeout, minTombstone))}
	if err := s.t.durable.Put(ctx, id+endMark, tomb); err != nil {
		return err
	}
	return s.t.durable.Delete(ctx, id)
}
