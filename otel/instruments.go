package otel

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Metric names. The tier-call histogram is the semantic conventions'
// database client metric; the counters are the library's own, under its
// namespace.
const (
	// MetricDuration is the duration of each tier call, in seconds, with
	// the attributes gaesession.tier, db.operation.name,
	// gaesession.outcome and, on failure, error.type.
	MetricDuration = "db.client.operation.duration"
	// MetricReads counts session reads by gaesession.outcome: hit,
	// fallback (the Durable tier was read), tombstone, miss, junk-cookie.
	MetricReads = "gaesession.session.reads"
	// MetricWrites counts session write-backs by gaesession.outcome:
	// written, merged, refilled, ended, failed.
	MetricWrites = "gaesession.session.writes"
	// MetricLogins counts successful Manager.Login calls.
	MetricLogins = "gaesession.session.logins"
	// MetricRenewals counts successful Manager.Renew calls.
	MetricRenewals = "gaesession.session.renewals"
	// MetricEnded counts sessions ended, by gaesession.reason: logout, or
	// revocation (also the sessions an earlier revocation may have failed
	// to end, which each revocation ends again).
	MetricEnded = "gaesession.session.ended"
	// MetricPurged counts the records purge deleted.
	MetricPurged = "gaesession.purge.deleted"
)

// durationBuckets are the semantic conventions' advised boundaries for
// db.client.operation.duration, in seconds.
var durationBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10}

// instruments are the metrics of a Telemetry.
type instruments struct {
	duration metric.Float64Histogram
	reads    metric.Int64Counter
	writes   metric.Int64Counter
	logins   metric.Int64Counter
	renewals metric.Int64Counter
	ended    metric.Int64Counter
	purged   metric.Int64Counter
}

// newInstruments makes the instruments on m; one that m refuses is
// reported to otel.Handle and replaced by a no-op one.
func newInstruments(m metric.Meter) instruments {
	var in instruments
	h, err := m.Float64Histogram(MetricDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of gaesession's calls to its Cache and Durable tiers."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		otel.Handle(err)
		h = noop.Float64Histogram{}
	}
	in.duration = h
	in.reads = counter(m, MetricReads, "{read}", "Session reads, by what the read found.")
	in.writes = counter(m, MetricWrites, "{write}", "Session write-backs, by what became of them.")
	in.logins = counter(m, MetricLogins, "{login}", "Successful logins.")
	in.renewals = counter(m, MetricRenewals, "{renewal}", "Successful session renewals.")
	in.ended = counter(m, MetricEnded, "{session}", "Sessions ended, by logout or revocation.")
	in.purged = counter(m, MetricPurged, "{record}", "Records deleted by purge.")
	return in
}

func counter(m metric.Meter, name, unit, desc string) metric.Int64Counter {
	c, err := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	if err != nil {
		otel.Handle(err)
		return noop.Int64Counter{}
	}
	return c
}

// with is a measurement option carrying one attribute, made once.
func with(kv ...attribute.KeyValue) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(kv...))
}
