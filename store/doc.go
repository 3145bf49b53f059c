// Package store keeps github.com/icza/session sessions in App Engine
// Memcache, with the Datastore as a backup, for the lifetime of one request.
//
// gaesession.Middleware makes a Store for each request from
// gaesession.Options.Store; most apps only set Options here. New is for
// building a session manager of your own:
//
//	s := store.New(appengine.NewContext(r), store.Options{KeyPrefix: "myapp:"})
//	defer s.Close() // writes back what the request changed
//	sess := s.Get(id)
//
// A Store takes the IDs it is given as they are. gaesession's Manager checks
// a cookie's value before it reaches Get, so that junk costs no RPC; a
// manager of your own should do the same.
//
// # Reading and writing
//
// Get asks Memcache first, then the Datastore, and puts a session found
// only in the Datastore back into Memcache. A session past its idle timeout
// (or Options.MaxLifetime) is absent wherever it is found; an expired
// Datastore entity is deleted on the way.
//
// Close writes back a session only when the request added it, changed it
// with SetAttr, or its stored access time is older than
// Options.TouchInterval. Memcache is written with compare-and-swap: on a
// conflict the store reads the newer version, applies this request's
// changes to it and tries again. The Datastore backup is written at the
// same time, or in the background with Options.AsyncDatastoreSave (Wait
// waits for those writes; a background write re-reads Memcache afterwards so
// that it cannot undo a newer write or a removal). Remove deletes a session
// from both tiers at once and leaves a tombstone in Memcache, so that a
// request that loaded the session earlier cannot write it back. Close and
// Remove still write when the request's context has been canceled.
//
// # Storage format
//
// The format is icza/gaesession's, so apps that switch keep their users
// logged in. Memcache: key Options.KeyPrefix + ID, value the session encoded
// by Options.Codec (gob by default), expiring with the session. Datastore:
// kind Options.DSEntityName ("sess_"), key name the ID, property "exp"
// (indexed time of expiry) and "val" (the same bytes, unindexed). An
// encoded session may have at most MaxSize bytes.
//
// # Errors
//
// Failures go to Options.ErrorFunc as an *Error, which carries the
// operation, the tier and ShortID of the session, never the ID itself. It
// wraps the cause: ErrEncode, ErrTooLarge, ErrCorrupt, ErrConflict or an
// App Engine error, for errors.Is. A session that cannot be saved keeps
// the version stored before. Failures of background writes are logged with
// Options.Logger instead, as the request is over. At level Debug the
// Logger also gets one line per load, save and removal.
package store
