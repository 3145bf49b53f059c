package otel_test

import (
	"slices"
	"testing"

	gotel "github.com/gaesession/gaesession/otel"
	"go.opentelemetry.io/otel/trace"
)

// A read-only request of a session the Cache holds: one tier span (a Get
// with outcome hit), child of the one session span, and one hit counted.
func TestReadOnlyHitModel(t *testing.T) {
	r, _ := newModelRig(t, nil)
	testReadOnlyHit(t, r, "memcache")
}

func testReadOnlyHit(t *testing.T, r *rig, cacheName string) {
	r.get("/new")
	r.get("/read") // the first read confirms the new session (3 calls)
	r.reset()
	if got := r.get("/read"); got != "true" {
		t.Fatalf("read: %q", got)
	}
	want := []string{"Get " + cacheName}
	if got := r.tierSpans(); !slices.Equal(got, want) {
		t.Fatalf("tier spans: %v, want %v", got, want)
	}
	work := r.workSpans()
	if len(work) != 1 {
		t.Fatalf("%d session spans, want 1", len(work))
	}
	for _, s := range r.spans.Ended() {
		if s.SpanKind() != trace.SpanKindClient {
			continue
		}
		if s.Parent().SpanID() != work[0].SpanContext().SpanID() {
			t.Errorf("%s is not a child of the session span", s.Name())
		}
		attrs := map[string]string{}
		for _, a := range s.Attributes() {
			attrs[string(a.Key)] = a.Value.Emit()
		}
		if attrs["gaesession.outcome"] != "hit" || attrs["gaesession.tier"] != cacheName || attrs["db.operation.name"] != "Get" {
			t.Errorf("Get's attributes: %v", attrs)
		}
	}
	rm := r.collect()
	if got, want := counts(rm), map[string]int64{gotel.MetricReads + "{gaesession.outcome=hit}": 1}; len(got) != 1 || got[gotel.MetricReads+"{gaesession.outcome=hit}"] != 1 {
		t.Errorf("counters: %v, want %v", got, want)
	}
	d := durations(rm)
	if len(d) != 1 || d["db.operation.name=Get,gaesession.outcome=hit,gaesession.tier="+cacheName] != 1 {
		t.Errorf("duration samples: %v", d)
	}
}
