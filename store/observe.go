package store

import "context"

// Event names an outcome of the store's work that the calls to its tiers do
// not show by themselves, for Options.Observe. Each comes with a count: 1,
// or the number of sessions or records it concerns.
type Event string

// Reads: one event per session a Store loads (Store.Get), and one per
// session cookie gaesession finds unusable.
const (
	// EventReadHit: the Cache held the session, and the Durable tier was
	// not read (also when the session it held had expired).
	EventReadHit Event = "read.hit"
	// EventReadFallback: the Durable tier was read, because the Cache
	// missed, failed, held a value that does not decode, or held one put
	// back that is not yet confirmed.
	EventReadFallback Event = "read.fallback"
	// EventReadTombstone: the Cache held a tombstone: the session ended.
	EventReadTombstone Event = "read.tombstone"
	// EventReadMiss: no Durable tier (OnlyMemcache), and the Cache held no
	// session.
	EventReadMiss Event = "read.miss"
	// EventReadJunkCookie: gaesession's Manager found a session cookie that
	// is malformed or wrongly signed, and read nothing for it.
	EventReadJunkCookie Event = "read.junk-cookie"
)

// Writes: one event per session a Store writes back (Close), by what
// became of the write. EventWriteFailed takes precedence; a write that
// both merged and refilled is refilled.
const (
	// EventWriteWritten: written as the request left it.
	EventWriteWritten Event = "write.written"
	// EventWriteMerged: the request's changes went onto a version another
	// request wrote meanwhile.
	EventWriteMerged Event = "write.merged"
	// EventWriteRefilled: the Cache had lost the session; the changes went
	// onto the Durable copy, which was put back into the Cache.
	EventWriteRefilled Event = "write.refilled"
	// EventWriteEnded: the session had ended meanwhile (logout, Renew,
	// revocation): nothing was written.
	EventWriteEnded Event = "write.ended"
	// EventWriteFailed: the write-back reported a failure to the store's
	// error function. Failures of background Durable writes
	// (AsyncDatastoreSave) are logged instead, and not counted here.
	EventWriteFailed Event = "write.failed"
)

// Users' sessions and purge.
const (
	// EventLogin: gaesession's Manager.Login succeeded.
	EventLogin Event = "login"
	// EventRenewal: gaesession's Manager.Renew succeeded.
	EventRenewal Event = "renewal"
	// EventLogout: gaesession's Manager.Remove ended a session.
	EventLogout Event = "logout"
	// EventRevoked: a revocation (Revoke, RevokeAll, and the Manager's
	// RevokeOthers and LogoutEverywhere) ended this many sessions, counting
	// again those an earlier revocation may have failed to end.
	EventRevoked Event = "revoked"
	// EventPurged: a purge run deleted this many records in one batch.
	EventPurged Event = "purged"
)

// notify calls Options.Observe, if set.
func (o *Options) notify(ctx context.Context, ev Event, n int) {
	if o.Observe != nil {
		o.Observe(ctx, ev, n)
	}
}

// wrote reports what became of a write-back: reported is the count of
// failures reported before it began.
func (s *Store) wrote(reported int64, e *entry, w written, err error) {
	if s.o.Observe == nil {
		return
	}
	ev := EventWriteWritten
	switch {
	case s.reported.Load() != reported:
		ev = EventWriteFailed
	case endedUnder(err):
		ev = EventWriteEnded
	case e.refilled:
		ev = EventWriteRefilled
	case w.merged:
		ev = EventWriteMerged
	}
	s.o.notify(s.ctx, ev, 1)
}
