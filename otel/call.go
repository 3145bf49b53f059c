package otel

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gaesession/gaesession/store/tier"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of the spans and metrics. None carries a session ID, a
// user ID, a handle, a key or a value.
const (
	// AttrTier is the tier's name, as tier.Named gives it ("memcache",
	// "redis", "datastore", ...), else "cache" or "durable".
	AttrTier = attribute.Key("gaesession.tier")
	// AttrOutcome is what a call, read or write came to (see the package
	// documentation for the values).
	AttrOutcome = attribute.Key("gaesession.outcome")
	// AttrValueSize is the bytes of the values a call read or wrote.
	AttrValueSize = attribute.Key("gaesession.value.size")
	// AttrFound is the number of records a Durable GetMulti or Expired
	// found.
	AttrFound = attribute.Key("gaesession.found")
	// AttrReason is why sessions ended: "logout" or "revocation".
	AttrReason = attribute.Key("gaesession.reason")
	// AttrCount is the count of an event on the session span (see
	// Telemetry.Observe).
	AttrCount = attribute.Key("gaesession.count")

	// The semantic conventions' database attributes.
	attrOperation = attribute.Key("db.operation.name")
	attrBatchSize = attribute.Key("db.operation.batch.size")
	attrErrorType = attribute.Key("error.type")
)

// Outcomes of a tier call (AttrOutcome).
const (
	outcomeOK        = "ok"
	outcomeHit       = "hit"
	outcomeMiss      = "miss"
	outcomeTombstone = "tombstone"
	outcomeConflict  = "conflict"
	outcomeNotStored = "not-stored"
	outcomeAborted   = "aborted" // the store's function ended an Update or Expired
	outcomeError     = "error"
)

// callOutcomes are the outcomes other than outcomeError, whose
// attributes are made once per tier and operation.
var callOutcomes = [...]string{outcomeOK, outcomeHit, outcomeMiss, outcomeTombstone, outcomeConflict, outcomeNotStored, outcomeAborted}

// clientKind is the tier spans' option, in a slice made once: a variadic
// call with it allocates nothing.
var clientKind = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}

// caller records the calls to one tier. Its operations are numbered by
// their index in ops.
type caller struct {
	t     *Telemetry
	tier  attribute.KeyValue
	ops   []string
	names []string                                   // by op: the span's name
	sets  [][len(callOutcomes)][]metric.RecordOption // by op and outcome: the histogram's attributes
}

func newCaller(t *Telemetry, backend any, def string, ops ...string) *caller {
	name := def
	if n, ok := backend.(tier.Named); ok && n.Name() != "" {
		name = n.Name()
	}
	c := &caller{t: t, tier: AttrTier.String(name), ops: ops, names: make([]string, len(ops)),
		sets: make([][len(callOutcomes)][]metric.RecordOption, len(ops))}
	for i, op := range ops {
		c.names[i] = op + " " + name
		for j, o := range callOutcomes {
			c.sets[i][j] = []metric.RecordOption{with(c.tier, attrOperation.String(op), AttrOutcome.String(o))}
		}
	}
	return c
}

// call is one tier call in progress: start it, set what it found, end it.
type call struct {
	c     *caller
	ctx   context.Context
	op    int // index in c.ops
	span  trace.Span
	start time.Time
	batch int // keys of a batch call; 0: not one
	size  int // bytes of the values read or written
	found int // records found; -1: not counted
}

func (c *caller) start(ctx context.Context, op, batch int) (context.Context, call) {
	ctx, span := c.t.tracer.Start(ctx, c.names[op], clientKind...)
	return ctx, call{c: c, ctx: ctx, op: op, span: span, start: time.Now(), batch: batch, found: -1}
}

// end records the call with its outcome; a failure (err, with outcome
// outcomeError) is recorded on the span with the call's keys redacted.
func (k *call) end(outcome string, err error, keys ...string) {
	d := time.Since(k.start).Seconds()
	op := k.c.ops[k.op]
	var etype string
	if i := outcomeIndex(outcome); i >= 0 {
		k.c.t.inst.duration.Record(k.ctx, d, k.c.sets[k.op][i]...)
	} else {
		etype = errorType(err)
		k.c.t.inst.duration.Record(k.ctx, d, with(k.c.tier, attrOperation.String(op), AttrOutcome.String(outcome), attrErrorType.String(etype)))
	}
	if k.span.IsRecording() {
		k.span.SetAttributes(k.c.tier, attrOperation.String(op), AttrOutcome.String(outcome), AttrValueSize.Int(k.size))
		if k.batch > 0 {
			k.span.SetAttributes(attrBatchSize.Int(k.batch))
		}
		if k.found >= 0 {
			k.span.SetAttributes(AttrFound.Int(k.found))
		}
		if outcome == outcomeError {
			msg := redact(err.Error(), keys)
			k.span.SetAttributes(attrErrorType.String(etype))
			k.span.AddEvent("exception", trace.WithAttributes(
				attribute.String("exception.type", fmt.Sprintf("%T", err)),
				attribute.String("exception.message", msg)))
			k.span.SetStatus(codes.Error, msg)
		}
	}
	k.span.End()
}

// outcomeIndex is an outcome's index in callOutcomes, -1 for outcomeError.
func outcomeIndex(outcome string) int {
	for i, o := range callOutcomes {
		if o == outcome {
			return i
		}
	}
	return -1
}

// errorType is a failure's error.type: a few known kinds, else its Go type.
func errorType(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, tier.ErrContention):
		return "contention"
	}
	return fmt.Sprintf("%T", err)
}

// redact replaces every key in msg: a key holds a session ID, or a hash of
// a user ID.
func redact(msg string, keys []string) string {
	for _, k := range keys {
		if k != "" {
			msg = strings.ReplaceAll(msg, k, "[key]")
		}
	}
	return msg
}
