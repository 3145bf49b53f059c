package main

import (
	"context"
	"errors"
	"io"
	"os"

	gotel "github.com/gaesession/gaesession/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// telemetryOut receives the spans and metrics when no OTLP endpoint is
// set; tests replace it.
var telemetryOut io.Writer = os.Stdout

// newTelemetry sets up the sessions' traces and metrics (package
// gaesession/otel): exported over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT
// is set (the exporters read the other OTEL_EXPORTER_OTLP_* variables too),
// else written to telemetryOut as JSON. shutdown flushes and stops them.
func newTelemetry(ctx context.Context) (tel *gotel.Telemetry, shutdown func(context.Context) error, err error) {
	var (
		spans   sdktrace.SpanExporter
		metrics sdkmetric.Exporter
	)
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" {
		spans, err = otlptracehttp.New(ctx)
		if err == nil {
			metrics, err = otlpmetrichttp.New(ctx)
		}
	} else {
		spans, err = stdouttrace.New(stdouttrace.WithWriter(telemetryOut))
		if err == nil {
			metrics, err = stdoutmetric.New(stdoutmetric.WithWriter(telemetryOut))
		}
	}
	if err != nil {
		return nil, nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metrics)))
	shutdown = func(ctx context.Context) error { return errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx)) }
	return gotel.New(gotel.Options{TracerProvider: tp, MeterProvider: mp}), shutdown, nil
}
