package purge_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gaesession/gaesession/purge"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
)

// Tests of the handler on the model of the Durable tier: no dev server.

// put stores n records named prefix-000000... expiring at exp.
func put(tb testing.TB, d tier.Durable, prefix string, n int, exp time.Time) {
	tb.Helper()
	for i := range n {
		key := fmt.Sprintf("%s-%06d", prefix, i)
		if err := d.PutMulti(context.Background(), []string{key}, []tier.Record{{Value: []byte("v"), Expires: exp}}); err != nil {
			tb.Fatal(err)
		}
	}
}

// run serves one request with the given headers (name, value, ...) through
// a handler for opts and returns the status and the answer.
func run(t *testing.T, opts purge.Options, headers ...string) (int, report) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	r := httptest.NewRequest(http.MethodGet, "/purge", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return serve(t, purge.Handler(opts), r)
}

// completed reports whether rep is a completed run with n deleted.
func completed(code int, rep report, n int) bool {
	return code == http.StatusOK && isTrue(rep.Completed) && rep.Deleted == n && rep.Error == ""
}

func TestModelPurgeDeletesOnlyExpired(t *testing.T) {
	t.Parallel()
	m := storetest.NewModel(storetest.ModelOptions{})
	put(t, m.Durable(), "expired", 3, time.Now().Add(-time.Hour))
	put(t, m.Durable(), "live", 2, time.Now().Add(time.Hour))
	code, rep := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), AllowNonCron: true})
	if !completed(code, rep, 3) || rep.DurationMS == nil {
		t.Errorf("answer = %d %+v, want 200, completed, 3 deleted, a duration", code, rep)
	}
	if ids := m.IDs(); fmt.Sprint(ids) != "[live-000000 live-000001]" {
		t.Errorf("left %q, want the live records", ids)
	}
}

// TestModelPurgeRunsOnOptionsNow: what has expired is decided by
// Options.Now, the store's clock, not the wall clock.
func TestModelPurgeRunsOnOptionsNow(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	m := storetest.NewModel(storetest.ModelOptions{Now: func() time.Time { return now }})
	put(t, m.Durable(), "old", 2, now.Add(-time.Minute))
	put(t, m.Durable(), "new", 1, now.Add(time.Minute))
	code, rep := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), AllowNonCron: true, Now: func() time.Time { return now }})
	if !completed(code, rep, 2) {
		t.Errorf("answer = %d %+v, want 200, completed, 2 deleted", code, rep)
	}
	if ids := m.IDs(); fmt.Sprint(ids) != "[new-000000]" {
		t.Errorf("left %q, want the record that expires after Options.Now", ids)
	}
}

// TestModelPurgeKeepsIndexesOfLiveSessions: an expired index of a user with
// a live session is kept, with that session's expiry; one whose sessions
// all expired goes with them: the first run deletes the session's record
// and marks its entry, a run an hour later ends the session in both tiers
// and deletes the index.
func TestModelPurgeKeepsIndexesOfLiveSessions(t *testing.T) {
	t.Parallel()
	m := storetest.NewModel(storetest.ModelOptions{})
	tiers := store.NewTiers(store.Options{Cache: m.Cache(), Durable: m.Durable()})
	ctx := context.Background()
	ids := loginAll(t, tiers, "ann", "bob")
	expire(t, m, store.IndexID("ann"), store.IndexID("bob"), ids["bob"])
	code, rep := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), AllowNonCron: true})
	if !completed(code, rep, 1) {
		t.Errorf("answer = %d %+v, want 200, completed, bob's session deleted", code, rep)
	}
	code, rep = run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), AllowNonCron: true, Now: hoursLater(2)})
	if !completed(code, rep, 1) {
		t.Errorf("an hour later: answer = %d %+v, want 200, completed, bob's index deleted", code, rep)
	}
	// Bob's session was ended in both tiers before its entry went: its
	// tombstone record stays until it expires.
	want := []string{ids["ann"], store.IndexID("ann"), ids["bob"] + tier.EndSuffix}
	slices.Sort(want)
	if got := m.IDs(); !slices.Equal(got, want) {
		t.Errorf("%d records left, want ann's session and index, and bob's tombstone", len(got))
	}
	ix, _ := m.Record(store.IndexID("ann"))
	sess, _ := m.Record(ids["ann"])
	if !ix.Expires.Equal(sess.Expires) {
		t.Errorf("ann's index expires %v, want with her session, %v", ix.Expires, sess.Expires)
	}
	if devs, err := tiers.Devices(ctx, "ann", ""); err != nil || len(devs) != 1 {
		t.Errorf("ann's devices after the purge: %v, %v; want 1", devs, err)
	}
}

