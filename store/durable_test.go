package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// kv is a Durable on a map that records its calls and fails any call that
// names a key of fail, with that key's error.
type kv struct {
	recs  map[string]tier.Record
	fail  map[string]error
	calls []string // "GetMulti a a!", ...
	short bool     // GetMulti returns one record too few
}

func newKV() *kv { return &kv{recs: map[string]tier.Record{}, fail: map[string]error{}} }

func (d *kv) call(op string, keys []string) error {
	d.calls = append(d.calls, strings.Join(append([]string{op}, keys...), " "))
	for _, k := range keys {
		if err := d.fail[k]; err != nil {
			return err
		}
	}
	return nil
}

func (d *kv) GetMulti(_ context.Context, keys []string) ([]tier.Record, error) {
	if err := d.call("GetMulti", keys); err != nil {
		return nil, err
	}
	recs := make([]tier.Record, len(keys))
	for i, k := range keys {
		recs[i] = d.recs[k]
	}
	if d.short {
		recs = recs[1:]
	}
	return recs, nil
}

func (d *kv) PutMulti(_ context.Context, keys []string, recs []tier.Record) error {
	if err := d.call("PutMulti", keys); err != nil {
		return err
	}
	for i, k := range keys {
		d.recs[k] = recs[i]
	}
	return nil
}

func (d *kv) DeleteMulti(_ context.Context, keys []string) error {
	if err := d.call("DeleteMulti", keys); err != nil {
		return err
	}
	for _, k := range keys {
		delete(d.recs, k)
	}
	return nil
}

func (d *kv) Update(context.Context, string, func(tier.Record, bool) (tier.Record, error)) error {
	return errors.New("kv: no Update")
}

func (d *kv) Expired(context.Context, time.Time, func([]string) error) error {
	return errors.New("kv: no Expired")
}

// tier returns a durableTier on d that tries each call twice, without
// waiting.
func (d *kv) tier() *durableTier {
	return &durableTier{d: d, r: retrier{tries: 2, sleep: func(context.Context, time.Duration) error { return nil }}}
}

// TestResolve: what a read of a session answers for each state of its
// record and its tombstone (present, missing, or failing to read), in one
// backend call. A tombstone hides the record whatever its expiry; a
// failure to read either key fails the read (both are read in one call,
// which fails as a whole).
func TestResolve(t *testing.T) {
	t.Parallel()
	now := time.Now()
	rec := tier.Record{Value: []byte("session"), Expires: now.Add(time.Hour)}
	live := tier.Record{Value: []byte{}, Expires: now.Add(time.Hour)}
	expired := tier.Record{Value: []byte{}, Expires: now.Add(-time.Hour)}
	failed := errors.New("injected read failure")
	const id = "abc"
	for _, tc := range []struct {
		name      string
		rec, tomb *tier.Record // nil: missing
		recErr    bool         // reading the record fails
		tombErr   bool         // reading the tombstone fails
		want      error        // nil: rec is found
	}{
		{name: "record present, tombstone present", rec: &rec, tomb: &live, want: tier.ErrNotFound},
		{name: "record present, tombstone expired", rec: &rec, tomb: &expired, want: tier.ErrNotFound},
		{name: "record present, tombstone missing", rec: &rec},
		{name: "record present, tombstone failing", rec: &rec, tombErr: true, want: failed},
		{name: "record missing, tombstone present", tomb: &live, want: tier.ErrNotFound},
		{name: "record missing, tombstone missing", want: tier.ErrNotFound},
		{name: "record missing, tombstone failing", tombErr: true, want: failed},
		{name: "record failing, tombstone present", tomb: &live, recErr: true, want: failed},
		{name: "record failing, tombstone missing", recErr: true, want: failed},
		{name: "record failing, tombstone failing", recErr: true, tombErr: true, want: failed},
		{name: "empty record, tombstone missing", rec: &tier.Record{Value: []byte{}, Expires: now}},
		{name: "expired record, tombstone missing", rec: &tier.Record{Value: []byte("old"), Expires: now.Add(-time.Hour)}}, // the caller judges expiry
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := newKV()
			var r, tomb tier.Record // as GetMulti gives them
			if tc.rec != nil {
				r, d.recs[id] = *tc.rec, *tc.rec
			}
			if tc.tomb != nil {
				tomb, d.recs[id+tier.EndSuffix] = *tc.tomb, *tc.tomb
			}
			if tc.recErr {
				d.fail[id] = failed
			}
			if tc.tombErr {
				d.fail[id+tier.EndSuffix] = failed
			}
			if !tc.recErr && !tc.tombErr {
				got, err := resolve(r, tomb)
				checkRead(t, "resolve", got, err, tc.rec, tc.want)
			}
			got, err := d.tier().Get(context.Background(), id)
			checkRead(t, "Get", got, err, tc.rec, tc.want)
			tries := 1
			if tc.want == failed {
				tries = 2 // a service error is retried
			}
			want := slices.Repeat([]string{"GetMulti abc abc!"}, tries)
			if !slices.Equal(d.calls, want) {
				t.Errorf("calls %q, want %q", d.calls, want)
			}
		})
	}
}

