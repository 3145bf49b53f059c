package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// rig is a Tiers on the model of Memcache and Datastore (on the wall
// clock), with a test clock. It records the name of every call the model
// gets and the errors its stores report; at the end of the test it checks
// that no error or log line holds a full session ID.
type rig struct {
	t     *testing.T
	m     *storetest.Model
	clock *storetest.Clock
	tiers *store.Tiers
	log   *logBuffer

	loginTimeout time.Duration // of the sessions login starts; 0: icza/session's

	mu    sync.Mutex
	calls []string
	errs  []error
	ids   []string
	fault func(ctx context.Context, op, key string) error
}

// prefix is the rig's KeyPrefix.
const prefix = "p:"

// newRig returns a rig whose Tiers has opts with the model, the clock,
// prefix and a log buffer filled in.
func newRig(t *testing.T, opts store.Options) *rig {
	r := &rig{t: t, clock: &storetest.Clock{}, log: &logBuffer{}}
	r.m = storetest.NewModel(storetest.ModelOptions{Memcache: true, Before: r.before})
	opts.Cache, opts.Durable, opts.KeyPrefix, opts.Now = r.m.Cache(), r.m.Durable(), prefix, r.clock.Now
	r.tiers = store.NewTiers(opts)
	t.Cleanup(r.checkSecrets)
	return r
}

func (r *rig) before(ctx context.Context, op, key string) error {
	r.mu.Lock()
	r.calls = append(r.calls, op)
	f := r.fault
	r.mu.Unlock()
	if f != nil {
		return f(ctx, op, key)
	}
	return nil
}

// setFault makes f decide the outcome of every later call (nil: none fail).
func (r *rig) setFault(f func(ctx context.Context, op, key string) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fault = f
}

// open returns a store for one request, whose errors the rig collects.
func (r *rig) open() *store.Store {
	return r.tiers.Open(context.Background(), func(err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.errs = append(r.errs, err)
	}, slog.New(slog.NewTextHandler(r.log, nil)))
}

// take returns the calls made since the last take, sorted.
func (r *rig) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls := r.calls
	r.calls = nil
	slices.Sort(calls)
	return calls
}

// wantCalls fails the test unless the calls made since the last take are
// want, in any order.
func (r *rig) wantCalls(what string, want ...string) {
	r.t.Helper()
	slices.Sort(want)
	if got := r.take(); !slices.Equal(got, want) {
		r.t.Errorf("%s: calls %q, want %q", what, got, want)
	}
}

// takeErrs returns the errors reported since the last takeErrs.
func (r *rig) takeErrs() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	errs := r.errs
	r.errs = nil
	return errs
}

// wantErrs fails the test unless the errors reported since the last
// takeErrs are n *store.Error of tier that wrap target (if not nil).
func (r *rig) wantErrs(what string, n int, tier string, target error) {
	r.t.Helper()
	errs := r.takeErrs()
	for _, err := range errs {
		var se *store.Error
		if !errors.As(err, &se) || se.Tier != tier || target != nil && !errors.Is(err, target) {
			r.t.Errorf("%s: error %v, want a *store.Error of tier %q wrapping %v", what, err, tier, target)
		}
	}
	if len(errs) != n {
		r.t.Errorf("%s: %d errors %v, want %d", what, len(errs), errs, n)
	}
}

// newSession returns a session with the given timeout (0: icza/session's
// 30 minutes) and k=v attributes, whose ID the rig keeps secret.
func (r *rig) newSession(timeout time.Duration, kv ...string) session.Session {
	sess := session.NewSessionOptions(&session.SessOptions{Timeout: timeout})
	for i := 0; i+1 < len(kv); i += 2 {
		sess.SetAttr(kv[i], kv[i+1])
	}
	r.mu.Lock()
	r.ids = append(r.ids, sess.ID())
	r.mu.Unlock()
	return sess
}

// add stores a new session as a request does (Add, Close), its Cache item
// not yet vouched for, and returns the ID.
func (r *rig) add(timeout time.Duration, kv ...string) string {
	sess := r.newSession(timeout, kv...)
	s := r.open()
	s.Add(sess)
	s.Close()
	return sess.ID()
}

// create is add, then a read that vouches for the Cache item (flag 0); it
// forgets the calls they made.
func (r *rig) create(timeout time.Duration, kv ...string) string {
	id := r.add(timeout, kv...)
	r.read(id)
	r.take()
	return id
}

// accessed returns the access time of the durable record of id.
func (r *rig) accessed(id string) time.Time {
	r.t.Helper()
	rec, ok := r.m.Record(id)
	if !ok {
		r.t.Fatalf("no durable record of %s", id)
	}
	return decode(r.t, rec.Value).Accessed()
}

// read returns the session as a new request reads it, formatted by attrs.
func (r *rig) read(id string) string {
	s := r.open()
	defer s.Close()
	return attrs(s.Get(id))
}

// set runs a request that sets k=v on the session.
func (r *rig) set(id string, kv ...string) {
	s := r.open()
	defer s.Close()
	sess := s.Get(id)
	if sess == nil {
		r.t.Fatalf("set: session %s not found", store.ShortID(id))
	}
	for i := 0; i+1 < len(kv); i += 2 {
		sess.SetAttr(kv[i], kv[i+1])
	}
}

// cached returns what the cache holds for id: the session's attributes
// (followed by " unconfirmed" for an item not yet vouched for), "flags N"
// for a tombstone, or "gone".
func (r *rig) cached(id string) string {
	it, ok := r.m.CacheItem(prefix + id)
	switch {
	case !ok:
		return "gone"
	case it.Flags == tier.FlagUnconfirmed:
		return attrs(decode(r.t, it.Value)) + " unconfirmed"
	case it.Flags != 0:
		return fmt.Sprint("flags ", it.Flags)
	}
	return attrs(decode(r.t, it.Value))
}

// stored returns the attributes of the durable record of id, or "gone".
func (r *rig) stored(id string) string {
	rec, ok := r.m.Record(id)
	if !ok {
		return "gone"
	}
	return attrs(decode(r.t, rec.Value))
}

// checkSecrets fails the test if a reported error or a log line holds a
// full session ID.
func (r *rig) checkSecrets() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range r.ids {
		for _, err := range r.errs {
			if strings.Contains(err.Error(), id) {
				r.t.Errorf("error %q holds a full session ID", err)
			}
		}
		if strings.Contains(r.log.String(), id) {
			r.t.Errorf("log holds a full session ID:\n%s", r.log)
		}
	}
}

// decode decodes a stored value with the default codec.
func decode(t testing.TB, b []byte) session.Session {
	t.Helper()
	sess := session.NewSession()
	if err := store.Gob.Unmarshal(b, sess); err != nil {
		t.Fatalf("stored value does not decode: %v", err)
	}
	return sess
}

// attrs formats a session's attributes as sorted k=v pairs (but
// store.AttrWrites and store.AttrSetBy), or "none".
func attrs(sess session.Session) string {
	if sess == nil {
		return "none"
	}
	var kv []string
	for k, v := range sess.Attrs() {
		if k != store.AttrWrites && k != store.AttrSetBy {
			kv = append(kv, fmt.Sprintf("%s=%v", k, v))
		}
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}

// isEnd reports whether a call is the first of a Durable End: PutMulti of
// tombstones (their keys end with tier.EndSuffix), before DeleteMulti of
// the records.
func isEnd(op, key string) bool {
	return op == "durable.PutMulti" && strings.HasSuffix(key, tier.EndSuffix)
}

// logBuffer is a log destination that tests read.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