// loginAll logs each user in once, with sessions that outlive the hours
// the tests move purge's clock by, and returns their IDs by user.
func loginAll(t *testing.T, tiers *store.Tiers, users ...string) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, user := range users {
		s := tiers.Open(context.Background(), func(err error) { t.Error(err) }, nil)
		sess, err := s.Login(nil, store.Login{User: user, Timeout: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		ids[user] = sess.ID()
	}
	return ids
}

// expire makes the records expired a minute ago.
func expire(t *testing.T, m *storetest.Model, ids ...string) {
	t.Helper()
	past := func(rec tier.Record, _ bool) (tier.Record, error) {
		rec.Expires = time.Now().Add(-time.Minute)
		return rec, nil
	}
	for _, id := range ids {
		if err := m.Durable().Update(context.Background(), id, past); err != nil {
			t.Fatal(err)
		}
	}
}

// hoursLater is a purge clock n hours ahead of the wall clock.
func hoursLater(n int) func() time.Time {
	return func() time.Time { return time.Now().Add(time.Duration(n) * time.Hour) }
}

func TestModelPurgeSecret(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-s3cret-s3cret"
	for _, tt := range []struct {
		name, header, value string
		want                int
	}{
		{"right secret", purge.SecretHeader, secret, http.StatusOK},
		{"wrong secret", purge.SecretHeader, secret + "x", http.StatusForbidden},
		{"empty secret", purge.SecretHeader, "", http.StatusForbidden},
		{"cron header only", "X-Appengine-Cron", "true", http.StatusForbidden},
	} {
		m := storetest.NewModel(storetest.ModelOptions{})
		put(t, m.Durable(), "expired", 2, time.Now().Add(-time.Hour))
		// AllowNonCron does not open a door that has a Secret.
		code, rep := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), Secret: secret, AllowNonCron: true}, tt.header, tt.value)
		left := len(m.IDs())
		if code != tt.want || tt.want == http.StatusOK && left != 0 ||
			tt.want == http.StatusForbidden && (left != 2 || !strings.Contains(rep.Error, purge.SecretHeader)) {
			t.Errorf("%s: %d %+v with %d records left, want %d", tt.name, code, rep, left, tt.want)
		}
	}
}

// TestModelPurgeCronOnly: without Secret, on App Engine, only App Engine
// cron's header lets a request in (not parallel: it sets GAE_ENV).
func TestModelPurgeCronOnly(t *testing.T) {
	t.Setenv("GAE_ENV", "standard")
	for _, tt := range []struct {
		name, value string // of X-Appengine-Cron; "" for none
		want        int
	}{
		{"cron", "true", http.StatusOK},
		{"no header", "", http.StatusForbidden},
		{"header false", "false", http.StatusForbidden},
	} {
		m := storetest.NewModel(storetest.ModelOptions{})
		put(t, m.Durable(), "expired", 2, time.Now().Add(-time.Hour))
		var headers []string
		if tt.value != "" {
			headers = []string{"X-Appengine-Cron", tt.value}
		}
		code, rep := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache()}, headers...)
		if left := len(m.IDs()); code != tt.want || (left == 0) != (tt.want == http.StatusOK) {
			t.Errorf("%s: %d %+v with %d records left, want %d", tt.name, code, rep, left, tt.want)
		}
		if code == http.StatusForbidden && (rep.Error == "" || rep.Completed != nil) {
			t.Errorf("%s: 403 answer %+v, want only an error", tt.name, rep)
		}
	}
}

// TestModelPurgeOnCloudRun: with K_SERVICE set (GAE_ENV not) the cron
// header proves nothing (not parallel: it sets K_SERVICE and GAE_ENV).
func TestModelPurgeOnCloudRun(t *testing.T) {
	t.Setenv("K_SERVICE", "app")
	t.Setenv("GAE_ENV", "")
	m := storetest.NewModel(storetest.ModelOptions{})
	put(t, m.Durable(), "expired", 2, time.Now().Add(-time.Hour))
	code, rep := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache()}, "X-Appengine-Cron", "true")
	if code != http.StatusForbidden || !strings.Contains(rep.Error, "Secret") || len(m.IDs()) != 2 {
		t.Errorf("cron header on Cloud Run: %d %+v, want 403 naming Secret, nothing deleted", code, rep)
	}
	code, rep = run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), Secret: "s"}, purge.SecretHeader, "s")
	if !completed(code, rep, 2) {
		t.Errorf("secret on Cloud Run: %d %+v, want 200, completed, 2 deleted", code, rep)
	}
}

