// Package cloud keeps gaesession's sessions off App Engine's bundled
// services: Redis or Valkey (Memorystore) as the cache tier, and Firestore
// in Datastore mode through cloud.google.com/go/datastore as the durable
// tier. It writes the same Datastore entities as the App Engine backend,
// so sessions survive the switch from one backend to the other, and from
// App Engine to Cloud Run. The app creates the clients once and passes
// them in:
//
//	rc := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})
//	dc, err := datastore.NewClient(ctx, projectID)
//	...
//	mw := gaesession.Middleware(gaesession.Options{Store: store.Options{
//		Cache:   cloud.Redis(rc),
//		Durable: cloud.Datastore(dc, ""),
//	}})
//
// Nothing else changes: From, Manager and purge.Handler (with
// purge.Options.Durable) work as on App Engine, with the request's context.
// Apps without Redis use DatastoreCache as the only tier (Datastore-only
// mode), with the same entities.
// See the README for versions, costs and the migration steps.
package cloud
