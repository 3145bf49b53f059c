package cloud_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/purge"
	"github.com/gaesession/gaesession/store"
	"github.com/redis/go-redis/v9"
)

// ExampleRedis keeps sessions in Redis or Valkey (Memorystore), with
// Firestore in Datastore mode as the tier that keeps them, as main does on
// Cloud Run. Create the clients once, at start-up: the store uses them with
// each request's context and never dials per request. For a Redis Cluster,
// pass the client of redis.NewClusterClient.
func ExampleRedis() {
	ctx := context.Background()
	rc := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")}) // Memorystore's host:port
	dc, err := datastore.NewClient(ctx, datastore.DetectProjectID)
	if err != nil {
		log.Fatal(err)
	}

	sessions := gaesession.New(gaesession.Options{Store: store.Options{
		Cache:   cloud.Redis(rc),
		Durable: cloud.Datastore(dc, ""), // kind "sess_", as on App Engine
	}})
	mux := http.NewServeMux()
	mux.Handle("/", sessions.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, ok := gaesession.User(gaesession.From(r.Context()).Get(r)); ok {
			fmt.Fprintln(w, "Hello,", user)
		}
	})))
	log.Fatal(http.ListenAndServe(":"+os.Getenv("PORT"), mux)) // Cloud Run sets PORT
}

// ExampleDatastore uses Firestore in Datastore mode as the durable tier,
// the one that keeps sessions and users' lists of sessions, and purges its
// expired sessions. Off App Engine anyone can send the cron header, so the
// purge handler takes a secret, which Cloud Scheduler sends as the header
// X-Gaesession-Purge-Secret. Sessions are the entities the App Engine
// backend writes, of the same kind, so users stay logged in when the app
// moves from App Engine's bundled services to these clients.
func ExampleDatastore() {
	ctx := context.Background()
	// The project Cloud Run (or the emulator's DATASTORE_PROJECT_ID) names.
	dc, err := datastore.NewClient(ctx, datastore.DetectProjectID)
	if err != nil {
		log.Fatal(err)
	}
	rc := redis.NewClient(&redis.Options{Addr: os.Getenv("REDIS_ADDR")})

	opts := store.Options{
		Cache:   cloud.Redis(rc),
		Durable: cloud.Datastore(dc, ""), // kind "sess_"
	}
	sessions := gaesession.New(gaesession.Options{Store: opts})
	app := http.NewServeMux() // the app's routes, as on App Engine

	mux := http.NewServeMux()
	mux.Handle("/", sessions.Handler(app))
	// Outside the middleware: a purge request has no session.
	// Purge takes both tiers: it ends a logged-out or revoked session in
	// both before it drops it from its user's list.
	mux.Handle("/tasks/purge-sessions", purge.Handler(purge.Options{
		Durable:   opts.Durable,
		Cache:     opts.Cache,
		KeyPrefix: opts.KeyPrefix,
		Secret:    os.Getenv("PURGE_SECRET"),
	}))
	log.Fatal(http.ListenAndServe(":"+os.Getenv("PORT"), mux))
}

// ExampleDatastoreCache runs without Redis: the Datastore is both tiers.
// The cache's entities are of a kind of their own ("sess_cache", no key
// prefix, as store.Options has none), beside the durable tier's "sess_",
// which also keeps the users' lists of sessions, so that Manager.Login,
// Devices and Revoke work. Purge both kinds. An app that never calls Login
// can use DatastoreCache as its only tier instead (store.Options.OnlyMemcache,
// with the cache's key prefix as KeyPrefix); see DatastoreCache.
func ExampleDatastoreCache() {
	ctx := context.Background()
	dc, err := datastore.NewClient(ctx, datastore.DetectProjectID)
	if err != nil {
		log.Fatal(err)
	}

	opts := store.Options{
		Cache:   cloud.DatastoreCache(dc, "sess_cache", ""),
		Durable: cloud.Datastore(dc, ""),
	}
	sessions := gaesession.New(gaesession.Options{Store: opts})
	app := http.NewServeMux() // the app's routes

	mux := http.NewServeMux()
	mux.Handle("/", sessions.Handler(app))
	secret := os.Getenv("PURGE_SECRET")
	mux.Handle("/tasks/purge-sessions", purge.Handler(purge.Options{
		Durable: opts.Durable,
		Cache:   opts.Cache, // to end sessions in both tiers before dropping them from users' lists
		Secret:  secret,
	}))
	mux.Handle("/tasks/purge-session-cache", purge.Handler(purge.Options{
		Durable:      cloud.Datastore(dc, "sess_cache"),
		DSEntityName: "sess_cache", // the kind its logs name
		Secret:       secret,
	}))
	log.Fatal(http.ListenAndServe(":"+os.Getenv("PORT"), mux))
}