// TestModelPurgeStopsAtDeadline: the default deadline passes while a
// DeleteMulti is in flight: the run ends, not completed, without an error.
func TestModelPurgeStopsAtDeadline(t *testing.T) {
	t.Parallel()
	var dl testDeadline
	var calls atomic.Int32
	m := storetest.NewModel(storetest.ModelOptions{Before: func(ctx context.Context, op, _ string) error {
		if op == "durable.DeleteMulti" {
			calls.Add(1)
			dl.pass()
			return hold(ctx)
		}
		return nil
	}})
	put(t, m.Durable(), "expired", 3, time.Now().Add(-time.Hour))
	h := purge.Handler(purge.Options{Durable: m.Durable(), Cache: m.Cache(), AllowNonCron: true, Logger: testLogger(t)})
	dl.install(h)
	before := time.Now()
	code, rep := serve(t, h, httptest.NewRequest(http.MethodGet, "/purge", nil))
	dl.check(t, 8*time.Minute, before, time.Now())
	if n := calls.Load(); n != 1 {
		t.Errorf("DeleteMulti called %d times, want 1", n)
	}
	if code != http.StatusOK || !isFalse(rep.Completed) || rep.Deleted != 0 || rep.Error != "" {
		t.Errorf("answer = %d %+v, want 200, not completed, 0 deleted, no error", code, rep)
	}
	if n := len(m.IDs()); n != 3 {
		t.Errorf("%d records left, want 3", n)
	}
}

func TestModelPurgeDeleteFailure(t *testing.T) {
	t.Parallel()
	injected := errors.New("injected DeleteMulti failure")
	m := storetest.NewModel(storetest.ModelOptions{Before: func(_ context.Context, op, _ string) error {
		if op == "durable.DeleteMulti" {
			return injected
		}
		return nil
	}})
	put(t, m.Durable(), "expired", 3, time.Now().Add(-time.Hour))
	code, rep := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), AllowNonCron: true})
	if code != http.StatusInternalServerError || !isFalse(rep.Completed) ||
		!strings.Contains(rep.Error, injected.Error()) || !strings.Contains(rep.Error, "deleting 3 expired sessions") {
		t.Errorf("answer = %d %+v, want 500, not completed, the error", code, rep)
	}
	if n := len(m.IDs()); n != 3 {
		t.Errorf("%d records left, want 3", n)
	}
}

// batchSizes is a Durable that records the size of each DeleteMulti.
type batchSizes struct {
	tier.Durable
	mu    sync.Mutex
	sizes []int
}

func (b *batchSizes) DeleteMulti(ctx context.Context, ids []string) error {
	b.mu.Lock()
	b.sizes = append(b.sizes, len(ids))
	b.mu.Unlock()
	return b.Durable.DeleteMulti(ctx, ids)
}

func TestModelPurgeDeletesInBatches(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	m := storetest.NewModel(storetest.ModelOptions{Before: func(_ context.Context, op, _ string) error {
		if op == "durable.DeleteMulti" {
			calls.Add(1)
		}
		return nil
	}})
	const n = 2*tier.MaxBatch + 1
	put(t, m.Durable(), "expired", n, time.Now().Add(-time.Hour))
	put(t, m.Durable(), "live", 3, time.Now().Add(time.Hour))
	d := &batchSizes{Durable: m.Durable()}
	code, rep := run(t, purge.Options{Durable: d, AllowNonCron: true, Logger: quietLogger()})
	if !completed(code, rep, n) {
		t.Errorf("answer = %d %+v, want 200, completed, %d deleted", code, rep, n)
	}
	slices.Sort(d.sizes)
	if fmt.Sprint(d.sizes) != fmt.Sprint([]int{1, tier.MaxBatch, tier.MaxBatch}) || calls.Load() != 3 {
		t.Errorf("DeleteMulti batches %v (%d calls), want 1, %d and %d", d.sizes, calls.Load(), tier.MaxBatch, tier.MaxBatch)
	}
	if left := len(m.IDs()); left != 3 {
		t.Errorf("%d records left, want the 3 live", left)
	}
}

