package store_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/gaesession/gaesession/store"
)

// TestDebugLogSaysWhetherFound: at level Debug, a load logs one line that
// says whether it found the session.
func TestDebugLogSaysWhetherFound(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{})
	id := r.create(0, "a", "1")
	missing := r.newSession(0).ID()
	for _, tc := range []struct {
		id   string
		want string
	}{{id, "found=true"}, {missing, "found=false"}} {
		var buf logBuffer
		s := r.tiers.Open(context.Background(), nil, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
		s.Get(tc.id)
		s.Discard()
		if log := buf.String(); strings.Count(log, "msg=\"gaesession: get\"") != 1 || !strings.Contains(log, tc.want) {
			t.Errorf("debug log of a get, want one line with %s:\n%s", tc.want, log)
		}
	}
}

// TestDebugLogNamesTheTiers: at level Debug, a removal's line names the
// tiers it wrote to: both, or the Cache alone with OnlyMemcache.
func TestDebugLogNamesTheTiers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		only bool
		want string
	}{{false, "tier=memcache,datastore "}, {true, "tier=memcache "}} {
		r := newRig(t, store.Options{OnlyMemcache: tc.only})
		var buf logBuffer
		s := r.tiers.Open(context.Background(), nil, slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
		s.Remove(r.newSession(0))
		s.Close()
		if log := buf.String(); !strings.Contains(log, "msg=\"gaesession: remove\"") || !strings.Contains(log, tc.want) {
			t.Errorf("OnlyMemcache %v: debug log of a removal, want %q:\n%s", tc.only, tc.want, log)
		}
	}
}
