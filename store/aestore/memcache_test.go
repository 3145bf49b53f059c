package aestore_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/aestore"
	"github.com/icza/session"
	"google.golang.org/appengine/v2/memcache"
)

func TestMemcacheTTL(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	const day = 24 * time.Hour
	cases := []struct {
		name string
		exp  time.Time
		want time.Duration
	}{
		{"zero: never expires", time.Time{}, 0},
		{"in half a second: a second", now.Add(500 * time.Millisecond), time.Second},
		{"already past: a second", now.Add(-time.Hour), time.Second},
		{"a second", now.Add(time.Second), time.Second},
		{"30 minutes", now.Add(30 * time.Minute), 30 * time.Minute},
		{"30 days", now.Add(30 * day), 30 * day},
		{"31 days: capped to 30", now.Add(31 * day), 30 * day},
		{"a year: capped to 30 days", now.Add(365 * day), 30 * day},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := aestore.MemcacheTTL(tc.exp, now); got != tc.want {
				t.Errorf("MemcacheTTL(now+%v) = %v, want %v", tc.exp.Sub(now), got, tc.want)
			}
		})
	}
}

// TestCodecsMatchMemcache: store.Gob and store.JSON write the bytes of
// App Engine's memcache.Gob and memcache.JSON, and read them back, so that
// the storage format stays icza/gaesession's.
func TestCodecsMatchMemcache(t *testing.T) {
	t.Parallel()
	sess := session.NewSessionOptions(&session.SessOptions{
		// One attribute: gob writes a map in its iteration order, which
		// is random, so only a map of one entry has one encoding.
		Attrs:   map[string]any{"UserName": "ada"},
		Timeout: 17 * time.Minute,
	})
	cases := []struct {
		name string
		ours store.Codec
		ae   memcache.Codec
	}{
		{"Gob", store.Gob, memcache.Gob},
		{"JSON", store.JSON, memcache.JSON},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.ours.Marshal(sess)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tc.ae.Marshal(sess)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("store.%s wrote\n%x\nmemcache.%s\n%x", tc.name, got, tc.name, want)
			}
			back := session.NewSession()
			if err := tc.ours.Unmarshal(want, back); err != nil {
				t.Fatalf("store.%s reads memcache.%s's bytes: %v", tc.name, tc.name, err)
			}
			if back.ID() != sess.ID() || back.Attr("UserName") != "ada" || back.Timeout() != sess.Timeout() {
				t.Errorf("store.%s read back ID %q, UserName %v, timeout %v", tc.name, back.ID(), back.Attr("UserName"), back.Timeout())
			}
		})
	}
	// A memcache.Codec converts to a store.Codec, as README's upgrade notes say.
	if c := (*store.Codec)(&memcache.JSON); c.Marshal == nil {
		t.Error("converted codec has no Marshal")
	}
}
