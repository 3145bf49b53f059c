package store

import (
	"testing"

	"github.com/gaesession/gaesession/store/tier"
)

// namedCache is a Cache that names itself.
type namedCache struct {
	tier.Cache
	name string
}

func (c namedCache) Name() string { return c.name }

// TestTierNames: errors and logs name a tier after its backend (Named),
// else "cache" or "durable".
func TestTierNames(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cache      tier.Cache
		tier, want string
	}{
		{"a named Cache", namedCache{name: "redis"}, tierCache, "redis"},
		{"both, named Cache", namedCache{name: "redis"}, tierBoth, "redis,durable"},
		{"an unnamed Durable", namedCache{name: "redis"}, tierDurable, "durable"},
		{"an unnamed Cache", namedCache{}.Cache, tierCache, "cache"},
		{"an empty name", namedCache{}, tierCache, "cache"},
		{"no tier (encoding)", namedCache{name: "redis"}, "", ""},
	} {
		tiers := &Tiers{names: [2]string{nameOf(tc.cache, "cache"), nameOf(nil, "durable")}}
		if got := tiers.name(tc.tier); got != tc.want {
			t.Errorf("%s: name(%q) = %q, want %q", tc.name, tc.tier, got, tc.want)
		}
	}
}
