package gaesession_test

import (
	"strings"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
)

// TestNewRefusesHalfSetTiers: New fills in App Engine's services only when
// Store names neither tier; a Cache without a Durable (unless OnlyMemcache)
// or a Durable without a Cache panics with a message naming the fix.
func TestNewRefusesHalfSetTiers(t *testing.T) {
	t.Parallel()
	m := storetest.NewModel(storetest.ModelOptions{})
	cases := []struct {
		name string
		opts store.Options
		want string // in the panic; "" for none
	}{
		{"neither: App Engine", store.Options{}, ""},
		{"neither, OnlyMemcache: App Engine", store.Options{OnlyMemcache: true}, ""},
		{"Cache only", store.Options{Cache: m.Cache()}, "set Durable too"},
		{"Durable only", store.Options{Durable: m.Durable()}, "set Cache too"},
		{"Cache only, OnlyMemcache", store.Options{Cache: m.Cache(), OnlyMemcache: true}, ""},
		{"both", store.Options{Cache: m.Cache(), Durable: m.Durable()}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				p := recover()
				msg, _ := p.(string)
				switch {
				case tc.want == "" && p != nil:
					t.Errorf("New panicked: %v", p)
				case tc.want != "" && !strings.Contains(msg, tc.want):
					t.Errorf("New panicked with %v, want a message with %q", p, tc.want)
				}
			}()
			gaesession.New(gaesession.Options{Store: tc.opts})
		})
	}
}
