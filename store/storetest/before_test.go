package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

func TestModelBefore(t *testing.T) {
	ctx := context.Background()
	fault := errors.New("injected")
	var calls []string
	m := NewModel(ModelOptions{Before: func(_ context.Context, op, key string) error {
		calls = append(calls, op+" "+key)
		if op == "cache.Set" && key == "bad" {
			return fault
		}
		return nil
	}})
	c, d := m.Cache(), m.Durable()
	_ = c.Add(ctx, &tier.Item{Key: "a", Value: []byte("1")})
	it, _ := c.Get(ctx, "a")
	_ = c.CompareAndSwap(ctx, it)
	if err := c.Set(ctx, &tier.Item{Key: "bad", Value: []byte("1")}); !errors.Is(err, fault) {
		t.Errorf("Set with a fault = %v, want %v", err, fault)
	}
	if _, ok := m.CacheItem("bad"); ok {
		t.Error("a failed Set stored its item")
	}
	_ = c.Delete(ctx, "a")
	_ = putOne(ctx, d, "s", tier.Record{Value: []byte("1")}) // expired long ago
	_, _ = d.GetMulti(ctx, []string{"s", "t"})
	_ = d.Update(ctx, "u", func(tier.Record, bool) (tier.Record, error) { return tier.Record{}, nil })
	_ = d.Expired(ctx, time.Now(), func([]string) error { return nil })
	_ = d.DeleteMulti(ctx, []string{"t", "s"})
	_ = d.DeleteMulti(ctx, nil)
	want := []string{"cache.Add a", "cache.Get a", "cache.CompareAndSwap a", "cache.Set bad", "cache.Delete a",
		"durable.PutMulti s", "durable.GetMulti s", "durable.Update u", "durable.Expired ", "durable.DeleteMulti t", "durable.DeleteMulti "}
	if !slices.Equal(calls, want) {
		t.Errorf("Before saw\n%q\nwant\n%q", calls, want)
	}
}

// TestModelExpiredBatches checks that Expired calls Before before each
// batch with the last ID of the one before, and that a batch sees the
// records as they are when it is read.
func TestModelExpiredBatches(t *testing.T) {
	ctx := context.Background()
	var keys []string
	m := NewModel(ModelOptions{Before: func(_ context.Context, op, key string) error {
		if op == "durable.Expired" {
			keys = append(keys, key)
		}
		return nil
	}})
	d := m.Durable()
	n := 2*tier.MaxBatch + 2
	for i := range n {
		_ = putOne(ctx, d, fmt.Sprintf("id%04d", i), tier.Record{Value: []byte("v")})
	}
	var sizes []int
	err := d.Expired(ctx, time.Now(), func(ids []string) error {
		sizes = append(sizes, len(ids))
		if len(sizes) == 1 { // touched after the query began
			_ = putOne(ctx, d, "id0999", tier.Record{Value: []byte("v"), Expires: time.Now().Add(time.Hour)})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"", "id0499", "id1000"}
	if !slices.Equal(sizes, []int{tier.MaxBatch, tier.MaxBatch, 1}) || !slices.Equal(keys, wantKeys) {
		t.Errorf("batches of %v after Before keys %q, want [500 500 1] after %q", sizes, keys, wantKeys)
	}
}

func TestModelInspection(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: t0}
	m := NewModel(ModelOptions{Memcache: true, Now: clk.Now})
	c := m.Cache()
	for _, k := range []string{"b", "a", "c"} {
		_ = c.Set(ctx, &tier.Item{Key: k, Value: []byte(k), Flags: tier.FlagRemoved, Expires: t0.Add(time.Minute)})
	}
	m.Evict("c")
	if got := m.Keys(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Keys = %q, want [a b]", got)
	}
	it, ok := m.CacheItem("a")
	if !ok || string(it.Value) != "a" || it.Flags != tier.FlagRemoved || !it.Expires.Equal(t0.Add(time.Minute)) {
		t.Fatalf("CacheItem = %+v, %v", it, ok)
	}
	it.Value = []byte("a2")
	if err := c.CompareAndSwap(ctx, &it); err != nil {
		t.Errorf("CompareAndSwap with CacheItem's token: %v", err)
	}
	_ = putOne(ctx, m.Durable(), "y", tier.Record{Value: []byte("v"), Expires: t0.Add(1500)})
	_ = putOne(ctx, m.Durable(), "x", tier.Record{Value: []byte("v"), Expires: t0})
	if r, ok := m.Record("y"); !ok || string(r.Value) != "v" || !r.Expires.Equal(t0.Add(1000)) {
		t.Errorf("Record = %+v, %v; want v, expiring %v", r, ok, t0.Add(1000))
	}
	if got := m.IDs(); !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("IDs = %q, want [x y]", got)
	}
}

// TestModelConcurrent increments a counter with CompareAndSwap from many
// goroutines: no increment is lost (and -race finds no race).
func TestModelConcurrent(t *testing.T) {
	ctx := context.Background()
	c := NewModel(ModelOptions{Memcache: true}).Cache()
	_ = c.Add(ctx, &tier.Item{Key: "n", Value: []byte{0}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < 50; {
				it, err := c.Get(ctx, "n")
				if err != nil {
					t.Error(err)
					return
				}
				it.Value[0]++
				if err := c.CompareAndSwap(ctx, it); err == nil {
					done++
				} else if !errors.Is(err, tier.ErrCASConflict) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if it, _ := c.Get(ctx, "n"); it.Value[0] != 8*50%256 {
		t.Errorf("counter = %d, want %d", it.Value[0], 8*50%256)
	}
}
