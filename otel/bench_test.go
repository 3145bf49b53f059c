package otel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	gotel "github.com/gaesession/gaesession/otel"
	"github.com/gaesession/gaesession/store/aestore"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tnoop "go.opentelemetry.io/otel/trace/noop"
)

// BenchmarkReadPath measures a read-only request (one Cache Get) through
// the middleware three ways in the same loop, in turn, on one session:
// bare (undecorated tiers, no hooks), noop (decorated, hooks set, no-op
// providers) and sdk (decorated, the SDK recording every span and metric,
// exporting nowhere). Metrics: the median time of a request each way
// (ns/bare, ns/noop, ns/sdk) and the ratios of the medians (noop/bare,
// sdk/bare): medians, as a dev server's hiccup or a GC pause lands on one
// way at random and would move a mean by more than the decorators cost.
// Sub-benchmarks: devserver (App Engine's Memcache on the dev
// server) and model (the in-process model, where the tier call costs
// next to nothing, so the decorators' share is as large as it gets).
func BenchmarkReadPath(b *testing.B) {
	b.Run("devserver", func(b *testing.B) {
		gaesessiontest.Start(b)
		benchReadPath(b, aestore.Memcache(), aestore.Datastore(""), func(target string) *http.Request {
			return gaesessiontest.NewRequest(b, http.MethodGet, target, nil)
		})
	})
	b.Run("model", func(b *testing.B) {
		m := storetest.NewModel(storetest.ModelOptions{Memcache: true})
		benchReadPath(b, m.Cache(), m.Durable(), func(target string) *http.Request {
			return httptest.NewRequest(http.MethodGet, gaesessiontest.BaseURL+target, nil)
		})
	})
}

func benchReadPath(b *testing.B, cache tier.Cache, durable tier.Durable, newRequest func(target string) *http.Request) {
	noopTel := gotel.New(gotel.Options{TracerProvider: tnoop.NewTracerProvider(), MeterProvider: noop.NewMeterProvider()})
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	sdkTel := gotel.New(gotel.Options{TracerProvider: tp, MeterProvider: mp})
	with := func(t *gotel.Telemetry) gaesession.Options {
		o := gaesession.Options{}
		o.Store.Cache, o.Store.Durable = cache, durable
		if t != nil {
			o.Store.Cache, o.Store.Durable, o.Store.Observe = t.Cache(cache), t.Durable(durable), t.Observe
			o.WorkContext = t.WorkContext
		}
		return o
	}
	variants := []*gaesession.Sessions{gaesession.New(with(nil)), gaesession.New(with(noopTel)), gaesession.New(with(sdkTel))}
	c := gaesessiontest.NewClient(b, variants[0].Handler(app()))
	clients := []*gaesessiontest.Client{c, c.With(variants[1].Handler(app())), c.With(variants[2].Handler(app()))}
	read := func(c *gaesessiontest.Client, target string) {
		if res := c.Do(newRequest(target)); res.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", target, res.StatusCode)
		}
	}
	read(c, "/new")
	read(c, "/read") // confirmed: from now on a read is one Get
	var times [3][]time.Duration
	b.ResetTimer()
	for i := range b.N {
		for j := range 3 {
			k := (i + j) % 3 // each variant goes first, second and third in turn
			r := newRequest("/read")
			start := time.Now()
			res := clients[k].Do(r)
			times[k] = append(times[k], time.Since(start))
			if res.StatusCode != http.StatusOK {
				b.Fatalf("read: %d", res.StatusCode)
			}
		}
	}
	b.StopTimer()
	for _, s := range variants {
		s.Shutdown(context.Background())
	}
	var med [3]float64
	for k, ts := range times {
		slices.Sort(ts)
		med[k] = float64(ts[len(ts)/2])
	}
	b.ReportMetric(med[0], "ns/bare")
	b.ReportMetric(med[1], "ns/noop")
	b.ReportMetric(med[2], "ns/sdk")
	b.ReportMetric(med[1]/med[0], "noop/bare")
	b.ReportMetric(med[2]/med[0], "sdk/bare")
}
