package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/cloud"
	webapp "github.com/gaesession/gaesession/example/app"
	"github.com/gaesession/gaesession/purge"
	"github.com/gaesession/gaesession/store"
	"github.com/redis/go-redis/v9"
)

// config is what the app reads from its environment.
type config struct {
	Port         string
	RedisAddr    string
	RedisCluster bool
	Project      string
	PurgeSecret  string
	// DatastoreOnly: no Redis, entities of kind cacheKind are the cache
	// (cloud.DatastoreCache); SESSION_CACHE=datastore.
	DatastoreOnly bool
	Local         bool // plain http://localhost; purge open without a secret
}

func configFromEnv() config {
	c := config{
		Port:          os.Getenv("PORT"),
		RedisAddr:     os.Getenv("REDIS_ADDR"),
		RedisCluster:  os.Getenv("REDIS_CLUSTER") == "1",
		Project:       os.Getenv("DATASTORE_PROJECT_ID"),
		PurgeSecret:   os.Getenv("PURGE_SECRET"),
		DatastoreOnly: os.Getenv("SESSION_CACHE") == "datastore",
	}
	if c.Port == "" {
		c.Port = "8080"
	}
	if c.Project == "" {
		c.Project = datastore.DetectProjectID
	}
	return c
}

// cacheKind holds the cache's entities in Datastore-only mode, apart from
// the Durable tier's kind (tier.DefaultKind), which keeps the sessions'
// copies and the users' indexes, so that logins work there too.
const cacheKind = "sess_cache"

// app is the example's handler (package app's, as the App Engine
// example's) with the clients it created once.
type app struct {
	http.Handler
	sessions *gaesession.Sessions
	rc       redis.UniversalClient
	dc       *datastore.Client
	telStop  func(context.Context) error // flushes the telemetry
}

func newApp(ctx context.Context, c config) (*app, error) {
	if c.RedisAddr == "" && !c.DatastoreOnly {
		return nil, fmt.Errorf("REDIS_ADDR is not set (or run with -local, or SESSION_CACHE=datastore)")
	}
	a := &app{}
	tel, telStop, err := newTelemetry(ctx)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	a.telStop = telStop
	if a.dc, err = datastore.NewClient(ctx, c.Project); err != nil {
		return nil, fmt.Errorf("datastore client: %w", err)
	}
	// Every tier is decorated: a span and a duration per call.
	durable := tel.Durable(cloud.Datastore(a.dc, ""))
	// Datastore-only: entities of their own kind are the cache (no key
	// prefix, as store.Options.KeyPrefix has none).
	opts := store.Options{Cache: tel.Cache(cloud.DatastoreCache(a.dc, cacheKind, "")), Durable: durable, Observe: tel.Observe}
	if !c.DatastoreOnly {
		a.rc = redis.NewUniversalClient(&redis.UniversalOptions{
			Addrs:         strings.Split(c.RedisAddr, ","),
			IsClusterMode: c.RedisCluster,
		})
		opts.Cache = tel.Cache(cloud.Redis(a.rc))
	}
	a.sessions = gaesession.New(gaesession.Options{
		Store:       opts,
		Cookie:      gaesession.CookieOptions{AllowHTTP: c.Local},
		WorkContext: tel.WorkContext, // a span around each request's session work
	})
	// Cloud Scheduler calls this with the shared secret in a header; an
	// app without PURGE_SECRET refuses every call on Cloud Run.
	// Its deadline stays under Cloud Run's default request timeout (5
	// minutes); a run that stops there is finished by the next.
	po := purge.Options{
		Durable:      durable,
		Cache:        opts.Cache,
		KeyPrefix:    opts.KeyPrefix,
		Deadline:     4 * time.Minute,
		Secret:       c.PurgeSecret,
		AllowNonCron: c.Local && c.PurgeSecret == "",
		Observe:      tel.Observe,
	}
	a.Handler = webapp.New(webapp.Options{Sessions: a.sessions.Handler, Purge: purge.Handler(po)})
	if c.DatastoreOnly {
		// The cache's kind is purged apart, by a second job.
		po.Durable, po.DSEntityName = tel.Durable(cloud.Datastore(a.dc, cacheKind)), cacheKind
		mux := http.NewServeMux()
		mux.Handle("/tasks/purge-cache", purge.Handler(po))
		mux.Handle("/", a.Handler)
		a.Handler = mux
	}
	return a, nil
}

// Shutdown waits for the session writes in flight, then flushes the
// telemetry.
func (a *app) Shutdown(ctx context.Context) error {
	return errors.Join(a.sessions.Shutdown(ctx), a.telStop(ctx))
}

// Close closes the clients.
func (a *app) Close() {
	if a.rc != nil {
		a.rc.Close()
	}
	a.dc.Close()
}
