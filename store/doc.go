// Package store keeps github.com/icza/session sessions in two tiers: a
// Cache (such as App Engine Memcache) in front of a Durable tier (such as
// App Engine's Datastore), for the requests of an app. It links no App
// Engine package: the backends on App Engine's bundled services are in
// package aestore, and gaesession.New uses them when Options names neither
// tier.
//
// gaesession.Middleware makes one Tiers when the app starts and opens a
// Store for each request from gaesession.Options.Store; most apps only set
// Options here. By hand:
//
//	tiers := store.NewTiers(store.Options{ // once
//		Cache: aestore.Memcache(), Durable: aestore.Datastore(""), KeyPrefix: "myapp:",
//	})
//	s := tiers.Open(appengine.NewContext(r), nil, nil) // per request
//	defer s.Close() // writes back what the request changed
//	sess := s.Get(id)
//
// A Store takes the IDs it is given as they are. gaesession's Manager checks
// a cookie's value (ValidID) before it reaches Get, so that junk costs no
// call; a manager of your own should do the same.
//
// # Layers
//
// Store (store.go) is one request: what it loaded, which attributes it set
// (tracked, codec.go), what it must write. The protocol between the two
// tiers is in load.go, save.go and swap.go (reading and writing back),
// login.go (the Login and Renew scripts) and retire.go (retiring an ID),
// with the Cache's rules in tombstone.go. It reaches
// the tiers only through the Cache and Durable interfaces of package tier,
// wrapped with retries (retry.go). The Durable tier is a plain key-value
// store: the store's view of it (durable.go) reads and ends sessions there,
// applying the tombstone rule (see Ending sessions). Package aestore
// implements the interfaces on App Engine's bundled services, package
// storetest has an in-process model for simulation tests and the
// conformance suite every implementation passes, and the module
// gaesession/cloud implements them on Redis and the Cloud Datastore client.
//
// # Reading and writing
//
// Get asks the Cache first, then the Durable tier, and puts a session the
// Cache missed back into it (only after a real miss: after a failed Get the
// Cache may hold a newer version). A session put back from the Durable tier,
// by a read or a write, is flagged FlagUnconfirmed: it may have ended since
// it was read, its Cache tombstone evicted. Readers and writers trust it
// only after reading the Durable tier; its writer reads the Durable tier
// again and then confirms it (flag 0) or buries the ID. A session past its idle timeout (or
// Options.MaxLifetime) is absent wherever it is found; an expired record is
// deleted on the way.
//
// Close writes back a session only when the request added it, changed it
// with SetAttr, or its stored access time is older than
// Options.TouchInterval. The Cache is written with compare-and-swap: on a
// conflict the store reads the newer version, applies this request's
// changes to it and tries again. When the Cache has lost the session, the
// changes go onto the Durable copy, which is read again after the session
// is put back. The Durable write follows the compare-and-swap (or runs in
// the background with Options.AsyncDatastoreSave, at most
// Options.MaxBackground at once; Tiers.Wait waits for them); a write that
// had to merge, and every background write, reads the Cache afterwards and
// follows it.
//
// # Ending sessions
//
// Remove, Renew and revocations (Login's limit, Revoke, RevokeAll) end a
// session with a tombstone in the Cache (flags FlagRemoved, FlagRenewed;
// Remove writes it after the Durable one, so that no put-back is confirmed
// after it) and a tombstone record in the Durable tier (key name: the ID
// plus EndSuffix, an empty value), written before the record is deleted:
// two Durable calls for a batch of sessions. Durable writes are
// last-writer-wins, so a write-back whose Put lands later brings the
// record back; the store reads a session's record and its tombstone
// record in one Durable call, and the tombstone, live or expired, hides
// the record until purge deletes it, so an ended session stays ended
// whatever the Cache forgets. Tombstone lifetimes are set by Options.Now. Renew retires the
// old ID with compare-and-swap, so the new session carries the newest
// stored value.
//
// # Sessions per user
//
// Login binds a session to a user. A user's sessions are listed in one
// index record per user (IndexID: "user!" and a hash of the user ID, in the
// same kind), read by key and changed in a transaction (Durable.Update).
// Queries that are not ancestor queries are eventually consistent on App
// Engine's Datastore and on the dev server's default policy; lookups by key
// are strongly consistent, so a list read right after a login or a
// revocation elsewhere is right. The sessions' last-seen times come from
// their own records, read by key in one batch (GetMulti).
//
// The index is a state machine (index.go, pure; users.go reads and
// updates it, and runs the user operations): every decision (bind at Login
// with the limit and clean-up, move at Renew, revoke one or all, sweep) is
// a pure function of the index as read inside Durable.Update, and the IDs
// ended are those the committed index names. Revocation marks entries as
// ending, then ends them; a Renew whose entry was marked fails and ends its
// new ID. Login and a bound Renew write the new ID to both tiers before it
// is listed. Purge's Sweep deletes an expired index only through a
// transaction that finds it without live sessions.
//
// # Storage format
//
// The format is icza/gaesession's, so apps that switch keep their users
// logged in. Cache: key Options.KeyPrefix + ID, value the session encoded
// by Options.Codec (Gob by default), expiring with the session (at most 30
// days in Memcache, which reads more as a Unix time). Durable: kind
// Options.DSEntityName ("sess_"), key name the ID, properties PropExpires
// ("exp", indexed time of expiry) and PropValue ("val", the same bytes,
// unindexed). A session never bound to a user has no other data. An encoded
// session may have at most MaxSize bytes.
//
// # Errors
//
// Failures go to the Store's error function as an *Error, which carries the
// operation, the tier and ShortID of the session, never the ID itself. It
// wraps the cause: ErrEncode, ErrTooLarge, ErrCorrupt, ErrConflict,
// ErrRenewed, ErrGone, ErrStillReadable, ErrClosed or the backend's error,
// for errors.Is. A session that cannot be saved keeps the version stored
// before. Failures of background writes are logged instead, as the request
// is over. At level Debug the logger also gets one line per load, save and
// removal.
package store
