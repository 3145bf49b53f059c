package otel

import (
	"github.com/gaesession/gaesession/store"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/gaesession/gaesession/otel"

// Options configures New. The zero value gives the defaults stated on each
// field.
type Options struct {
	// TracerProvider makes the tracer of the spans. Default: the global
	// one, otel.GetTracerProvider() when New is called.
	TracerProvider trace.TracerProvider

	// MeterProvider makes the meter of the metrics. Default: the global
	// one, otel.GetMeterProvider() when New is called.
	MeterProvider metric.MeterProvider
}

// Telemetry records the spans and metrics of one app's sessions. Make one
// when the app starts and use its methods in the app's gaesession.Options
// (see the package documentation). It is safe for concurrent use.
type Telemetry struct {
	tracer trace.Tracer
	inst   instruments
	events map[store.Event]counted // read-only after New
}

// New returns the Telemetry for opts. Instruments that the MeterProvider
// refuses are reported to otel.Handle and left out.
func New(opts Options) *Telemetry {
	tp, mp := opts.TracerProvider, opts.MeterProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	t := &Telemetry{tracer: tp.Tracer(ScopeName), inst: newInstruments(mp.Meter(ScopeName))}
	t.events = eventCounters(t.inst)
	return t
}