// TestModelPurgeWithoutCacheKeepsEntries: a purge given a Durable tier but
// no Cache cannot end a session in the Cache, so it keeps the entry of a
// user's expired session listed (revocations still reach it): the run
// goes on deleting what else expired, and answers with an error naming the
// missing option. With the Cache, the next run ends the session and drops
// it.
func TestModelPurgeWithoutCacheKeepsEntries(t *testing.T) {
	t.Parallel()
	m := storetest.NewModel(storetest.ModelOptions{})
	tiers := store.NewTiers(store.Options{Cache: m.Cache(), Durable: m.Durable()})
	sess := loginAll(t, tiers, "cy")["cy"]
	expire(t, m, store.IndexID("cy"), sess)
	code, rep := run(t, purge.Options{Durable: m.Durable(), AllowNonCron: true, Logger: quietLogger()})
	if !completed(code, rep, 1) { // the session's record; its entry marked
		t.Errorf("first run: %d %+v, want 200, the session's record deleted", code, rep)
	}
	put(t, m.Durable(), "other", 3, time.Now().Add(-time.Minute))
	code, rep = run(t, purge.Options{Durable: m.Durable(), AllowNonCron: true, Logger: quietLogger(), Now: hoursLater(2)})
	if code != http.StatusInternalServerError || !strings.Contains(rep.Error, "Options.Cache") || rep.Deleted != 3 {
		t.Errorf("without a Cache: %d %+v, want 500 naming Options.Cache, the 3 other records deleted", code, rep)
	}
	if strings.Count(rep.Error, "Options.Cache") != 1 {
		t.Errorf("without a Cache: error %q, want the option named once", rep.Error)
	}
	if _, ok := m.Record(store.IndexID("cy")); !ok {
		t.Error("without a Cache the index went, want it kept")
	}
	if it, ok := m.CacheItem(sess); !ok || it.Flags != 0 && it.Flags != tier.FlagUnconfirmed {
		t.Errorf("without a Cache the session's Cache item is %+v, %v; want it untouched", it, ok)
	}
	code, rep = run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), AllowNonCron: true, Now: hoursLater(2)})
	if code != http.StatusOK || rep.Error != "" {
		t.Errorf("with the Cache: %d %+v, want 200", code, rep)
	}
	if _, ok := m.Record(store.IndexID("cy")); ok {
		t.Error("with the Cache the index is still stored")
	}
	if it, ok := m.CacheItem(sess); !ok || it.Flags != tier.FlagRemoved {
		t.Errorf("with the Cache the session's Cache item is %+v, %v; want a tombstone", it, ok)
	}
}

// TestModelPurgeRefusesAnotherKeyPrefix: a purge whose KeyPrefix is not the
// store's would end sessions under Cache keys they do not have, and drop
// entries of sessions still readable: it leaves such an index as it is and
// answers with an error naming KeyPrefix. With the store's, it sweeps it.
func TestModelPurgeRefusesAnotherKeyPrefix(t *testing.T) {
	t.Parallel()
	m := storetest.NewModel(storetest.ModelOptions{})
	tiers := store.NewTiers(store.Options{Cache: m.Cache(), Durable: m.Durable(), KeyPrefix: "app:"})
	sess := loginAll(t, tiers, "kit")["kit"]
	expire(t, m, store.IndexID("kit"), sess)
	for _, now := range []func() time.Time{nil, hoursLater(2)} {
		code, rep := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), AllowNonCron: true, Logger: quietLogger(), Now: now})
		if code != http.StatusInternalServerError || !strings.Contains(rep.Error, "KeyPrefix") {
			t.Errorf("another KeyPrefix: %d %+v, want 500 naming KeyPrefix", code, rep)
		}
	}
	if _, ok := m.Record(store.IndexID("kit")); !ok {
		t.Fatal("with another KeyPrefix the index went, want it kept")
	}
	if it, ok := m.CacheItem("app:" + sess); !ok || it.Flags != 0 && it.Flags != tier.FlagUnconfirmed {
		t.Errorf("with another KeyPrefix the session's Cache item is %+v, %v; want it untouched", it, ok)
	}
	for _, now := range []func() time.Time{nil, hoursLater(2)} {
		code, rep := run(t, purge.Options{Durable: m.Durable(), Cache: m.Cache(), KeyPrefix: "app:", AllowNonCron: true, Now: now})
		if code != http.StatusOK || rep.Error != "" {
			t.Errorf("the store's KeyPrefix: %d %+v, want 200", code, rep)
		}
	}
	if _, ok := m.Record(store.IndexID("kit")); ok {
		t.Error("with the store's KeyPrefix the index is still stored")
	}
	if it, ok := m.CacheItem("app:" + sess); !ok || it.Flags != tier.FlagRemoved {
		t.Errorf("with the store's KeyPrefix the session's Cache item is %+v, %v; want a tombstone", it, ok)
	}
}
