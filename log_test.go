package gaesession_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/gaesession/gaesession/store"
)

// TestDebugLogs: each load, save and removal is logged at level Debug with
// its operation, tiers, duration and the session's short ID, never the ID.
func TestDebugLogs(t *testing.T) {
	var logged logBuffer
	_, c := setup(t, gaesession.Options{Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	get(t, c, "/?op=new&a=1")
	id := sessionID(t, c)
	get(t, c, "/") // vouches for the new session: both tiers
	get(t, c, "/")
	get(t, c, "/?op=remove")
	short := "session=" + store.ShortID(id)
	for op, tier := range map[string]string{"save": "memcache,datastore", "get": "memcache", "remove": "memcache,datastore"} {
		found := false
		for _, line := range strings.SplitAfter(logged.String(), "\n") {
			if strings.Contains(line, "op="+op+" ") && strings.Contains(line, short) && strings.Contains(line, "tier="+tier+" ") &&
				strings.Contains(line, "duration=") && strings.Contains(line, "level=DEBUG") {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no complete Debug line for %s in:\n%s", op, logged.String())
		}
	}
	if logged.contains(id) {
		t.Errorf("the session ID was logged")
	}
}

// TestCloudLogging: on App Engine, the default logger writes JSON lines to
// stdout with Cloud Logging's fields and the request's trace.
func TestCloudLogging(t *testing.T) {
	t.Setenv("GAE_ENV", "standard")
	t.Setenv("GOOGLE_CLOUD_PROJECT", "proj")
	stdout := os.Stdout
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout = pw
	opts, _ := setup(t, gaesession.Options{})
	mw := mw(opts) // takes its default logger now
	os.Stdout = stdout
	var logged logBuffer
	copied := make(chan struct{})
	go func() { io.Copy(&logged, pr); close(copied) }()

	c := gaesessiontest.NewClient(t, mw(gaesessiontest.App))
	rec := rpcs{fail: failService("datastore_v3")}
	r := rec.wrap(gaesessiontest.NewRequest(t, http.MethodGet, "/?op=new&a=1", nil))
	r.Header.Set("X-Cloud-Trace-Context", "0af7651916cd43dd8448eb211c80319c/1;o=1")
	gaesessiontest.Body(t, c.Do(r))
	pw.Close()
	<-copied
	lines := strings.Split(strings.TrimSpace(logged.String()), "\n")
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatalf("not a JSON line: %q: %v", lines[0], err)
	}
	want := map[string]string{
		"severity":                     "ERROR",
		"message":                      "gaesession: store failure",
		"logging.googleapis.com/trace": "projects/proj/traces/0af7651916cd43dd8448eb211c80319c",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %q (line %s)", k, line[k], v, lines[0])
		}
	}
	if logged.contains(sessionID(t, c)) {
		t.Errorf("the session ID was logged")
	}
}

// TestDefaultLogger: slog.Default() off App Engine; on it, JSON lines on
// stdout under the request's trace.
func TestDefaultLogger(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/tasks/purge-sessions", nil)
	r.Header.Set("X-Cloud-Trace-Context", "0af7651916cd43dd8448eb211c80319c/1;o=1")
	t.Setenv("GAE_ENV", "")
	if gaesession.DefaultLogger(r) != slog.Default() {
		t.Error("off App Engine: not slog.Default()")
	}
	t.Setenv("GAE_ENV", "standard")
	t.Setenv("GOOGLE_CLOUD_PROJECT", "proj")
	stdout := os.Stdout
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout = pw
	log := gaesession.DefaultLogger(r)
	os.Stdout = stdout
	log.Info("purge: done")
	pw.Close()
	b, _ := io.ReadAll(pr)
	if !strings.Contains(string(b), `"logging.googleapis.com/trace":"projects/proj/traces/0af7651916cd43dd8448eb211c80319c"`) ||
		!strings.Contains(string(b), `"severity":"INFO"`) {
		t.Errorf("on App Engine: %s", b)
	}
}
