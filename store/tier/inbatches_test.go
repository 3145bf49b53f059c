package tier_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gaesession/gaesession/store/tier"
)

func TestInBatches(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name     string
		n        int   // IDs next returns
		failAt   int   // next fails at this call (0: never)
		batchErr error // returned by the second batch
		want     string
		wantErr  error
	}{
		{"none", 0, 0, nil, "[]", nil},
		{"one", 1, 0, nil, "[1]", nil},
		{"full batches and a rest", 2*tier.MaxBatch + 1, 0, nil, "[500 500 1]", nil},
		{"exactly full", tier.MaxBatch, 0, nil, "[500]", nil},
		{"next fails", 2 * tier.MaxBatch, tier.MaxBatch + 3, nil, "[500]", boom},
		{"batch fails", 3 * tier.MaxBatch, 0, boom, "[500 500]", boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls, seen := 0, 0
			next := func() (string, bool, error) {
				calls++
				switch {
				case calls == tc.failAt:
					return "", false, boom
				case calls > tc.n:
					return "", false, nil
				}
				return fmt.Sprint(calls), true, nil
			}
			var sizes []int
			var batches [][]string // kept: purge deletes them in the background
			err := tier.InBatches(next, func(ids []string) error {
				batches = append(batches, ids)
				sizes = append(sizes, len(ids))
				if len(sizes) == 2 {
					return tc.batchErr
				}
				return nil
			})
			for _, ids := range batches {
				for _, id := range ids {
					if seen++; id != fmt.Sprint(seen) {
						t.Fatalf("ID %q at %d, want each batch its own, in order", id, seen)
					}
				}
			}
			if got := fmt.Sprint(sizes); got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("batches %s, error %v; want %s, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
