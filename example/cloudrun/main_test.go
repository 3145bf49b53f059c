package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession/cloud/cloudtest"
	"github.com/gaesession/gaesession/example/app/apptest"
	"github.com/gaesession/gaesession/purge"
)

// TestLocal runs the one command, `go run . -local`, in-process: the app
// with its own redis-server and Datastore emulator, then checks over HTTP
// the contract the App Engine example meets too (apptest.Contract), logs
// in, counts, purges and logs out, and checks that everything stops and
// that the sessions' spans and metrics were written out; on Redis and the
// Datastore, and in Datastore-only mode.
func TestLocal(t *testing.T) {
	for _, cache := range []string{"", "datastore"} {
		t.Run("SESSION_CACHE="+cache, func(t *testing.T) { testLocal(t, cache) })
	}
}

func testLocal(t *testing.T, cache string) {
	port := freePort(t)
	for k, v := range map[string]string{
		"PORT": port, "PURGE_SECRET": "s3cret", "REDIS_ADDR": "", "REDIS_CLUSTER": "",
		cloudtest.EmulatorEnv: "", "DATASTORE_PROJECT_ID": "", "SESSION_CACHE": cache,
	} {
		t.Setenv(k, v) // restored when the test ends, also what startLocal sets
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	var tel syncBuffer
	telemetryOut = &tel
	defer func() { telemetryOut = os.Stdout }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, true) }()
	// A test that fails on the way still waits for run to stop its
	// servers: a test binary that ended first would leave them running.
	ended := false
	t.Cleanup(func() {
		if !ended {
			cancel()
			<-errc
		}
	})
	base := "http://localhost:" + port
	waitServing(t, base, errc)

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	apptest.Contract(t, apptest.Target{BaseURL: base})
	if body := do(t, c, "POST", base+"/login", url.Values{"user": {"gopher"}}, nil); !strings.Contains(body, `<b id="count">1</b>`) {
		t.Fatalf("after login: %s", body)
	}
	if body := do(t, c, "GET", base+"/", nil, nil); !strings.Contains(body, `<b id="count">2</b>`) {
		t.Fatalf("after reload: %s", body)
	}
	if body := do(t, c, "POST", base+"/tasks/purge-sessions", nil, nil); !strings.Contains(body, "forbidden") {
		t.Errorf("purge without the secret: %s", body)
	}
	secret := http.Header{purge.SecretHeader: {"s3cret"}}
	if body := do(t, c, "POST", base+"/tasks/purge-sessions", nil, secret); !strings.Contains(body, `"completed":true`) {
		t.Errorf("purge with the secret: %s", body)
	}
	if cache == "datastore" {
		if body := do(t, c, "POST", base+"/tasks/purge-cache", nil, secret); !strings.Contains(body, `"completed":true`) {
			t.Errorf("purge of the cache's kind: %s", body)
		}
	}
	if body := do(t, c, "POST", base+"/logout", url.Values{}, nil); !strings.Contains(body, `id="login"`) {
		t.Fatalf("after logout: %s", body)
	}

	redisAddr := os.Getenv("REDIS_ADDR")
	cancel()
	ended = true
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
	// Flushed at shutdown: the spans of the session work and of the tier
	// calls, and the login counted.
	out := tel.String()
	for _, want := range []string{`"Name":"gaesession session"`, `"gaesession.tier"`, `"gaesession.session.logins"`} {
		if !strings.Contains(out, want) {
			t.Errorf("telemetry written out lacks %s", want)
		}
	}
	if conn, err := net.DialTimeout("tcp", redisAddr, time.Second); err == nil {
		conn.Close()
		t.Errorf("redis-server still serving at %s after the app stopped", redisAddr)
	}
}

// waitServing waits until the app answers, skipping the test when the
// servers are not installed (failing in CI).
func waitServing(t *testing.T, base string, errc chan error) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-errc:
			errc <- err // for the cleanup that waits for run
			if errors.Is(err, cloudtest.ErrNotInstalled) && os.Getenv("GAESESSION_REQUIRE_DEVSERVER") != "1" {
				t.Skip("skipped: ", err)
			}
			t.Fatalf("run ended: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if res, err := http.Get(base + "/"); err == nil {
			res.Body.Close()
			return
		}
	}
	t.Fatal("the app did not start serving")
}

// do sends a request, with form as its body when not nil, and returns the
// body of the answer (after redirects).
func do(t *testing.T, c *http.Client, method, target string, form url.Values, h http.Header) string {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// syncBuffer is a bytes.Buffer safe for the exporters' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
