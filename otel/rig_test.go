package otel_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	gotel "github.com/gaesession/gaesession/otel"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// rig is an app whose sessions are traced and measured by the SDK, with an
// in-memory span recorder and a manual metric reader (delta temporality:
// each collect gives what happened since the last).
type rig struct {
	t        testing.TB
	spans    *tracetest.SpanRecorder
	reader   *sdkmetric.ManualReader
	sessions *gaesession.Sessions
	c        *gaesessiontest.Client
	dev      bool // requests go through the dev server (gaesessiontest.NewRequest)
}

// newRig builds the app on the given tiers, decorated. opts may set
// anything but the tiers, Observe and WorkContext.
func newRig(t testing.TB, cache tier.Cache, durable tier.Durable, dev bool, opts gaesession.Options) *rig {
	r := &rig{t: t, spans: tracetest.NewSpanRecorder(), dev: dev}
	r.reader = sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(func(sdkmetric.InstrumentKind) metricdata.Temporality {
		return metricdata.DeltaTemporality
	}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	tel := gotel.New(gotel.Options{TracerProvider: tp, MeterProvider: mp})
	opts.Store.Cache, opts.Store.Durable, opts.Store.Observe = tel.Cache(cache), tel.Durable(durable), tel.Observe
	opts.WorkContext = tel.WorkContext
	r.sessions = gaesession.New(opts)
	t.Cleanup(func() { r.sessions.Shutdown(context.Background()) })
	r.c = gaesessiontest.NewClient(t, r.sessions.Handler(app()))
	return r
}

// app answers /new (a session with n=1), /read, /set?v=, /login?user=,
// /renew, /handles (the user's handles, one a line), /revoke?h=,
// /revoke-all and /logout.
func app() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/new", func(w http.ResponseWriter, r *http.Request) {
		sess := session.NewSession()
		sess.SetAttr("n", "1")
		gaesession.From(r.Context()).Add(sess, w)
	})
	mux.HandleFunc("/read", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, gaesession.From(r.Context()).Get(r) != nil)
	})
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		if sess := gaesession.From(r.Context()).Get(r); sess != nil {
			sess.SetAttr("n", r.FormValue("v"))
		}
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		if _, err := m.Login(m.Get(r), w, r.FormValue("user"), gaesession.LoginOptions{}); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		if _, err := m.Renew(m.Get(r), w); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/handles", func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		devs, err := m.Devices(m.Get(r))
		if err != nil {
			http.Error(w, err.Error(), 500)
		}
		for _, d := range devs {
			fmt.Fprintln(w, d.Handle)
		}
	})
	mux.HandleFunc("/revoke", func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		m.Revoke(m.Get(r), r.FormValue("h"))
	})
	mux.HandleFunc("/revoke-all", func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		m.LogoutEverywhere(m.Get(r), w)
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		m := gaesession.From(r.Context())
		if sess := m.Get(r); sess != nil {
			m.Remove(sess, w)
		}
	})
	return mux
}

// get sends a GET for target through the app with the rig's cookies and
// returns the body.
func (r *rig) get(target string) string {
	r.t.Helper()
	return r.getWith(r.c, target)
}

func (r *rig) getWith(c *gaesessiontest.Client, target string) string {
	r.t.Helper()
	var req *http.Request
	if r.dev {
		req = gaesessiontest.NewRequest(r.t, http.MethodGet, target, nil)
	} else {
		req = httptest.NewRequest(http.MethodGet, gaesessiontest.BaseURL+target, nil)
	}
	res := c.Do(req)
	body := gaesessiontest.Body(r.t, res)
	if res.StatusCode != http.StatusOK {
		r.t.Fatalf("GET %s: %d %s", target, res.StatusCode, body)
	}
	return body
}

// id returns the session ID in the rig's cookie jar.
func (r *rig) id() string {
	r.t.Helper()
	for _, c := range r.c.Jar.Cookies(mustURL(r.t)) {
		if c.Name == "sessid" {
			return c.Value
		}
	}
	r.t.Fatal("no session cookie")
	return ""
}

// reset forgets the spans and metrics recorded so far.
func (r *rig) reset() {
	r.t.Helper()
	r.spans.Reset()
	r.collect()
}

// tierSpans returns the names of the ended client spans (tier calls), in
// the order they ended.
func (r *rig) tierSpans() []string {
	var names []string
	for _, s := range r.spans.Ended() {
		if s.SpanKind() == trace.SpanKindClient {
			names = append(names, s.Name())
		}
	}
	return names
}

// workSpans returns the ended spans named gotel.SpanName.
func (r *rig) workSpans() []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.spans.Ended() {
		if s.Name() == gotel.SpanName {
			out = append(out, s)
		}
	}
	return out
}

// collect returns the metrics recorded since the last collect.
func (r *rig) collect() metricdata.ResourceMetrics {
	r.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		r.t.Fatal(err)
	}
	return rm
}

// counts returns, per counter, the sums since the last collect by their
// attributes ("name{k=v,...}"), leaving out zeros.
func counts(rm metricdata.ResourceMetrics) map[string]int64 {
	out := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				if dp.Value != 0 {
					out[m.Name+"{"+setString(dp.Attributes)+"}"] += dp.Value
				}
			}
		}
	}
	return out
}

// durations returns the histogram's sample counts by their attributes.
func durations(rm metricdata.ResourceMetrics) map[string]uint64 {
	out := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if h, ok := m.Data.(metricdata.Histogram[float64]); ok && m.Name == gotel.MetricDuration {
				for _, dp := range h.DataPoints {
					if dp.Count != 0 {
						out[setString(dp.Attributes)] += dp.Count
					}
				}
			}
		}
	}
	return out
}

func setString(s attribute.Set) string {
	var kv []string
	for _, a := range s.ToSlice() {
		kv = append(kv, string(a.Key)+"="+a.Value.Emit())
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}

// wantCounts fails unless the counters since the last collect are want.
func (r *rig) wantCounts(what string, want map[string]int64) {
	r.t.Helper()
	got := counts(r.collect())
	if fmt.Sprint(got) != fmt.Sprint(want) {
		r.t.Errorf("%s: counters\n got %v\nwant %v", what, got, want)
	}
}

// newModelRig is a rig on the in-process model of Memcache and the
// Datastore.
func newModelRig(t testing.TB, before func(ctx context.Context, op, key string) error) (*rig, *storetest.Model) {
	m := storetest.NewModel(storetest.ModelOptions{Memcache: true, Before: before})
	return newRig(t, m.Cache(), m.Durable(), false, gaesession.Options{}), m
}

func mustURL(t testing.TB) *url.URL {
	u, err := url.Parse(gaesessiontest.BaseURL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
