package store

import (
	"log/slog"
	"time"

	"google.golang.org/appengine/v2/memcache"
)

// Options configures a Store. The zero value gives the defaults stated on
// each field, which are icza/gaesession's where it had the option.
type Options struct {
	// KeyPrefix goes before the session ID to form the Memcache key. Prefix
	// and ID together must fit in Memcache's 250-byte keys. Default: "".
	KeyPrefix string

	// Retries is how many times a Memcache or Datastore call that fails with
	// a service error is tried, with backoff, before the failure is
	// reported. Default: 3.
	Retries int

	// Codec encodes sessions for both tiers. Default: memcache.Gob, the
	// format of icza/gaesession.
	Codec *memcache.Codec

	// OnlyMemcache keeps sessions in Memcache only: no Datastore backup.
	// Default: false.
	OnlyMemcache bool

	// AsyncDatastoreSave writes the Datastore backup in the background,
	// after the request has returned; Wait waits for those writes. Their
	// failures are logged with Logger, not sent to ErrorFunc.
	// Default: false (the request waits for the backup).
	AsyncDatastoreSave bool

	// AsyncTimeout bounds each background Datastore write.
	// Default: 30 seconds.
	AsyncTimeout time.Duration

	// DSEntityName is the Datastore kind of session entities.
	// Default: "sess_".
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

	// ErrorFunc receives every store failure, as an *Error, except those of
	// background writes (AsyncDatastoreSave), which are logged.
	// Default: the failure is logged with Logger at level Error.
	// gaesession.Middleware replaces it with one that calls its own
	// Options.ErrorFunc.
	ErrorFunc func(err error)

	// Logger receives the store's logs: failures, and one Debug line per
	// load, save and removal with its tiers and duration.
	// Default: slog.Default(). gaesession.Middleware replaces it with its
	// own logger, with the request's trace.
	Logger *slog.Logger
}

const (
	defaultEntity       = "sess_"
	defaultRetries      = 3
	defaultAsyncTimeout = 30 * time.Second
)

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Retries <= 0 {
		o.Retries = defaultRetries
	}
	if o.Codec == nil {
		o.Codec = &memcache.Gob
	}
	if o.AsyncTimeout <= 0 {
		o.AsyncTimeout = defaultAsyncTimeout
	}
	if o.DSEntityName == "" {
		o.DSEntityName = defaultEntity
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ErrorFunc == nil {
		l := o.Logger
		o.ErrorFunc = func(err error) { logFailure(l, err) }
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
