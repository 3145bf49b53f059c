package store_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/storetest"
)

var (
	simSeed  = flag.Uint64("sim.seed", 0, "replay this seed of TestSimulation, with its trace")
	simRuns  = flag.Int("sim.runs", 2000, "seeds 1..N that TestSimulation runs")
	simExtra = flag.Duration("sim.extra", time.Second, "time TestSimulation spends on random seeds after 1..sim.runs")
)

// TestSimulation runs concurrent requests on one session (write, touch,
// logout, Renew) over the model of both tiers, in an interleaving chosen by
// a seed, with Memcache evictions and faults at random steps, and checks
// what the README promises. A failure prints its seed; -sim.seed=N replays
// it with the trace of every step.
func TestSimulation(t *testing.T) {
	if *simSeed != 0 {
		if _, err := simulate(*simSeed, true); err != nil {
			t.Fatalf("seed %d: %v", *simSeed, err)
		}
		return
	}
	failed, diverged := 0, 0
	check := func(seed uint64) {
		d, err := simulate(seed, false)
		if d {
			diverged++
		}
		if err != nil {
			failed++
			if failed <= 5 {
				t.Errorf("seed %d: %v\n(replay: go test ./store -run TestSimulation -sim.seed=%d)", seed, err, seed)
			}
		}
	}
	for seed := uint64(1); seed <= uint64(*simRuns); seed++ {
		check(seed)
	}
	extra := 0
	for end := time.Now().Add(*simExtra); time.Now().Before(end); extra++ {
		check(rand.Uint64())
	}
	if failed > 0 {
		t.Errorf("%d of %d runs failed", failed, *simRuns+extra)
	}
	t.Logf("%d runs (%d fixed seeds, %d random); %d ended with the durable tier behind the cache", *simRuns+extra, *simRuns, extra, diverged)
}

// request is one simulated request and what came of it.
type request struct {
	name, kind string // kind: write, touch, remove, renew
	loaded     bool
	errs       []error
	renewedTo  string
}

func (r *request) ok() bool { return r.loaded && len(r.errs) == 0 }

// world is one simulated run.
type world struct {
	seed   uint64
	rng    *rand.Rand // the scenario's and the faults' choices
	model  *storetest.Model
	sched  *sched
	prefix string

	orig     string // the cache key of the session the run starts with
	diverged bool   // the run ended with the durable tier behind the cache

	mu      sync.Mutex
	faults  map[string]error           // task ID to the fault of its next call
	busy    map[string]map[string]bool // cache key to the requests writing it back
	evicted map[string][]string        // cache key to the requests in progress at its last eviction
	events  []string
}

