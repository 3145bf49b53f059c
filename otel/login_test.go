package otel_test

import (
	"slices"
	"testing"

	gotel "github.com/gaesession/gaesession/otel"
)

// TestLoginModel: a Login of a session the request read gives the spans of
// the calls docs/design.md lists for it, in order.
func TestLoginModel(t *testing.T) {
	r, _ := newModelRig(t, nil)
	testLogin(t, r, "memcache", "datastore", "alice")
}

// testLogin checks the tier spans of a first Login of user (an empty
// index), after the read of a session: the read's Get; the Renew of the
// old session (Get, compare-and-swap to a tombstone, the Durable
// tombstone's Put and the record's Delete, then a Get that checks no
// write-back put the session back meanwhile); the new session's Add
// beside its Durable Put (in either order); the index's Get (GetMulti)
// and its transaction (Update). A user with sessions adds a GetMulti of
// them before the transaction.
func testLogin(t *testing.T, r *rig, cache, durable, user string) {
	r.get("/new")
	r.get("/read")
	r.reset()
	r.get("/login?user=" + user)
	got := r.tierSpans()
	head := []string{"Get " + cache, "Get " + cache, "CompareAndSwap " + cache, "PutMulti " + durable, "DeleteMulti " + durable, "Get " + cache}
	both := []string{"Add " + cache, "PutMulti " + durable}
	tail := []string{"GetMulti " + durable, "Update " + durable}
	if len(got) != len(head)+len(both)+len(tail) ||
		!slices.Equal(got[:len(head)], head) ||
		!sameSet(got[len(head):len(head)+2], both) ||
		!slices.Equal(got[len(head)+2:], tail) {
		t.Fatalf("Login's tier spans:\n got %v\nwant %v, %v in either order, %v", got, head, both, tail)
	}
	if n := len(r.workSpans()); n != 1 {
		t.Errorf("%d session spans, want 1", n)
	}
	r.wantCounts("login", map[string]int64{
		gotel.MetricLogins + "{}":                      1,
		gotel.MetricReads + "{gaesession.outcome=hit}": 1,
	})
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
