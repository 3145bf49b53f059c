package store

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gaesession/gaesession/store/tier"
)

// TestFound: what a Cache Get's answer is, for every flag and error.
func TestFound(t *testing.T) {
	item := func(flags uint32) *tier.Item { return &tier.Item{Key: "k", Value: []byte("v"), Flags: flags} }
	for _, tc := range []struct {
		name string
		item *tier.Item
		err  error
		want cacheRead
	}{
		{"a session", item(0), nil, readSession},
		{"a session put in with Add", item(tier.FlagUnconfirmed), nil, readUnconfirmed},
		{"a logout's tombstone", item(tier.FlagRemoved), nil, readEnded},
		{"a Renew's tombstone", item(tier.FlagRenewed), nil, readEnded},
		{"a tombstone of a session found ended", item(tier.FlagGone), nil, readEnded},
		{"a flag of a later release", item(9), nil, readEnded},
		{"a miss", nil, tier.ErrCacheMiss, readMiss},
		{"a wrapped miss", nil, fmt.Errorf("redis: %w", tier.ErrCacheMiss), readMiss},
		{"a failure", nil, errors.New("connection refused"), readFailed},
		{"a tagged failure", nil, &tierError{tierCache, errors.New("timeout")}, readFailed},
	} {
		if got := found(tc.item, tc.err); got != tc.want {
			t.Errorf("%s: found = %d, want %d", tc.name, got, tc.want)
		}
	}
}
