package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
)

// check verifies a finished run: a logged-out or renewed-away ID is never
// readable again, from either tier; every write whose request reported no
// failure is in the session (the renewed one after a Renew); and the cache
// holds nothing the durable tier lacks, so an eviction now loses nothing.
// The one exception, noted as diverged and counted: a write-back's durable
// Put that lands after a newer write's, or after a logout's delete (see
// the README's Security section), leaves the durable tier behind the cache
// until the next write.
func (w *world) check(opts store.Options, id string, reqs []*request) error {
	live, gone := id, ""
	for _, r := range reqs {
		switch {
		case (r.kind == "remove" || r.kind == "revoke") && r.ok():
			live, gone = "", id
		case r.renewedTo != "" && r.ok():
			live, gone = r.renewedTo, id
		case r.renewedTo != "": // renewed, but the new session was not saved
			live, gone = "", id
		case (r.kind == "remove" || r.kind == "renew" || r.kind == "revoke") && r.loaded:
			live = "" // failed and reported: the session may have ended or not
		}
	}
	if gone != "" {
		if got := read(opts, w.model, gone, false); got != "none" {
			return fmt.Errorf("ended ID readable: %s", got)
		}
		if w.converged(opts.KeyPrefix + gone) {
			if got := read(opts, w.model, gone, true); got != "none" {
				return fmt.Errorf("ended ID readable after an eviction: %s", got)
			}
		} else {
			w.diverged = true
		}
	}
	if live == "" || w.degraded(reqs) {
		return nil
	}
	want := []string{"a=0"}
	for _, r := range reqs {
		if (r.kind == "write" || r.kind == "renew") && r.ok() {
			want = append(want, r.name+"=1")
		}
	}
	if !w.converged(opts.KeyPrefix + live) {
		w.diverged = true
	}
	for _, evict := range []bool{false, !w.diverged} {
		got := read(opts, w.model, live, evict)
		for _, kv := range want {
			if !slices.Contains(strings.Split(got, ","), kv) {
				return fmt.Errorf("completed write %s lost (evicted first: %v): session holds %s", kv, evict, got)
			}
		}
	}
	return nil
}

// degraded reports whether a request's write-back found Memcache failing
// and wrote the Durable tier without its compare-and-swap: then, as the
// README says, concurrent writes to the session are last-writer-wins.
func (w *world) degraded(reqs []*request) bool {
	for _, r := range reqs {
		for _, err := range r.errs {
			var se *store.Error
			if errors.As(err, &se) && se.Op == "save" && se.Tier == "memcache" {
				return true
			}
		}
	}
	return false
}

// read returns the attributes of a session as a fresh request sees them,
// after the cache has lost it when evict is set.
func read(opts store.Options, m *storetest.Model, id string, evict bool) string {
	if evict {
		m.Evict(opts.KeyPrefix + id)
	}
	st := store.NewTiers(opts).Open(context.Background(), func(error) {}, nil)
	defer st.Discard()
	sess := st.Get(id)
	if sess == nil {
		return "none"
	}
	var kv []string
	for k, v := range sess.Attrs() {
		kv = append(kv, fmt.Sprintf("%s=%v", k, v))
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}
