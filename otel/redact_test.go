package otel_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gaesession/gaesession/gaesessiontest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// TestNoSecretsInTelemetry: logins, reads, writes, renewals, device lists,
// revocations and logouts, with backend failures whose messages name the
// key, leave no session ID, user ID, handle, key or attribute value in any
// span (name, attribute, event, status) or metric attribute.
func TestNoSecretsInTelemetry(t *testing.T) {
	var (
		mu     sync.Mutex
		failed int
	)
	// Every fifth Cache Get and Durable PutMulti fails, naming its key.
	fault := func(_ context.Context, op, key string) error {
		mu.Lock()
		defer mu.Unlock()
		if (op == "cache.Get" || op == "durable.PutMulti") && key != "" {
			if failed++; failed%5 == 0 {
				return fmt.Errorf("backend refused %q", key)
			}
		}
		return nil
	}
	r, m := newModelRig(t, fault)
	const user, value = "alice@example.com", "attribute-value-7f3a"
	secrets := map[string]bool{user: true, value: true}
	ids := func(c *gaesessiontest.Client) {
		for _, ck := range c.Jar.Cookies(mustURL(t)) {
			secrets[ck.Value] = true
		}
	}
	other := gaesessiontest.NewClient(t, r.c.Handler)
	for _, c := range []*gaesessiontest.Client{r.c, other} {
		r.getWith(c, "/new")
		ids(c)
		r.getWith(c, "/read")
		r.getWith(c, "/set?v="+url.QueryEscape(value))
		r.getWith(c, "/login?user="+url.QueryEscape(user))
		ids(c)
		r.getWith(c, "/set?v="+url.QueryEscape(value))
	}
	handles := strings.Fields(r.get("/handles"))
	if len(handles) != 2 {
		t.Fatalf("handles: %q", handles)
	}
	for _, h := range handles {
		secrets[h] = true
	}
	r.get("/renew")
	ids(r.c)
	r.get("/revoke?h=" + handles[0])
	r.get("/revoke?h=" + handles[1])
	r.get("/new")
	ids(r.c)
	r.get("/logout")
	r.get("/login?user=" + url.QueryEscape(user))
	ids(r.c)
	r.get("/revoke-all")
	for _, k := range append(m.Keys(), m.IDs()...) {
		secrets[k] = true
		secrets[strings.TrimSuffix(k, "!")] = true
	}
	delete(secrets, "")

	var texts []string
	add := func(where string, attrs ...attribute.KeyValue) {
		for _, a := range attrs {
			texts = append(texts, where+" "+string(a.Key)+"="+a.Value.Emit())
		}
	}
	exceptions := 0
	for _, s := range r.spans.Ended() {
		texts = append(texts, "span name "+s.Name(), s.Name()+" status "+s.Status().Description)
		add(s.Name(), s.Attributes()...)
		for _, e := range s.Events() {
			texts = append(texts, s.Name()+" event "+e.Name)
			add(s.Name()+" event "+e.Name, e.Attributes...)
			if e.Name == "exception" {
				exceptions++
			}
		}
	}
	rm := r.collect()
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			switch d := mt.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					add(mt.Name, dp.Attributes.ToSlice()...)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					add(mt.Name, dp.Attributes.ToSlice()...)
				}
			}
		}
	}
	if exceptions == 0 {
		t.Fatal("no failure was recorded: the faults did not reach a span")
	}
	if len(secrets) < 8 {
		t.Fatalf("only %d secrets collected", len(secrets))
	}
	for _, text := range texts {
		for s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%q leaks %q", text, s)
			}
		}
	}
	t.Logf("%d strings checked against %d secrets; %d failures recorded", len(texts), len(secrets), exceptions)
}
