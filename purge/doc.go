// Package purge deletes expired sessions from the Datastore.
//
// gaesession keeps sessions in Memcache with a Datastore backup. Expired
// session entities are not removed from the Datastore by themselves: mount
// the Handler on a path that App Engine cron calls periodically, outside
// gaesession.Middleware (a cron request has no session, so the middleware
// would only add work):
//
//	http.Handle("/tasks/purge-sessions", purge.Handler(purge.Options{}))
//
// and in cron.yaml:
//
//	cron:
//	- description: purge expired gaesession sessions
//	  url: /tasks/purge-sessions
//	  schedule: every 30 minutes
//
// The handler runs one keys-only query for the entities whose "exp"
// property is before Options.Now (read when the run starts) and deletes the
// keys it reads in batches of 500 (the most a Datastore DeleteMulti takes),
// with a few batches in flight while the query goes on reading. It stops at
// Options.Deadline (8 minutes by default; cron requests get 10), when the
// request is canceled, or at the first Datastore error. Whatever it leaves
// behind is found by the next run.
//
// It answers with a JSON report:
//
//	{"completed":true,"deleted":1200,"duration_ms":5300}
//
// completed is true when the query ran to its end and every key it returned
// was deleted or kept on purpose: the index of a user who still has live
// sessions, or whose logouts are less than an hour old, stays. deleted
// counts the entities deleted, by DeleteMulti or, for users' indexes, by
// store.Sweep's transaction. Stopping at the deadline or because the request
// was canceled is no error: status 200 with completed false. A Datastore error
// gives status 500 and an "error" field; a request refused (see
// Options.Secret) gives status 403 and only an "error" field.
package purge
