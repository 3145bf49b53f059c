package otel_test

import (
	"context"
	"strings"
	"testing"

	gotel "github.com/gaesession/gaesession/otel"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
	"go.opentelemetry.io/otel/metric/noop"
	tnoop "go.opentelemetry.io/otel/trace/noop"
)

// prefixed is a Cache that takes only keys with its prefix, and has no
// name.
type prefixed struct {
	tier.Cache
	prefix string
}

func (p prefixed) KeyPrefix() string { return p.prefix }

// unnamed hides the model Durable's name.
type unnamed struct{ tier.Durable }

// TestDecoratorsKeepNameAndPrefix: the decorators pass the backend's name
// (or none) and KeyPrefix through, so the store names a failing tier as
// before, and refuses a prefix that is not its own.
func TestDecoratorsKeepNameAndPrefix(t *testing.T) {
	tel := gotel.New(gotel.Options{TracerProvider: tnoop.NewTracerProvider(), MeterProvider: noop.NewMeterProvider()})
	m := storetest.NewModel(storetest.ModelOptions{})

	named := tel.Cache(m.Cache())
	if n, ok := named.(tier.Named); !ok || n.Name() != "memcache" {
		t.Errorf("Cache(model) Name: %v", named)
	}
	if _, ok := named.(tier.PrefixedCache); ok {
		t.Error("Cache(model) is a PrefixedCache; the model is not")
	}
	if n := tel.Durable(m.Durable()).(tier.Named).Name(); n != "datastore" {
		t.Errorf("Durable(model) Name: %q", n)
	}
	if n := tel.Durable(unnamed{m.Durable()}).(tier.Named).Name(); n != "" {
		t.Errorf("Durable(unnamed) Name: %q, want none", n)
	}
	p := tel.Cache(prefixed{m.Cache(), "app:"})
	if pc, ok := p.(tier.PrefixedCache); !ok || pc.KeyPrefix() != "app:" {
		t.Fatalf("Cache(prefixed) KeyPrefix lost: %v", p)
	}
	if n := p.(tier.Named).Name(); n != "" {
		t.Errorf("Cache(prefixed) Name: %q, want none", n)
	}

	// The store sees through: it refuses another prefix...
	func() {
		defer func() {
			if recover() == nil {
				t.Error("NewTiers took a decorated PrefixedCache with another KeyPrefix")
			}
		}()
		store.NewTiers(store.Options{Cache: p, Durable: tel.Durable(m.Durable()), KeyPrefix: "other:"})
	}()
	// ...and names a failing tier after its backend.
	var got []error
	tiers := store.NewTiers(store.Options{Cache: tel.Cache(failing{m.Cache()}), Durable: tel.Durable(m.Durable()), Retries: 1})
	s := tiers.Open(context.Background(), func(err error) { got = append(got, err) }, nil)
	s.Get("AAAAAAAAAAAAAAAAAAAAAAAA")
	if len(got) == 0 || !strings.Contains(got[0].Error(), "memcache") {
		t.Errorf("failure through the decorator: %v, want it to name memcache", got)
	}
}

// failing is a named Cache whose Get fails.
type failing struct{ tier.Cache }

func (failing) Name() string { return "memcache" }
func (failing) Get(context.Context, string) (*tier.Item, error) {
	return nil, errBroken
}

var errBroken = &brokenError{}

type brokenError struct{}

func (*brokenError) Error() string { return "broken" }
