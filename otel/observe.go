package otel

import (
	"context"
	"net/http"
	"strings"

	"github.com/gaesession/gaesession/store"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// SpanName is the name of the span around a request's session work.
const SpanName = "gaesession session"

// WorkContext is a gaesession.Options.WorkContext: it starts the span of a
// request's session work (SpanName), from the first use of its sessions
// to the end of the write-back, and ends it when done is called. The
// store's tier calls in that request are its children. The span has no
// attributes of the request: add them to the app's own server span.
func (t *Telemetry) WorkContext(ctx context.Context, _ *http.Request) (context.Context, func()) {
	ctx, span := t.tracer.Start(ctx, SpanName)
	return ctx, func() { span.End() }
}

// Observe is a store.Options.Observe, and a purge.Options.Observe: it
// counts each event in its metric (see the package documentation) and, when
// the span in ctx records, adds the event to it, named after the event
// ("read.hit", "write.merged", ...) with its count.
func (t *Telemetry) Observe(ctx context.Context, ev store.Event, n int) {
	c, opt := t.counterOf(ev)
	if c != nil {
		c.Add(ctx, int64(n), opt)
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(string(ev), trace.WithAttributes(AttrCount.Int(n)))
	}
}

// eventSets are the counters' attributes per event, made once.
var eventSets = map[store.Event]metric.MeasurementOption{}

func init() {
	for _, ev := range []store.Event{
		store.EventReadHit, store.EventReadFallback, store.EventReadTombstone, store.EventReadMiss, store.EventReadJunkCookie,
		store.EventWriteWritten, store.EventWriteMerged, store.EventWriteRefilled, store.EventWriteEnded, store.EventWriteFailed,
	} {
		_, outcome, _ := strings.Cut(string(ev), ".")
		eventSets[ev] = with(AttrOutcome.String(outcome))
	}
	eventSets[store.EventLogout] = with(AttrReason.String("logout"))
	eventSets[store.EventRevoked] = with(AttrReason.String("revocation"))
	eventSets[store.EventLogin] = metric.WithAttributeSet(*attribute.EmptySet())
	eventSets[store.EventRenewal] = eventSets[store.EventLogin]
	eventSets[store.EventPurged] = eventSets[store.EventLogin]
}

// counterOf returns the counter of an event and its attributes; nil for
// an event this version does not know.
func (t *Telemetry) counterOf(ev store.Event) (metric.Int64Counter, metric.MeasurementOption) {
	in := &t.inst
	var c metric.Int64Counter
	switch {
	case strings.HasPrefix(string(ev), "read."):
		c = in.reads
	case strings.HasPrefix(string(ev), "write."):
		c = in.writes
	case ev == store.EventLogin:
		c = in.logins
	case ev == store.EventRenewal:
		c = in.renewals
	case ev == store.EventLogout, ev == store.EventRevoked:
		c = in.ended
	case ev == store.EventPurged:
		c = in.purged
	}
	opt, ok := eventSets[ev]
	if !ok {
		return nil, nil
	}
	return c, opt
}
