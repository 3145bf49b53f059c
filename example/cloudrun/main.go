// Command cloudrun is the gaesession example app for Cloud Run, the same
// app as the App Engine example (its handlers are package app's,
// example/app): log in with any user name (optionally "remember me"),
// reload to watch the visit counter rise, see where you are logged in and
// end any of those sessions, and log out, here or everywhere.
// Sessions live in Redis or Valkey (Memorystore) and in Firestore in
// Datastore mode, through package cloud; nothing App Engine-specific is
// needed.
//
// Run it locally, with a redis-server and the Datastore emulator that it
// starts on free ports and stops when it ends (Ctrl-C):
//
//	go run . -local
//
// and open http://localhost:8080. Environment (Cloud Run sets PORT):
//
//	PORT                  port to serve on; default 8080
//	REDIS_ADDR            host:port of Redis or Valkey (required with Redis)
//	REDIS_CLUSTER         "1": REDIS_ADDR is a cluster's discovery endpoint
//	DATASTORE_PROJECT_ID  the project; default: the one the runtime is in
//	PURGE_SECRET          the X-Gaesession-Purge-Secret of the purge job
//	SESSION_CACHE         "datastore": no Redis (cloud.DatastoreCache)
//	OTEL_EXPORTER_OTLP_ENDPOINT  the sessions' spans and metrics go there
//	                      over OTLP/HTTP; unset, to stdout
//
// Routes: those of package app (see its documentation), with
//
//	/tasks/purge-sessions  delete expired sessions (Cloud Scheduler,
//	                       with PURGE_SECRET)
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	local := flag.Bool("local", false, "start a redis-server and the Datastore emulator on free ports and use them")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *local); err != nil {
		slog.Error("cloudrun example", "err", err)
		os.Exit(1)
	}
}

// run serves until ctx ends (Cloud Run sends SIGTERM), then drains the
// requests and the session writes in flight.
func run(ctx context.Context, local bool) error {
	if local {
		stop, err := startLocal(ctx)
		if err != nil {
			return err
		}
		defer stop()
	}
	cfg := configFromEnv()
	cfg.Local = local
	a, err := newApp(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	srv := &http.Server{Addr: ":" + cfg.Port, Handler: a, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	slog.Info("serving", "url", "http://localhost:"+cfg.Port)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Cloud Run gives 10 seconds between SIGTERM and SIGKILL.
	sctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	err = errors.Join(srv.Shutdown(sctx), a.Shutdown(sctx))
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
