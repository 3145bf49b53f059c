package purge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/appengine/v2"
	"google.golang.org/appengine/v2/datastore"
	"google.golang.org/protobuf/runtime/protoiface"

	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/purge"
)

func TestMain(m *testing.M) {
	code := m.Run()
	gaesessiontest.Close()
	os.Exit(code)
}

// entity is a session entity as gaesession writes it.
type entity struct {
	Expires time.Time `datastore:"exp"`
	Value   []byte    `datastore:"val,noindex"`
}

// oldEntity is a session entity exactly as icza/gaesession wrote it.
type oldEntity struct {
	Expires time.Time `datastore:"exp"`
	Value   []byte    `datastore:"val"`
}

// report mirrors the handler's JSON answer.
type report struct {
	Completed  *bool  `json:"completed"`
	Deleted    int    `json:"deleted"`
	DurationMS *int64 `json:"duration_ms"`
	Error      string `json:"error"`
}

// String shows rep's values, not the addresses its pointers hold.
func (rep report) String() string {
	return fmt.Sprintf("{Completed:%s Deleted:%d DurationMS:%s Error:%q}",
		deref(rep.Completed), rep.Deleted, deref(rep.DurationMS), rep.Error)
}

// deref returns *p as text, or "absent" for nil.
func deref[T any](p *T) string {
	if p == nil {
		return "absent"
	}
	return fmt.Sprint(*p)
}

// isTrue and isFalse report whether p is present and true, or false.
func isTrue(p *bool) bool  { return p != nil && *p }
func isFalse(p *bool) bool { return p != nil && !*p }

// kindFor returns an entity kind of tb's own, so that tests sharing the dev
// server don't see each other's entities.
func kindFor(tb testing.TB) string {
	tb.Helper()
	return "purgetest_" + strings.NewReplacer("/", "_", " ", "_").Replace(tb.Name())
}

// seed stores n session entities of kind expiring at exp, in PutMulti
// batches of 500. Their key names start with prefix.
func seed(tb testing.TB, ctx context.Context, kind, prefix string, n int, exp time.Time) {
	tb.Helper()
	for lo := 0; lo < n; lo += 500 {
		hi := min(lo+500, n)
		keys := make([]*datastore.Key, 0, hi-lo)
		ents := make([]entity, 0, hi-lo)
		for i := lo; i < hi; i++ {
			keys = append(keys, datastore.NewKey(ctx, kind, fmt.Sprintf("%s-%06d", prefix, i), 0, nil))
			ents = append(ents, entity{Expires: exp, Value: []byte("session data")})
		}
		if _, err := datastore.PutMulti(ctx, keys, ents); err != nil {
			tb.Fatalf("seeding %d entities of kind %s: %v", n, kind, err)
		}
	}
}

// count returns the number of entities of kind.
func count(tb testing.TB, ctx context.Context, kind string) int {
	tb.Helper()
	keys, err := datastore.NewQuery(kind).KeysOnly().GetAll(ctx, nil)
	if err != nil {
		tb.Fatalf("counting entities of kind %s: %v", kind, err)
	}
	return len(keys)
}

// purgeRequest returns a purge request routed to the dev server, without
// the cron header: tests of what a run does open the door with AllowNonCron
// and may run in parallel; those of the door set GAE_ENV.
func purgeRequest(tb testing.TB) *http.Request {
	tb.Helper()
	return gaesessiontest.NewRequest(tb, http.MethodGet, "/purge", nil)
}

// serve runs r through h and decodes the JSON answer.
func serve(tb testing.TB, h http.Handler, r *http.Request) (int, report) {
	tb.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Code, decode(tb, rec)
}

// decode checks the Content-Type of rec and decodes its JSON body.
func decode(tb testing.TB, rec *httptest.ResponseRecorder) report {
	tb.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		tb.Errorf("Content-Type = %q, want application/json", ct)
	}
	var rep report
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		tb.Fatalf("decoding answer %q: %v", rec.Body, err)
	}
	return rep
}

// testLogger returns a logger that writes to t's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, nil))
}