// simulate runs the scenario of one seed and checks the invariants. It
// reports whether the run ended with the durable tier behind the cache.
func simulate(seed uint64, verbose bool) (diverged bool, err error) {
	w := &world{seed: seed, rng: rand.New(rand.NewPCG(seed, 1)), sched: newSched(seed), prefix: "k:", faults: map[string]error{}, busy: map[string]map[string]bool{}, evicted: map[string][]string{}}
	defer func() {
		if verbose {
			fmt.Fprintln(os.Stderr, strings.Join(w.sched.trace, "\n"))
			fmt.Fprintln(os.Stderr, strings.Join(w.events, "\n"))
			for _, k := range w.model.Keys() {
				it, _ := w.model.CacheItem(k)
				fmt.Fprintf(os.Stderr, "cache %s: flags %d, %d bytes\n", short(k), it.Flags, len(it.Value))
			}
			fmt.Fprintln(os.Stderr, "durable:", w.model.IDs())
		}
	}()
	timeout := []time.Duration{30 * time.Minute, 31 * 24 * time.Hour, 365 * 24 * time.Hour}[w.rng.IntN(3)]
	async, touch := w.rng.IntN(3) == 0, w.rng.IntN(2) == 0
	// Memcache's expiry rules, or Redis's (no 30-day rule), a quarter of
	// the runs.
	memcacheRules := w.rng.IntN(4) != 0
	w.model = storetest.NewModel(storetest.ModelOptions{Memcache: memcacheRules, Before: w.before})
	opts := store.Options{
		KeyPrefix: w.prefix, Cache: watchCache{w.model.Cache(), w}, Durable: watchDurable{w.model.Durable(), w}, Retries: 2,
		AsyncDatastoreSave: async, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if touch {
		opts.TouchInterval = time.Nanosecond // every read is due for a touch
	}
	w.note("timeout %v, async %v, touch %v, memcache rules %v", timeout, async, opts.TouchInterval, memcacheRules)

	setupTiers := store.NewTiers(opts)
	setup := setupTiers.Open(context.Background(), func(err error) { panic(err) }, nil)
	// The session is bound to a user, so that it can be revoked.
	sess, err := setup.Login(nil, store.Login{User: simUser, Timeout: timeout})
	if err != nil {
		return false, err
	}
	sess.SetAttr("a", "0")
	setup.Close()
	if err := setupTiers.Wait(context.Background()); err != nil {
		return false, err
	}
	id := sess.ID()
	w.orig = w.prefix + id

	w.sched.onEnd = w.ended
	tiers := store.NewTiersWith(opts, w.sched.hooks())
	reqs := w.scenario()
	for _, r := range reqs {
		w.sched.start(context.Background(), r.name, func(ctx context.Context) { w.serve(ctx, tiers, id, r) })
	}
	if err := w.sched.run(5000, w.chaos); err != nil {
		return false, err
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tiers.Wait(canceled); err != nil {
		return false, fmt.Errorf("background writes left: %v", err)
	}
	for _, r := range reqs {
		w.note("%s %s loaded=%v errs=%v", r.name, r.kind, r.loaded, r.errs)
		for _, e := range r.errs {
			var se *store.Error
			if r.kind == "revoke" && !strings.Contains(e.Error(), id) {
				continue // returned to the caller, not reported
			}
			if !errors.As(e, &se) || strings.Contains(e.Error(), id) {
				return false, fmt.Errorf("%s reported %q: want a *store.Error without the session ID", r.name, e)
			}
		}
	}
	err = w.check(opts, id, reqs)
	return w.diverged, err
}

// scenario picks 2 to 5 requests; at most one logs out or renews.
func (w *world) scenario() []*request {
	n := 2 + w.rng.IntN(4)
	var reqs []*request
	ending := false
	for i := range n {
		kind := []string{"write", "write", "touch", "remove", "renew", "revoke"}[w.rng.IntN(6)]
		if kind == "remove" || kind == "renew" || kind == "revoke" {
			if ending {
				kind = "write"
			}
			ending = true
		}
		reqs = append(reqs, &request{name: fmt.Sprintf("r%d", i), kind: kind})
	}
	return reqs
}

// simUser is the user the simulated session is bound to.
const simUser = "u"

// serve is one request: load, act, write back; or revoke the user's
// sessions, as an admin page would.
func (w *world) serve(ctx context.Context, tiers *store.Tiers, id string, r *request) {
	if r.kind == "revoke" {
		r.loaded = true
		if err := tiers.RevokeAll(ctx, simUser, ""); err != nil {
			r.errs = append(r.errs, err)
		}
		return
	}
	st := tiers.Open(ctx, func(err error) { r.errs = append(r.errs, err) }, nil)
	sess := st.Get(id)
	r.loaded = sess != nil
	if sess != nil {
		switch r.kind {
		case "write":
			sess.SetAttr(r.name, "1")
		case "remove":
			st.Remove(sess)
		case "renew":
			if fresh, err := st.Renew(sess); err == nil {
				fresh.SetAttr(r.name, "1")
				r.renewedTo = fresh.ID()
			}
		}
	}
	st.Close()
}

// before is the model's hook: the call waits for its turn, then fails if
// the scheduler chose a fault for it.
func (w *world) before(ctx context.Context, op, key string) error {
	w.sched.park(ctx, op+" "+short(key))
	w.mu.Lock()
	defer w.mu.Unlock()
	id := taskOf(ctx)
	err := w.faults[id]
	delete(w.faults, id)
	return err
}

// chaos runs before each step: at random it evicts a cache item (one that
// no write-back is in progress on: see watchCache) or makes the step's call
// fail.
func (w *world) chaos(step string) {
	if w.rng.IntN(6) == 0 {
		// Session IDs are random: order the keys by role, the original
		// session's first, so that the seed alone decides.
		keys := w.model.Keys()
		slices.SortStableFunc(keys, func(a, b string) int { return cmpBool(a != w.orig, b != w.orig) })
		if len(keys) > 0 {
			key := keys[w.rng.IntN(len(keys))]
			if w.evictable(key) {
				w.evict(key)
				w.note("evict %s before %s", short(key), step)
			}
		}
	}
	if !strings.HasSuffix(step, "sleep") && w.rng.IntN(20) == 0 {
		task, _, _ := strings.Cut(step, " ")
		w.mu.Lock()
		w.faults[task] = errors.New("injected fault")
		w.mu.Unlock()
		w.note("fault at %s", step)
	}
}

// converged reports whether losing the cache item loses nothing: the
// durable tier holds the same session, or, for a tombstone, none.
func (w *world) converged(key string) bool {
	item, ok := w.model.CacheItem(key)
	if !ok {
		return true
	}
	id := strings.TrimPrefix(key, w.prefix)
	rec, found := w.model.Record(id)
	if item.Flags != 0 {
		_, ended := w.model.Record(id + "!")
		return !found || ended
	}
	return found && bytes.Equal(rec.Value, item.Value)
}

func (w *world) note(format string, args ...any) {
	w.events = append(w.events, fmt.Sprintf(format, args...))
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// short is a key or ID cut for traces.
func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}
