package cloud_test

import (
	"errors"
	"testing"
	"time"

	"cloud.google.com/go/datastore"
	"github.com/gaesession/gaesession/cloud"
	"github.com/gaesession/gaesession/store/tier"
)

// TestDatastoreEntity: the records are App Engine's entities: the kind
// (tier.DefaultKind by default), the session ID as key name, no ancestor,
// the default namespace, and exactly the properties exp (a time, indexed)
// and val (bytes, unindexed).
func TestDatastoreEntity(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx := testContext(t)
	id := newKind() + "-TestDatastoreEntity"
	exp := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	d := cloud.Datastore(dsc, "")
	ok(t, d.PutMulti(ctx, []string{id}, []tier.Record{{Value: []byte("v"), Expires: exp}}))
	t.Cleanup(func() { _ = d.DeleteMulti(ctx, []string{id}) })

	var got datastore.PropertyList
	k := datastore.NameKey(tier.DefaultKind, id, nil)
	ok(t, dsc.Get(ctx, k, &got))
	props := map[string]datastore.Property{}
	for _, p := range got {
		props[p.Name] = p
	}
	e, v := props[tier.PropExpires], props[tier.PropValue]
	if et, ok := e.Value.(time.Time); len(got) != 2 || !ok || !et.Equal(exp) || e.NoIndex {
		t.Errorf("entity %+v: want %s a time %v, indexed", got, tier.PropExpires, exp)
	}
	if vb, ok := v.Value.([]byte); len(got) != 2 || !ok || string(vb) != "v" || !v.NoIndex {
		t.Errorf("entity %+v: want %s the bytes %q, unindexed", got, tier.PropValue, "v")
	}
	q := datastore.NewQuery(tier.DefaultKind).FilterField("__key__", "=", k).KeysOnly()
	keys, err := dsc.GetAll(ctx, q, nil)
	ok(t, err)
	if len(keys) != 1 || keys[0].Parent != nil || keys[0].Namespace != "" || keys[0].Name != id {
		t.Errorf("keys %v, want one named %q, no parent, default namespace", keys, id)
	}
}

// TestDatastoreReadsAppEngineEntity: an entity as App Engine's backend
// writes it, put with properties by name, reads as a record.
func TestDatastoreReadsAppEngineEntity(t *testing.T) {
	servers(t)
	t.Parallel()
	ctx := testContext(t)
	kind := newKind()
	exp := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	_, err := dsc.Put(ctx, datastore.NameKey(kind, "abc", nil), &datastore.PropertyList{
		{Name: "exp", Value: exp},
		{Name: "val", Value: []byte("session"), NoIndex: true},
	})
	ok(t, err)
	recs, err := cloud.Datastore(dsc, kind).GetMulti(ctx, []string{"abc"})
	ok(t, err)
	if rec := recs[0]; string(rec.Value) != "session" || !rec.Expires.Equal(exp) {
		t.Errorf("GetMulti = %q, %v; want %q, %v", rec.Value, rec.Expires, "session", exp)
	}
}

func TestDatastoreDeleteMultiLimit(t *testing.T) {
	servers(t)
	t.Parallel()
	ids := make([]string, tier.MaxBatch+1)
	for i := range ids {
		ids[i] = "id"
	}
	err := cloud.Datastore(dsc, newKind()).DeleteMulti(testContext(t), ids)
	if err == nil {
		t.Errorf("DeleteMulti of %d IDs succeeded", len(ids))
	}
	if errors.Is(err, tier.ErrNotFound) {
		t.Errorf("DeleteMulti over the limit: %v", err)
	}
}