// testWriter writes each line to a test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// quietLogger returns a logger that drops everything.
func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// withAPICall returns r with f wrapped around its App Engine API calls.
func withAPICall(r *http.Request, f appengine.APICallFunc) *http.Request {
	return r.WithContext(appengine.WithAPICallFunc(r.Context(), f))
}

func TestPurgeDeletesOnlyExpired(t *testing.T) {
	t.Parallel()
	ctx := gaesessiontest.Context(t)
	kind := kindFor(t)
	seed(t, ctx, kind, "expired", 1200, time.Now().Add(-time.Hour))
	seed(t, ctx, kind, "live", 5, time.Now().Add(time.Hour))

	var logs bytes.Buffer
	h := purge.Handler(purge.Options{
		DSEntityName: kind,
		AllowNonCron: true,
		Logger:       slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	code, rep := serve(t, h, purgeRequest(t))
	if code != http.StatusOK || !isTrue(rep.Completed) || rep.Deleted != 1200 || rep.Error != "" {
		t.Errorf("answer = %d %+v, want 200, completed, 1200 deleted", code, rep)
	}
	if rep.DurationMS == nil {
		t.Error("answer has no duration_ms")
	}
	if n := count(t, ctx, kind); n != 5 {
		t.Errorf("%d entities left, want the 5 live ones", n)
	}

	if !strings.Contains(logs.String(), `"msg":"purge: batch deleted"`) ||
		!strings.Contains(logs.String(), `"msg":"purge: done"`) {
		t.Errorf("log lacks batch or summary lines:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "expired-0") {
		t.Errorf("log shows session IDs:\n%s", logs.String())
	}

	// A second run finds nothing left to do.
	code, rep = serve(t, h, purgeRequest(t))
	if code != http.StatusOK || !isTrue(rep.Completed) || rep.Deleted != 0 {
		t.Errorf("second answer = %d %+v, want 200, completed, 0 deleted", code, rep)
	}
}

func TestPurgeOldFormat(t *testing.T) {
	t.Parallel()
	ctx := gaesessiontest.Context(t)
	kind := kindFor(t)
	keys := []*datastore.Key{
		datastore.NewKey(ctx, kind, "old-expired", 0, nil),
		datastore.NewKey(ctx, kind, "old-live", 0, nil),
	}
	ents := []oldEntity{
		{Expires: time.Now().Add(-time.Minute), Value: []byte{1, 2, 3}},
		{Expires: time.Now().Add(time.Hour), Value: []byte{4, 5, 6}},
	}
	if _, err := datastore.PutMulti(ctx, keys, ents); err != nil {
		t.Fatal(err)
	}

	code, rep := serve(t, purge.Handler(purge.Options{DSEntityName: kind, AllowNonCron: true, Logger: testLogger(t)}), purgeRequest(t))
	if code != http.StatusOK || !isTrue(rep.Completed) || rep.Deleted != 1 {
		t.Errorf("answer = %d %+v, want 200, completed, 1 deleted", code, rep)
	}
	var got oldEntity
	if err := datastore.Get(ctx, keys[0], &got); !errors.Is(err, datastore.ErrNoSuchEntity) {
		t.Errorf("expired entity: Get error = %v, want ErrNoSuchEntity", err)
	}
	if err := datastore.Get(ctx, keys[1], &got); err != nil {
		t.Errorf("live entity: %v", err)
	}
}

func TestPurgeDefaultKind(t *testing.T) {
	t.Parallel()
	ctx := gaesessiontest.Context(t)
	seed(t, ctx, "sess_", "default", 3, time.Now().Add(-time.Second))
	code, rep := serve(t, purge.Handler(purge.Options{AllowNonCron: true, Logger: testLogger(t)}), purgeRequest(t))
	if code != http.StatusOK || !isTrue(rep.Completed) || rep.Deleted != 3 {
		t.Errorf("answer = %d %+v, want 200, completed, 3 deleted", code, rep)
	}
}

// TestPurgeStopsAtDeadline: the deadline passes as the first batch's delete
// ends, while the other batch's hangs: the run stops, not completed, without
// an error, with that batch counted.
func TestPurgeStopsAtDeadline(t *testing.T) {
	t.Parallel()
	ctx := gaesessiontest.Context(t)
	kind := kindFor(t)
	const total = 1000
	seed(t, ctx, kind, "expired", total, time.Now().Add(-time.Hour))

	var dl testDeadline
	var deletes atomic.Int32
	r := withAPICall(purgeRequest(t), func(ctx context.Context, service, method string, in, out protoiface.MessageV1) error {
		if method != "Delete" {
			return appengine.APICall(ctx, service, method, in, out)
		}
		if deletes.Add(1) > 1 {
			return hold(ctx)
		}
		err := appengine.APICall(ctx, service, method, in, out)
		dl.pass()
		return err
	})
	const deadline = 10 * time.Second
	h := purge.Handler(purge.Options{DSEntityName: kind, Deadline: deadline, AllowNonCron: true, Logger: testLogger(t)})
	dl.install(h)
	before := time.Now()
	code, rep := serve(t, h, r)
	dl.check(t, deadline, before, time.Now())
	if code != http.StatusOK || !isFalse(rep.Completed) || rep.Deleted != 500 || rep.Error != "" {
		t.Errorf("answer = %d %+v, want 200, not completed, 500 deleted, no error", code, rep)
	}
	if left := count(t, ctx, kind); left != total-500 {
		t.Errorf("%d entities left, want %d", left, total-500)
	}
}

// TestPurgeSecret: with Options.Secret, only the secret header lets a
// request in, in constant time, whatever AllowNonCron says; the cron header
// alone does not, even on App Engine. Off App Engine (Cloud Run here) the
// cron header is refused. Not parallel: it sets GAE_ENV and K_SERVICE.
func TestPurgeSecret(t *testing.T) {
	const secret = "s3cret-s3cret-s3cret"
	t.Setenv("GAE_ENV", "standard")
	for _, tt := range []struct {
		name, header, value string
		allowNonCron        bool
		want                int
	}{
		{"right secret", purge.SecretHeader, secret, false, http.StatusOK},
		{"wrong secret", purge.SecretHeader, secret + "x", false, http.StatusForbidden},
		{"cron header only", "X-Appengine-Cron", "true", false, http.StatusForbidden},
		{"AllowNonCron, no secret", "", "", true, http.StatusForbidden},
		{"AllowNonCron, right secret", purge.SecretHeader, secret, true, http.StatusOK},
	} {
		h := purge.Handler(purge.Options{DSEntityName: kindFor(t), Secret: secret, AllowNonCron: tt.allowNonCron, Logger: testLogger(t)})
		r := purgeRequest(t)
		if tt.header != "" {
			r.Header.Set(tt.header, tt.value)
		}
		if code, _ := serve(t, h, r); code != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, code, tt.want)
		}
	}
	t.Setenv("GAE_ENV", "")
	t.Setenv("K_SERVICE", "app")
	h := purge.Handler(purge.Options{DSEntityName: kindFor(t), Logger: testLogger(t)})
	r := purgeRequest(t)
	r.Header.Set("X-Appengine-Cron", "true")
	if code, rep := serve(t, h, r); code != http.StatusForbidden || !strings.Contains(rep.Error, "Secret") {
		t.Errorf("cron header on Cloud Run: %d %+v, want 403 naming Secret", code, rep)
	}
}

func TestPurgeStopsWhenRequestCanceled(t *testing.T) {
	t.Parallel()
	ctx := gaesessiontest.Context(t)
	kind := kindFor(t)
	const total = 1200
	seed(t, ctx, kind, "expired", total, time.Now().Add(-time.Hour))

	r := purgeRequest(t)
	rctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// The client goes away as the first batch is about to be deleted.
	r = withAPICall(r.WithContext(rctx), func(ctx context.Context, service, method string, in, out protoiface.MessageV1) error {
		if method == "Delete" {
			cancel()
		}
		return appengine.APICall(ctx, service, method, in, out)
	})
	code, rep := serve(t, purge.Handler(purge.Options{DSEntityName: kind, AllowNonCron: true, Logger: testLogger(t)}), r)
	if code != http.StatusOK || !isFalse(rep.Completed) || rep.Deleted >= total || rep.Error != "" {
		t.Errorf("answer = %d %+v, want 200, not completed, fewer than %d deleted, no error", code, rep, total)
	}
	if left := count(t, ctx, kind); left == 0 || left+rep.Deleted > total {
		t.Errorf("%d entities left after %d reported deleted of %d", left, rep.Deleted, total)
	}
}

func TestPurgeDatastoreError(t *testing.T) {
	gaesessiontest.Start(t) // every subtest needs the dev server
	t.Parallel()
	tests := []struct {
		name   string
		method string // datastore_v3 method that fails
		want   string // in the error
	}{
		{"query start", "RunQuery", "querying expired sessions"},
		{"query next batch", "Next", "querying expired sessions"},
		{"delete", "Delete", "deleting 500 expired sessions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := gaesessiontest.Context(t)
			kind := kindFor(t)
			const total = 1200 // more than one query batch
			seed(t, ctx, kind, "expired", total, time.Now().Add(-time.Hour))

			injected := errors.New("injected failure")
			r := withAPICall(purgeRequest(t), func(ctx context.Context, service, method string, in, out protoiface.MessageV1) error {
				if service == "datastore_v3" && method == tt.method {
					return injected
				}
				return appengine.APICall(ctx, service, method, in, out)
			})
			code, rep := serve(t, purge.Handler(purge.Options{DSEntityName: kind, AllowNonCron: true, Logger: testLogger(t)}), r)
			if code != http.StatusInternalServerError || !isFalse(rep.Completed) ||
				!strings.Contains(rep.Error, tt.want) || !strings.Contains(rep.Error, injected.Error()) {
				t.Errorf("answer = %d %+v, want 500, not completed, error with %q and %q", code, rep, tt.want, injected)
			}
			// A delete canceled in flight may have been done all the same.
			if left := count(t, ctx, kind); left == 0 || left+rep.Deleted > total {
				t.Errorf("%d entities left after %d reported deleted of %d", left, rep.Deleted, total)
			}
		})
	}
}

