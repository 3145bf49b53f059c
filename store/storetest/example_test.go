package storetest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
)

// ExampleNewModel injects a fault into a Cache call and inspects the
// model afterwards.
func ExampleNewModel() {
	down := errors.New("memcache unavailable")
	m := storetest.NewModel(storetest.ModelOptions{
		Memcache: true,
		Before: func(_ context.Context, op, key string) error {
			if op == "cache.Set" && key == "s2" {
				return down
			}
			return nil
		},
	})
	ctx := context.Background()
	fmt.Println(m.Cache().Set(ctx, &tier.Item{Key: "s1", Value: []byte("a")}))
	fmt.Println(m.Cache().Set(ctx, &tier.Item{Key: "s2", Value: []byte("b")}))
	fmt.Println(m.Keys())
	m.Evict("s1")
	_, err := m.Cache().Get(ctx, "s1")
	fmt.Println(err)
	// Output:
	// <nil>
	// memcache unavailable
	// [s1]
	// cache miss
}
