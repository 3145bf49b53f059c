// Package gaesession is net/http middleware that gives App Engine apps
// (second-generation Go runtimes with bundled services) HTTP sessions kept
// in Memcache with a Datastore backup, built on github.com/icza/session.
//
// Middleware is a plain func(http.Handler) http.Handler, so it goes into an
// alice chain or around any handler:
//
//	chain := alice.New(gaesession.Middleware(gaesession.Options{}))
//	http.Handle("/", chain.Then(app))
//	appengine.Main()
//
// A handler finds the request's Manager with From and uses it as an
// icza/session Manager:
//
//	m := gaesession.From(r.Context())
//	sess := m.Get(r)
//	if sess == nil {
//		sess = session.NewSession()
//		m.Add(sess, w)
//	}
//	sess.SetAttr("Count", 1) // saved when the handler returns
//
// From returns nil outside Middleware, and the nil Manager's methods panic
// with a message that says to wrap the handler with Middleware.
//
// Attr reads an attribute as a given type, with false instead of a panic
// when it is missing or of another type; AddFlash and Flashes keep messages
// for the next page, shown once. Both go through SetAttr, so they are saved
// like any other change.
//
// # What is written back, and when
//
// Manager.Get checks the cookie (its form and, with
// CookieOptions.SigningKeys, its signature) before any App Engine call: a
// request without a valid session cookie makes no RPC. A valid one costs a
// Memcache Get; when Memcache has lost the session (or holds a corrupt
// value), also a Datastore Get and a Memcache write that puts it back.
//
// When the handler returns, the Manager writes back only the sessions the
// request added with Add or changed with SetAttr: to Memcache with
// compare-and-swap and, at the same time, to the Datastore backup (or in
// the background, with store.Options.AsyncDatastoreSave). A
// request that only reads its session therefore costs one Memcache Get,
// except when the stored access time is older than
// store.Options.TouchInterval; then the session is written back to extend
// its life. Changing a map or slice held in an attribute in place, without
// calling SetAttr, is not detected: such a change is not saved. Call SetAttr
// with the changed value.
//
// Concurrent requests on one session are merged: when compare-and-swap finds
// a newer version, the request applies only the attributes it set to that
// version. Requests that set different attributes all keep their changes;
// for the same attribute the last writer wins.
//
// If the handler panics, the request's changes are dropped (removals, which
// happen at once, stay done) and the panic goes on up.
//
// # Login and logout
//
// Call Manager.Renew at login, or Manager.Login to also bind the session to
// a user: the session gets a new ID and keeps its attributes, and the old
// ID is retired, so an ID planted in the browser before login is worthless
// afterwards. Manager.Remove, at logout, ends the session in both tiers
// with tombstones, so that a request that loaded the session earlier cannot
// write it back, whatever Memcache forgets. A session bound to a user is
// listed by Manager.Devices and ended by Manager.Revoke, RevokeOthers and
// LogoutEverywhere (and, outside a request, by the Sessions that New
// returns), as finally as a logout.
//
// # Errors and logs
//
// Store failures reach Options.ErrorFunc as a *store.Error, which names the
// session by store.ShortID only: the session ID is a credential. By default
// they are logged with Options.Logger, which on App Engine writes JSON lines
// that Cloud Logging groups under their request.
//
// Package purge deletes expired sessions from the Datastore: mount its
// Handler for cron outside Middleware (a cron request has no session, so the
// middleware would only add work):
//
//	http.Handle("/tasks/purge-sessions", purge.Handler(purge.Options{}))
//
// Package gaesessiontest runs an app's handlers through Middleware against
// the App Engine development server in tests; its command devserver serves
// an app locally.
package gaesession
