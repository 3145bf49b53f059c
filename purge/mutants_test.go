package purge_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gaesession/gaesession/purge"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
)

// Tests that kill mutants that lived through the fast tests
// (scripts/mutation.sh): each pins an outcome the others left open.

// TestModelPurgeLogsItsKind: the handler names the kind it purges, the one
// given or tier.DefaultKind.
func TestModelPurgeLogsItsKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, kind, want string }{
		{"default", "", tier.DefaultKind},
		{"given", "custom_", "custom_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := storetest.NewModel(storetest.ModelOptions{})
			var buf bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&buf, nil))
			// Refused (no cron header, not on App Engine): nothing is read.
			code, _ := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), DSEntityName: tc.kind, Logger: logger})
			if code != http.StatusForbidden {
				t.Fatalf("status %d, want 403", code)
			}
			if want := "kind=" + tc.want + " "; !strings.Contains(buf.String(), want) {
				t.Errorf("log %q, want %q", buf.String(), want)
			}
		})
	}
}

// TestModelPurgeKeepsWithoutDeleting: a batch that holds only the index of
// a user with a live session deletes nothing, and calls DeleteMulti not at
// all.
func TestModelPurgeKeepsWithoutDeleting(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	m := storetest.NewModel(storetest.ModelOptions{Before: func(_ context.Context, op, _ string) error {
		if op == "durable.DeleteMulti" {
			calls.Add(1)
		}
		return nil
	}})
	tiers := store.NewTiers(store.Options{Cache: m.Cache(), Durable: m.Durable()})
	ctx := context.Background()
	s := tiers.Open(ctx, func(err error) { t.Error(err) }, nil)
	if _, err := s.Login(nil, store.Login{User: "ann"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	past := func(rec tier.Record, _ bool) (tier.Record, error) {
		rec.Expires = time.Now().Add(-time.Minute)
		return rec, nil
	}
	if err := m.Durable().Update(ctx, store.IndexID("ann"), past); err != nil {
		t.Fatal(err)
	}
	code, rep := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), AllowNonCron: true})
	if !completed(code, rep, 0) {
		t.Errorf("answer = %d %+v, want 200, completed, none deleted", code, rep)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("DeleteMulti called %d times, want 0", n)
	}
	if n := len(m.IDs()); n != 2 {
		t.Errorf("%d records left, want ann's session and index", n)
	}
}

func TestRate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n    int
		d    time.Duration
		want float64
	}{
		{10, 2 * time.Second, 5},
		{3, 500 * time.Millisecond, 6},
		{5, 0, 0},
		{0, 0, 0},
		{5, -time.Second, 0},
	} {
		if got := purge.Rate(tc.n, tc.d); got != tc.want {
			t.Errorf("rate(%d, %v) = %v, want %v", tc.n, tc.d, got, tc.want)
		}
	}
}

// TestModelPurgeLogsBatches: the line per batch counts the sessions
// deleted and the indexes swept.
func TestModelPurgeLogsBatches(t *testing.T) {
	t.Parallel()
	m := storetest.NewModel(storetest.ModelOptions{})
	tiers := store.NewTiers(store.Options{Cache: m.Cache(), Durable: m.Durable()})
	ctx := context.Background()
	s := tiers.Open(ctx, func(err error) { t.Error(err) }, nil)
	sess, err := s.Login(nil, store.Login{User: "bob", Timeout: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	past := func(rec tier.Record, _ bool) (tier.Record, error) {
		rec.Expires = time.Now().Add(-time.Minute)
		return rec, nil
	}
	for _, id := range []string{store.IndexID("bob"), sess.ID()} {
		if err := m.Durable().Update(ctx, id, past); err != nil {
			t.Fatal(err)
		}
	}
	// The first run deletes the session's record and marks its entry; the
	// second, two hours later, deletes another record and the index.
	if code, rep := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), AllowNonCron: true}); !completed(code, rep, 1) {
		t.Fatalf("first run: %d %+v, want bob's session deleted", code, rep)
	}
	put(t, m.Durable(), "other", 1, time.Now().Add(-time.Minute))
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	code, rep := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), AllowNonCron: true, Logger: logger, Now: later})
	if !completed(code, rep, 2) {
		t.Errorf("answer = %d %+v, want 200, completed, the other record and bob's index deleted", code, rep)
	}
	if want := `msg="purge: batch deleted" kind=sess_ batch=2 deleted=2 `; !strings.Contains(buf.String(), want) {
		t.Errorf("log %q, want %q", buf.String(), want)
	}
}
