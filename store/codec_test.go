package store_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
)

// TestZeroTimeoutIsCorrupt: a stored value whose timeout is 0 (the JSON
// codec keeps one; gob omits a zero field, and the default applies) is
// corrupt, not a session that expired at once: it is reported, and the
// session is read from the Durable tier.
func TestZeroTimeoutIsCorrupt(t *testing.T) {
	t.Parallel()
	r := newRig(t, store.Options{Codec: &store.JSON})
	id := r.create(0, "a", "1")
	it, ok := r.m.CacheItem(prefix + id)
	if !ok {
		t.Fatal("the session is not in the Cache")
	}
	var v map[string]any
	if err := json.Unmarshal(it.Value, &v); err != nil {
		t.Fatal(err)
	}
	v["TimeoutF"] = 0
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.m.Cache().Set(context.Background(), &tier.Item{Key: prefix + id, Value: b, Expires: it.Expires}); err != nil {
		t.Fatal(err)
	}
	if got := r.read(id); got != "a=1" {
		t.Errorf("read = %s, want a=1 (from the Durable tier)", got)
	}
	r.wantErrs("read", 1, "memcache", store.ErrCorrupt)
}
