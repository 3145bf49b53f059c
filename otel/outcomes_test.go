package otel_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/gaesession/gaesession/gaesessiontest"
	gotel "github.com/gaesession/gaesession/otel"
)

// once runs f before the next call of op (every call, when sticky, until
// armed again), in the calling goroutine (the model calls Before outside
// its lock).
type once struct {
	mu     sync.Mutex
	op     string
	f      func(key string) error
	sticky bool
}

func (o *once) arm(op string, f func(key string) error) { o.set(op, f, false) }

func (o *once) set(op string, f func(key string) error, sticky bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.op, o.f, o.sticky = op, f, sticky
}

func (o *once) before(_ context.Context, op, key string) error {
	o.mu.Lock()
	f := o.f
	if op != o.op || f == nil {
		o.mu.Unlock()
		return nil
	}
	if !o.sticky {
		o.f = nil
	}
	o.mu.Unlock()
	return f(key)
}

// TestWriteOutcomesModel: each outcome of a write-back and of a read is
// counted once, under its name, and the session span is the parent of
// every tier call of the request, its write-back included.
func TestWriteOutcomesModel(t *testing.T) {
	var o once
	r, m := newModelRig(t, o.before)
	other := r.c.With(r.c.Handler) // the same browser, another tab
	r.get("/new")
	r.get("/read")
	r.collect()

	r.spans.Reset()
	r.get("/set?v=1")
	r.wantCounts("write", map[string]int64{
		gotel.MetricReads + "{gaesession.outcome=hit}":      1,
		gotel.MetricWrites + "{gaesession.outcome=written}": 1,
	})
	work := r.workSpans()
	if len(work) != 1 {
		t.Fatalf("%d session spans, want 1", len(work))
	}
	for _, s := range r.spans.Ended() {
		if s.Name() != gotel.SpanName && s.Parent().SpanID() != work[0].SpanContext().SpanID() {
			t.Errorf("%s is not a child of the session span", s.Name())
		}
	}

	// Another tab writes between this request's read and its write.
	o.arm("cache.CompareAndSwap", func(string) error { r.getWith(other, "/set?v=2"); return nil })
	r.get("/set?v=3")
	r.wantCounts("merged", map[string]int64{
		gotel.MetricReads + "{gaesession.outcome=hit}":      2,
		gotel.MetricWrites + "{gaesession.outcome=written}": 1,
		gotel.MetricWrites + "{gaesession.outcome=merged}":  1,
	})

	// The Cache loses the session between the read and the write.
	o.arm("cache.CompareAndSwap", func(key string) error { m.Evict(key); return nil })
	r.get("/set?v=4")
	r.wantCounts("refilled", map[string]int64{
		gotel.MetricReads + "{gaesession.outcome=hit}":       1,
		gotel.MetricWrites + "{gaesession.outcome=refilled}": 1,
	})
	r.get("/read") // confirms the value put back
	r.collect()

	// Every try of the compare-and-swap fails.
	fail := errors.New("injected")
	o.set("cache.CompareAndSwap", func(string) error { return fail }, true)
	r.get("/set?v=5")
	o.arm("", nil)
	r.wantCounts("failed", map[string]int64{
		gotel.MetricReads + "{gaesession.outcome=hit}":     1,
		gotel.MetricWrites + "{gaesession.outcome=failed}": 1,
	})

	// A logout in another tab between the read and the write.
	id := r.id()
	o.arm("cache.CompareAndSwap", func(string) error { r.getWith(other, "/logout"); return nil })
	r.get("/set?v=6")
	r.wantCounts("ended", map[string]int64{
		gotel.MetricReads + "{gaesession.outcome=hit}":    2,
		gotel.MetricWrites + "{gaesession.outcome=ended}": 1,
		gotel.MetricEnded + "{gaesession.reason=logout}":  1,
	})

	// The logged-out cookie again, and a malformed one.
	stale := gaesessiontest.NewClient(t, r.c.Handler)
	stale.Jar.SetCookies(mustURL(t), []*http.Cookie{{Name: "sessid", Value: id}})
	r.getWith(stale, "/read")
	junk := gaesessiontest.NewClient(t, r.c.Handler)
	junk.Jar.SetCookies(mustURL(t), []*http.Cookie{{Name: "sessid", Value: "not a session ID!"}})
	r.getWith(junk, "/read")
	r.wantCounts("reads", map[string]int64{
		gotel.MetricReads + "{gaesession.outcome=junk-cookie}": 1,
		gotel.MetricReads + "{gaesession.outcome=tombstone}":   1,
	})
}

// TestFallbackModel: a session the Cache lost is read from the Durable
// tier: one fallback read.
func TestFallbackModel(t *testing.T) {
	r, m := newModelRig(t, nil)
	r.get("/new")
	r.get("/read")
	m.Evict(r.id())
	r.collect()
	r.get("/read")
	r.wantCounts("fallback", map[string]int64{gotel.MetricReads + "{gaesession.outcome=fallback}": 1})
}
