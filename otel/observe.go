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
	if c, ok := t.events[ev]; ok {
		c.c.Add(ctx, int64(n), c.opt...)
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent(string(ev), trace.WithAttributes(AttrCount.Int(n)))
	}
}

// counted is the counter of an event and its attributes.
type counted struct {
	c   metric.Int64Counter
	opt []metric.AddOption // made once: Add allocates nothing for it
}

// eventCounters returns the counter of each event this version knows.
func eventCounters(in instruments) map[store.Event]counted {
	m := map[store.Event]counted{}
	outcome := func(c metric.Int64Counter, evs ...store.Event) {
		for _, ev := range evs {
			_, o, _ := strings.Cut(string(ev), ".")
			m[ev] = counted{c, []metric.AddOption{with(AttrOutcome.String(o))}}
		}
	}
	outcome(in.reads, store.EventReadHit, store.EventReadFallback, store.EventReadTombstone, store.EventReadMiss, store.EventReadJunkCookie)
	outcome(in.writes, store.EventWriteWritten, store.EventWriteMerged, store.EventWriteRefilled, store.EventWriteEnded, store.EventWriteFailed)
	none := []metric.AddOption{metric.WithAttributeSet(*attribute.EmptySet())}
	m[store.EventLogin] = counted{in.logins, none}
	m[store.EventRenewal] = counted{in.renewals, none}
	m[store.EventPurged] = counted{in.purged, none}
	m[store.EventLogout] = counted{in.ended, []metric.AddOption{with(AttrReason.String("logout"))}}
	m[store.EventRevoked] = counted{in.ended, []metric.AddOption{with(AttrReason.String("revocation"))}}
	return m
}