// checkRead fails the test unless a read gave rec (want nil) or want.
func checkRead(t *testing.T, what string, got tier.Record, err error, rec *tier.Record, want error) {
	t.Helper()
	switch {
	case want != nil && (!errors.Is(err, want) || got.Value != nil):
		t.Errorf("%s = %q, %v; want %v", what, got.Value, err, want)
	case want == nil && (err != nil || string(got.Value) != string(rec.Value) || got.Value == nil || !got.Expires.Equal(rec.Expires)):
		t.Errorf("%s = %q, %v, %v; want %q, %v", what, got.Value, got.Expires, err, rec.Value, rec.Expires)
	}
}

// TestDurableTierCalls: the backend calls of each operation of the core's
// view of the Durable tier.
func TestDurableTierCalls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	until := time.Now().Add(time.Hour)

	d := newKV()
	dt := d.tier()
	if err := dt.Put(ctx, "a", tier.Record{Value: []byte("va"), Expires: until}); err != nil {
		t.Fatal(err)
	}
	if err := dt.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := dt.End(ctx, []string{"b", "c"}, until); err != nil {
		t.Fatal(err)
	}
	want := []string{"PutMulti a", "DeleteMulti b", "PutMulti b! c!", "DeleteMulti b c"}
	if !slices.Equal(d.calls, want) {
		t.Errorf("Put, Delete, End: calls %q, want %q", d.calls, want)
	}
	for _, k := range []string{"b!", "c!"} {
		if r, ok := d.recs[k]; !ok || r.Value == nil || len(r.Value) != 0 || !r.Expires.Equal(until) {
			t.Errorf("tombstone %s = %+v, %v; want an empty value expiring %v", k, r, ok, until)
		}
	}

	// An End whose tombstones fail deletes nothing.
	d.calls, d.fail["d!"] = nil, errors.New("injected")
	d.recs["d"] = tier.Record{Value: []byte("vd")}
	if err := dt.End(ctx, []string{"d"}, until); err == nil {
		t.Error("End with its tombstones failing succeeded")
	}
	if want := []string{"PutMulti d!", "PutMulti d!"}; !slices.Equal(d.calls, want) {
		t.Errorf("failing End: calls %q, want %q", d.calls, want)
	}

	// GetMulti reads MaxBatch/2 sessions per call, two keys each.
	d.calls = nil
	ids := make([]string, tier.MaxBatch+1)
	for i := range ids {
		ids[i] = fmt.Sprint("id", i)
	}
	ids[1], ids[tier.MaxBatch] = "a", "b"
	recs, err := dt.GetMulti(ctx, ids)
	if err != nil || len(recs) != len(ids) {
		t.Fatalf("GetMulti = %d records, %v; want %d", len(recs), err, len(ids))
	}
	for i, r := range recs {
		if (i == 1) != (r.Value != nil) {
			t.Errorf("record %d (%s) = %q, want only a's", i, ids[i], r.Value)
		}
	}
	var sizes []int
	for _, c := range d.calls {
		keys := strings.Fields(c)[1:]
		sizes = append(sizes, len(keys))
		if keys[0] != ids[0] && keys[0] != ids[idsPerGet] && keys[0] != ids[2*idsPerGet] || keys[1] != keys[0]+tier.EndSuffix {
			t.Errorf("call %.40q..., want a session's key and its tombstone's first", c)
		}
	}
	if want := []int{tier.MaxBatch, tier.MaxBatch, 2}; !slices.Equal(sizes, want) {
		t.Errorf("GetMulti of %d IDs: calls of %v keys, want %v", len(ids), sizes, want)
	}

	// A backend that answers with too few records fails the read.
	d.short = true
	if _, err := dt.Get(ctx, "a"); err == nil || errors.Is(err, tier.ErrNotFound) {
		t.Errorf("Get from a backend answering too few records = %v, want a failure", err)
	}
}

