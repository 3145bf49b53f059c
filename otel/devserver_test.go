package otel_test

import (
	"os"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store/aestore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	gaesessiontest.Close()
	os.Exit(code)
}

// newDevRig is a rig on the dev server's Memcache and Datastore. It skips
// without the SDK, and fails then when GAESESSION_REQUIRE_DEVSERVER is set.
func newDevRig(t *testing.T) *rig {
	gaesessiontest.Start(t)
	return newRig(t, aestore.Memcache(), aestore.Datastore(""), true, gaesession.Options{})
}

// TestReadOnlyHitDevServer: as TestReadOnlyHitModel, on App Engine's
// Memcache and Datastore.
func TestReadOnlyHitDevServer(t *testing.T) {
	testReadOnlyHit(t, newDevRig(t), "memcache")
}

// TestLoginDevServer: as TestLoginModel, on App Engine's Memcache and
// Datastore.
func TestLoginDevServer(t *testing.T) {
	testLogin(t, newDevRig(t), "memcache", "datastore", "dev-alice")
}