// TestPurgeCronOnly: without Secret, the cron header lets a request in on
// App Engine (GAE_ENV=standard) only: not on a VM, GKE or the development
// server (GAE_ENV=localdev), where anyone can send it. Not parallel: it
// sets GAE_ENV.
func TestPurgeCronOnly(t *testing.T) {
	gaesessiontest.Start(t) // every subtest needs the dev server
	tests := []struct {
		name         string
		gaeEnv       string
		header       string // value of X-Appengine-Cron, "" for none
		allowNonCron bool
		wantCode     int
	}{
		{"no header", "standard", "", false, http.StatusForbidden},
		{"header false", "standard", "false", false, http.StatusForbidden},
		{"cron", "standard", "true", false, http.StatusOK},
		{"cron header on a VM", "", "true", false, http.StatusForbidden},
		{"cron header on the dev server", "localdev", "true", false, http.StatusForbidden},
		{"no header allowed", "", "", true, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GAE_ENV", tt.gaeEnv)
			ctx := gaesessiontest.Context(t)
			kind := kindFor(t)
			seed(t, ctx, kind, "expired", 2, time.Now().Add(-time.Hour))

			r := purgeRequest(t)
			if tt.header != "" {
				r.Header.Set("X-Appengine-Cron", tt.header)
			}
			h := purge.Handler(purge.Options{DSEntityName: kind, AllowNonCron: tt.allowNonCron, Logger: testLogger(t)})
			code, rep := serve(t, h, r)
			if code != tt.wantCode {
				t.Errorf("status = %d, want %d (answer %+v)", code, tt.wantCode, rep)
			}
			wantLeft := 0
			if tt.wantCode == http.StatusForbidden {
				wantLeft = 2
				if rep.Error == "" || rep.Completed != nil {
					t.Errorf("403 answer = %+v, want only an error", rep)
				}
			}
			if left := count(t, ctx, kind); left != wantLeft {
				t.Errorf("%d entities left, want %d", left, wantLeft)
			}
		})
	}
}

func TestHandlerNegativeDeadlinePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Handler with a negative Deadline did not panic")
		}
	}()
	purge.Handler(purge.Options{Deadline: -time.Second})
}