// TestReadRecord: ReadRecord reads as the store does, trying once.
func TestReadRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := newKV()
	d.recs["a"], d.recs["b"], d.recs["b!"] = tier.Record{Value: []byte("va")}, tier.Record{Value: []byte("vb")}, tier.Record{Value: []byte{}}
	if r, err := ReadRecord(ctx, d, "a"); err != nil || string(r.Value) != "va" {
		t.Errorf("ReadRecord(a) = %q, %v; want va", r.Value, err)
	}
	if _, err := ReadRecord(ctx, d, "b"); !errors.Is(err, tier.ErrNotFound) {
		t.Errorf("ReadRecord of an ended session = %v, want ErrNotFound", err)
	}
	d.calls, d.fail["c"] = nil, errors.New("injected")
	if _, err := ReadRecord(ctx, d, "c"); err == nil || len(d.calls) != 1 {
		t.Errorf("ReadRecord failing = %v after %d calls, want the failure after 1", err, len(d.calls))
	}
}

// contended is a kv whose Update fails with ErrContention while left > 0,
// recording each call in log.
type contended struct {
	*kv
	left int
	log  *[]string
}

func (d *contended) Update(context.Context, string, func(tier.Record, bool) (tier.Record, error)) error {
	*d.log = append(*d.log, "update")
	if d.left > 0 {
		d.left--
		return tier.ErrContention
	}
	return nil
}

// TestDurableUpdateRetriesContention: Update calls the backend at once;
// after each ErrContention it pauses, then tries again, maxSwaps times in
// all; a pause that its context ends stops it with the last failure.
func TestDurableUpdateRetriesContention(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		left     int  // contentions before a success
		canceled bool // the pauses fail
		want     []string
		wantErr  error
	}{
		{"no contention", 0, false, []string{"update"}, nil},
		{"two contentions", 2, false, []string{"update", "sleep", "update", "sleep", "update"}, nil},
		{"the pause fails", 2, true, []string{"update", "sleep"}, tier.ErrContention},
		{"always", maxSwaps + 1, false, nil, tier.ErrContention},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log []string
			sleep := func(context.Context, time.Duration) error {
				log = append(log, "sleep")
				if tc.canceled {
					return context.Canceled
				}
				return nil
			}
			dt := &durableTier{d: &contended{kv: newKV(), left: tc.left, log: &log}, r: retrier{tries: 1, sleep: sleep}}
			err := dt.Update(context.Background(), "a", nil)
			if !errors.Is(err, tc.wantErr) || tc.wantErr == nil && err != nil {
				t.Errorf("Update = %v, want %v", err, tc.wantErr)
			}
			want := tc.want
			if want == nil { // maxSwaps tries, a pause between each two
				want = []string{"update"}
				for range maxSwaps - 1 {
					want = append(want, "sleep", "update")
				}
			}
			if !slices.Equal(log, want) {
				t.Errorf("calls %q, want %q", log, want)
			}
		})
	}
}
