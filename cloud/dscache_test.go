package cloud_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
)

// TestDatastoreCacheConformance runs the Cache suite on DatastoreCache,
// every subtest: flagged items keep their value (the tombstone entity
// holds the flag byte, then the value) and nothing is evicted.
func TestDatastoreCacheConformance(t *testing.T) {
	servers(t)
	storetest.TestCache(t, func(t *testing.T) (tier.Cache, context.Context) {
		return cloud.DatastoreCache(dsc, newKind(), ""), testContext(t)
	})
}

// TestDatastoreCacheEntities: a session item is the entity App Engine's
// backend writes, plus an unindexed version; a tombstone is the entity ID!
// of the store's Durable tombstone with the flag as its value, and
// replaces the record.
func TestDatastoreCacheEntities(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx, kind := testContext(t), newKind()
	c := cloud.DatastoreCache(dsc, kind, "p:")
	exp := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	ok(t, c.Add(ctx, &tier.Item{Key: "p:abc", Value: []byte("session"), Expires: exp}))
	props := entityProps(t, kind, "abc")
	if len(props) != 3 || !props["exp"].Value.(time.Time).Equal(exp) || props["exp"].NoIndex ||
		string(props["val"].Value.([]byte)) != "session" || !props["val"].NoIndex ||
		props["ver"].Value.(int64) == 0 || !props["ver"].NoIndex {
		t.Errorf("record %v: want exp %v indexed, val unindexed, ver unindexed and not 0", props, exp)
	}
	rec, err := store.ReadRecord(ctx, cloud.Datastore(dsc, kind), "abc") // despite ver
	if err != nil || string(rec.Value) != "session" || !rec.Expires.Equal(exp) {
		t.Errorf("cloud.Datastore reads the record as %q, %v, %v", rec.Value, rec.Expires, err)
	}

	until := exp.Add(time.Hour)
	ok(t, c.Set(ctx, &tier.Item{Key: "p:abc", Value: []byte{}, Flags: tier.FlagRemoved, Expires: until}))
	if props := entityProps(t, kind, "abc"); props != nil {
		t.Errorf("the record is still there after a tombstone: %v", props)
	}
	tomb := entityProps(t, kind, "abc"+tier.EndSuffix)
	if v := tomb["val"].Value.([]byte); len(v) != 1 || v[0] != tier.FlagRemoved || !tomb["exp"].Value.(time.Time).Equal(until) {
		t.Errorf("tombstone %v: want val [%d], exp %v", tomb, tier.FlagRemoved, until)
	}
	if _, err := store.ReadRecord(ctx, cloud.Datastore(dsc, kind), "abc"); !errors.Is(err, tier.ErrNotFound) {
		t.Errorf("cloud.Datastore reads an ended session: %v", err)
	}
}

// entityProps returns the properties of the entity named name, nil when
// there is none.
func entityProps(t *testing.T, kind, name string) map[string]datastore.Property {
	t.Helper()
	var pl datastore.PropertyList
	err := dsc.Get(context.Background(), datastore.NameKey(kind, name, nil), &pl)
	if errors.Is(err, datastore.ErrNoSuchEntity) {
		return nil
	}
	ok(t, err)
	props := map[string]datastore.Property{}
	for _, p := range pl {
		props[p.Name] = p
	}
	return props
}

