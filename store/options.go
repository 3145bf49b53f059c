package store

import (
	"context"
	"log/slog"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// Options configures the store. The zero value gives the defaults stated on
// each field, which are icza/gaesession's where it had the option.
type Options struct {
	// KeyPrefix goes before the session ID to form the Cache key. Prefix
	// and ID together must fit in MaxKeyLen bytes. Default: "".
	KeyPrefix string

	// Retries is how many times a call to a tier that fails with a service
	// error is tried, with backoff, before the failure is reported.
	// Default: 3.
	Retries int

	// Codec encodes sessions for both tiers. Default: &Gob, the format of
	// icza/gaesession.
	Codec *Codec

	// Cache is the fast tier. Required: NewTiers panics without it.
	// gaesession.New sets it to App Engine's bundled Memcache
	// (aestore.Memcache) when Cache and Durable are both nil.
	Cache tier.Cache

	// Durable is the tier that keeps sessions until they expire. Required
	// unless OnlyMemcache: NewTiers panics without it. gaesession.New sets it
	// to App Engine's bundled Datastore (aestore.Datastore(DSEntityName))
	// when Cache and Durable are both nil.
	Durable tier.Durable

	// OnlyMemcache keeps sessions in the Cache only: no Durable tier.
	// Default: false.
	OnlyMemcache bool

	// StrictWrites makes every write of a session to the Durable tier a
	// transaction that merges the write onto what is stored, followed by a
	// check of the Cache: no completed write is then lost to any pattern
	// of evictions or flushes, even when concurrent writes reach the
	// Durable tier out of order. It costs a write 4 more calls on App
	// Engine (a transaction instead of a Put, and a memcache.Get). Without
	// it, after concurrent writes of one session the Durable copy may be
	// one write behind until the next write, and a flush then loses that
	// write. Default: false.
	StrictWrites bool

	// HashIDs stores sessions under a one-way hash of their IDs (SHA-256),
	// never the IDs: Cache keys, Durable records, tombstones, the users'
	// indexes and the ID inside each stored value. A leaked Datastore
	// export, backup or cache dump then holds no cookie that reads a live
	// session. The ID lives only in the cookie and, during a request, in
	// memory. A session stored under its raw ID (by icza/gaesession, or
	// before HashIDs) still reads (see RawIDsUntil); its next write moves it
	// to its hash and ends the raw copies, so that a store without HashIDs
	// finds such a session ended, never revives it. Turning HashIDs off
	// again ends every hashed session. Default: false (icza/gaesession
	// cannot read hashed sessions).
	HashIDs bool

	// RawIDsUntil, with HashIDs, is when the store stops looking for
	// sessions under their raw IDs. Until then a read that misses a
	// session's hash in the Cache costs one more Cache read (the raw key),
	// and its Durable read covers both IDs in the same call. Set it to the
	// time HashIDs was turned on plus the longest session timeout (or
	// MaxLifetime): by then every session stored under its raw ID has been
	// written (a read within the timeout touches it) and moved, or has
	// expired. Default: the zero time, always.
	RawIDsUntil time.Time

	// AsyncDatastoreSave writes the Durable backup in the background, after
	// the request has returned; Tiers.Wait waits for those writes. Their
	// failures are logged, not sent to the store's error function (see
	// Tiers.Open). Default: false.
	AsyncDatastoreSave bool

	// MaxBackground bounds the background writes in flight
	// (AsyncDatastoreSave); beyond it a write runs in its request, so that
	// nothing is dropped. Default: 64.
	MaxBackground int

	// AsyncTimeout bounds each background write. Default: 30 seconds.
	AsyncTimeout time.Duration

	// DSEntityName is the Datastore kind of session records for the
	// Durable tier that gaesession.New fills in, aestore.Datastore(
	// DSEntityName), when Cache and Durable are both nil. Only gaesession.New
	// reads it: a Durable set here names its own kind, and purge.Options
	// has a DSEntityName of its own that must match. Default: DefaultKind,
	// "sess_".
	DSEntityName string

	// TouchInterval is how old a session's stored access time must be
	// before a request that only reads the session writes it back to
	// extend its life. A session therefore expires between its timeout
	// minus TouchInterval and its timeout after the last request.
	// Default: a tenth of the session's timeout (3 minutes for
	// icza/session's default of 30).
	TouchInterval time.Duration

	// MaxLifetime is an absolute limit on a session's age, counted from its
	// creation, on top of its idle timeout. Default: 0, no limit.
	MaxLifetime time.Duration

	// Now is the protocol's one clock: expiry, touches, MaxLifetime, login
	// times and tombstone lifetimes (a Durable tier compares no times;
	// purge runs on purge.Options.Now, which should be this one). A Cache
	// forgets items by its own clock. Tests set it to make time pass: to
	// the wall clock plus an offset, as icza/session stamps Created and
	// Accessed with time.Now. Default: time.Now.
	Now func() time.Time

	// Observe, when set, is called with each outcome of the store's work
	// that its tiers' calls do not show (see Event): what a read found,
	// what became of a write, logins, revocations. ctx is the Store's (see
	// Tiers.Open); n is 1 or the number of sessions or records concerned.
	// It runs in the request, so it must be quick, and safe for
	// concurrent use. For metrics (the gaesession/otel module).
	// Default: nil, nothing is called.
	Observe func(ctx context.Context, ev Event, n int)
}

const (
	defaultRetries       = 3
	defaultAsyncTimeout  = 30 * time.Second
	defaultMaxBackground = 64
)

// withDefaults returns o with every zero field the store reads set to its
// default (DSEntityName is for gaesession.New, see aestore.Datastore).
func (o Options) withDefaults() Options {
	if o.Retries <= 0 {
		o.Retries = defaultRetries
	}
	if o.Codec == nil {
		o.Codec = &Gob
	}
	if o.AsyncTimeout <= 0 {
		o.AsyncTimeout = defaultAsyncTimeout
	}
	if o.MaxBackground <= 0 {
		o.MaxBackground = defaultMaxBackground
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// touchInterval is the TouchInterval for a session with the given timeout.
func (o *Options) touchInterval(timeout time.Duration) time.Duration {
	if o.TouchInterval > 0 {
		return o.TouchInterval
	}
	return timeout / 10
}

// logFailure logs a store failure at level Error.
func logFailure(l *slog.Logger, err error) {
	l.Error("gaesession: store failure", "err", err)
}

// sleep waits for d, or returns ctx's error when it ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
