package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/gaesession/gaesession/cloud/cloudtest"
)

// startLocal starts a redis-server and the Datastore emulator on free
// ports and points the app's environment at them. stop ends both.
func startLocal(ctx context.Context) (stop func(), err error) {
	slog.Info("starting redis-server and the Datastore emulator (about 10 s)")
	rs, err := cloudtest.StartRedis(ctx)
	if err != nil {
		return nil, err
	}
	ds, err := cloudtest.StartDatastore(ctx)
	if err != nil {
		rs.Stop()
		return nil, err
	}
	err = errors.Join(
		os.Setenv("REDIS_ADDR", rs.Addr),
		os.Unsetenv("REDIS_CLUSTER"),
		os.Setenv(cloudtest.EmulatorEnv, ds.Addr),
		os.Setenv("DATASTORE_PROJECT_ID", "local-example"),
	)
	stop = func() { ds.Stop(); rs.Stop() }
	if err != nil {
		stop()
		return nil, err
	}
	slog.Info("local servers", "redis", rs.Addr, "datastore emulator", ds.Addr)
	return stop, nil
}