// TestDatastoreCacheOtherWriters: entities the Durable backends wrote (no
// version; the empty tombstone with which the store ends a session) and
// expired ones read as they should.
func TestDatastoreCacheOtherWriters(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx, kind := testContext(t), newKind()
	c, d := cloud.DatastoreCache(dsc, kind, ""), cloud.Datastore(dsc, kind)
	exp := time.Now().Add(time.Hour)

	ok(t, d.PutMulti(ctx, []string{"plain"}, []tier.Record{{Value: []byte("v"), Expires: exp}}))
	it, err := c.Get(ctx, "plain")
	ok(t, err)
	if string(it.Value) != "v" || it.Flags != 0 {
		t.Errorf("record without a version: %q, flags %d", it.Value, it.Flags)
	}
	it.Value = []byte("v2")
	ok(t, c.CompareAndSwap(ctx, it))

	end(t, d, "plain", exp)
	if it, err := c.Get(ctx, "plain"); err != nil || it.Flags != tier.FlagGone || len(it.Value) != 0 {
		t.Errorf("after the store ended it: %+v, %v; want a FlagGone tombstone", it, err)
	}
	ok(t, c.Delete(ctx, "plain")) // deletes the record, not the tombstone
	if it, err := c.Get(ctx, "plain"); err != nil || it.Flags == 0 {
		t.Errorf("after Delete of an ended session: %+v, %v; want the tombstone", it, err)
	}

	ok(t, d.PutMulti(ctx, []string{"old"}, []tier.Record{{Value: []byte("v"), Expires: time.Now().Add(-time.Second)}}))
	if _, err := c.Get(ctx, "old"); !errors.Is(err, tier.ErrCacheMiss) {
		t.Errorf("expired record: %v, want a miss", err)
	}
	ok(t, c.Add(ctx, &tier.Item{Key: "old", Value: []byte("new"), Expires: exp}))
	end(t, d, "gone", time.Now().Add(-time.Second))
	ok(t, c.Add(ctx, &tier.Item{Key: "gone", Value: []byte("new"), Expires: exp})) // tombstone expired
	if errs := []error{keyErr(c, "x"+tier.EndSuffix), keyErr(c, "")}; errs[0] == nil || errs[1] == nil {
		t.Errorf("keys naming a tombstone or nothing: %v", errs)
	}
	if err := keyErr(cloud.DatastoreCache(dsc, kind, "p:"), "q:abc"); err == nil {
		t.Error("a key without the prefix was taken")
	}
}

// end ends a session in the Durable tier as the store does: its tombstone
// (an empty record under the ID plus tier.EndSuffix), then the record's
// deletion.
func end(t *testing.T, d tier.Durable, id string, until time.Time) {
	t.Helper()
	ctx := context.Background()
	ok(t, d.PutMulti(ctx, []string{id + tier.EndSuffix}, []tier.Record{{Value: []byte{}, Expires: until}}))
	ok(t, d.DeleteMulti(ctx, []string{id}))
}

func keyErr(c tier.Cache, key string) error {
	_, err := c.Get(context.Background(), key)
	return err
}

// TestDatastoreCacheOneWinner: of concurrent compare-and-swaps with the
// same token, exactly one succeeds, the others conflict.
func TestDatastoreCacheOneWinner(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx := testContext(t)
	c := cloud.DatastoreCache(dsc, newKind(), "")
	ok(t, c.Add(ctx, &tier.Item{Key: "k", Value: []byte("0"), Expires: time.Now().Add(time.Hour)}))
	for round := range 3 {
		base, err := c.Get(ctx, "k")
		ok(t, err)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, errs := 0, []error{}
		for i := range 8 {
			goRun(&wg, func() {
				it := *base
				it.Value = []byte{byte('a' + i)}
				err := c.CompareAndSwap(ctx, &it)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					wins++
				} else if !errors.Is(err, tier.ErrCASConflict) {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if wins != 1 || len(errs) > 0 {
			t.Fatalf("round %d: %d winners, errors %v", round, wins, errs)
		}
	}
}

// TestDatastoreCacheSetMultiBatches: SetMulti of more items than one
// commit takes (two mutations each) writes them all.
func TestDatastoreCacheSetMultiBatches(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx, kind := testContext(t), newKind()
	c := cloud.DatastoreCache(dsc, kind, "")
	items := make([]*tier.Item, tier.MaxBatch)
	for i := range items {
		items[i] = &tier.Item{Key: fmt.Sprint("id", i), Value: []byte{}, Flags: tier.FlagRemoved, Expires: time.Now().Add(time.Hour)}
	}
	ok(t, c.SetMulti(ctx, items))
	keys, err := dsc.GetAll(ctx, datastore.NewQuery(kind).KeysOnly(), nil)
	ok(t, err)
	tombs := 0
	for _, k := range keys {
		if strings.HasSuffix(k.Name, tier.EndSuffix) {
			tombs++
		}
	}
	if len(keys) != tier.MaxBatch || tombs != tier.MaxBatch {
		t.Errorf("after SetMulti of %d tombstones the kind holds %d entities, %d tombstones", tier.MaxBatch, len(keys), tombs)
	}
}
