package store_test

import (
	"context"
	"flag"
	"fmt"
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
	"github.com/gaesession/gaesession/store/tier"
)

var (
	simSeed    = flag.Uint64("sim.seed", 0, "replay this seed of TestSimulation, with its trace")
	simRuns    = flag.Int("sim.runs", 2000, "seeds 1..N that TestSimulation runs")
	simAll     = flag.Bool("sim.all", false, "log every failing seed of TestSimulation, one line each")
	simExtra   = flag.Duration("sim.extra", 0, "time TestSimulation spends on random seeds after 1..sim.runs (exploration; CI runs fixed seeds only)")
	simHashIDs = flag.Bool("sim.hashids", false, "every run with HashIDs (else every third seed)")
	simStrict  = flag.Bool("sim.strict", false,
		"every run with StrictWrites (else every other seed): no eviction excuse (lagged-eviction, hot-eviction, cache-expiry, unconverged) in those runs")
)

// TestSimulation runs the whole protocol over the model of both tiers:
// several users with several sessions each; requests that read, set and
// delete attributes, add, log out, log in (with a limit per user), renew,
// list, revoke one session or all, and purge; background backups; a clock
// that moves; evictions of any item at any step; faults, ambiguous ones
// included. A seed fixes the scenario, the interleaving and the chaos; the
// invariants (siminv_test.go) are checked during and after each run. A
// failure prints its seed; -sim.seed=N replays it with the trace of every
// step.
func TestSimulation(t *testing.T) {
	if *simSeed != 0 {
		stats, err := simulate(*simSeed, true)
		for _, l := range stats.relax.lines() {
			t.Log(l)
		}
		if err != nil {
			t.Fatalf("seed %d: %v", *simSeed, err)
		}
		return
	}
	failed, lagged, hot, pastFault, strictRuns := 0, 0, 0, 0, 0
	var relax, strictRelax relaxCounts // runs without and with StrictWrites
	var jumps jumpStats
	byInv := map[string]int{}
	check := func(seed uint64) {
		stats, err := simulate(seed, false)
		lagged += stats.lagged
		hot += stats.hot
		if stats.strict {
			strictRuns++
			strictRelax.add(&stats.relax)
		} else {
			relax.add(&stats.relax)
		}
		jumps.add(&stats.jumpStats)
		if stats.pastFailed+stats.pastAmbiguous > 0 {
			pastFault++
		}
		if err != nil {
			failed++
			byInv[invOf(err)]++
			if *simAll {
				t.Logf("FAILED seed %d [%s]: %v", seed, invOf(err), err)
			}
			if failed <= 5 {
				t.Errorf("seed %d: %v\n(replay: go test ./store -run TestSimulation -sim.seed=%d)", seed, err, seed)
			}
		}
	}
	start := time.Now()
	for seed := uint64(1); seed <= uint64(*simRuns); seed++ {
		check(seed)
	}
	extra := 0
	for end := time.Now().Add(*simExtra); time.Now().Before(end); extra++ {
		check(rand.Uint64())
	}
	runs := *simRuns + extra
	if failed > 0 {
		t.Errorf("%d of %d runs failed, by invariant: %v", failed, runs, byInv)
	}
	t.Logf("%d runs (%d fixed seeds, %d random, strict %v) in %v; %d evictions left the durable tier behind the cache with no write-back in flight; %d hot evictions",
		runs, *simRuns, extra, *simStrict, time.Since(start).Round(time.Millisecond), lagged, hot)
	t.Logf("%d runs without StrictWrites:", runs-strictRuns)
	for _, l := range relax.lines() {
		t.Log(l)
	}
	t.Logf("%d runs with StrictWrites (no eviction excuse granted):", strictRuns)
	for _, l := range strictRelax.lines() {
		t.Log(l)
	}
	t.Logf("horizon jumps: %s", jumps.String())
	t.Logf("%d runs moved the clock past the expiry of a record, or of its cache copy, after a durable write to it reported a fault", pastFault)
}

// simStats is what a run counts.
type simStats struct {
	strict bool        // the run used StrictWrites
	lagged int         // evictions of a session the durable tier was behind on
	hot    int         // evictions during a write-back, or a second within a request
	relax  relaxCounts // what each relaxation of the invariants did
	jumpStats
}

// simUser is a user of the run, with the limit its logins pass.
type simUser struct {
	name string
	max  int
}

// world is one simulated run: the model of the tiers, the scheduler, the
// clock, and what the simulation knows the protocol must have done (the
// sessions it handed out, the writes that completed, the IDs that ended).
type world struct {
	seed   uint64
	rng    *rand.Rand // the scenario's and the chaos's choices
	hrng   *rand.Rand // the jumps to horizons' (simhorizon_test.go)
	model  *storetest.Model
	sched  *sched
	clock  *simClock
	opts   store.Options
	tiers  *store.Tiers
	prefix string
	users  []simUser
	stats  simStats
	strict bool // StrictWrites, and no eviction excuses
	hashed bool // HashIDs: the tiers hold hashes of IDs (see sid, rawID)

	rawOf map[string]string // with HashIDs: hashes to the IDs handed out

	// The timeout of sessions set up and of those started during the run;
	// the TouchInterval in effect. icza/session stamps a session's
	// creation and accesses with the wall clock, not Options.Now, so
	// every session expires its timeout after the run's start (epoch),
	// whatever touches it.
	setupTimeout, timeout, touch time.Duration
	epoch                        time.Time

	mu         sync.Mutex
	sess       map[string]*simSess // by ID: every session handed out
	devices    []*device
	reqs       []*request
	byTask     map[string]*request        // root task to its request
	seq        map[string]int             // ID to the order it was first seen in
	short      map[string]string          // ShortID to ID
	faults     map[string]*fault          // task ID to the fault of its next call
	after      map[string]error           // task ID to the error its call in progress will report
	tookEffect map[string]bool            // task ID and key: its last call took effect, though it reported a fault
	busy       map[string]map[string]bool // cache key to the requests whose writes to it are in flight
	origin     map[string]*request        // ID to the request that first wrote it
	mayEnd     map[string]bool            // stored IDs (see sid) a revocation, a limit or a logout tried to end
	lagged     map[string]bool            // IDs evicted while the durable tier was behind
	hot        map[string]bool            // IDs evicted hot (see evict)
	expired    map[string]bool            // IDs whose Cache copy expired as a lagged or hot eviction would (see expire)
	evictedIn  map[string][]string        // cache key to the requests in progress at its last eviction
	faulted    []faulted                  // Durable writes that reported a fault, by key
	failures   []string                   // invariant failures seen during the run
	events     []string
	logs       strings.Builder // every log line, for invariant 6
}

// simClock is the one clock of the run: the store's Options.Now and the
// model's ModelOptions.Now.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *simClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// simulate runs the scenario of one seed and checks the invariants.
func simulate(seed uint64, verbose bool) (simStats, error) {
	w := &world{
		seed: seed, rng: rand.New(rand.NewPCG(seed, 1)), hrng: rand.New(rand.NewPCG(seed, 2)), sched: newSched(seed), prefix: "k:", strict: *simStrict || seed%2 == 1,
		hashed: *simHashIDs || seed%3 == 0, rawOf: map[string]string{},
		clock: &simClock{now: time.Now()},
		sess:  map[string]*simSess{}, byTask: map[string]*request{}, seq: map[string]int{}, short: map[string]string{},
		faults: map[string]*fault{}, after: map[string]error{}, tookEffect: map[string]bool{},
		busy: map[string]map[string]bool{}, origin: map[string]*request{}, mayEnd: map[string]bool{}, lagged: map[string]bool{}, hot: map[string]bool{}, expired: map[string]bool{}, evictedIn: map[string][]string{},
	}
	defer func() {
		if verbose {
			w.dump()
		}
	}()
	w.epoch = w.clock.Now()
	w.timeout = []time.Duration{30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 31 * 24 * time.Hour}[w.rng.IntN(4)]
	w.setupTimeout = w.timeout
	if w.rng.IntN(3) == 0 {
		w.setupTimeout = 5 * time.Minute // so that the index expires while later sessions live
	}
	memcacheRules := w.rng.IntN(4) != 0 // else Redis's: no 30-day rule
	w.model = storetest.NewModel(storetest.ModelOptions{Memcache: memcacheRules, Now: w.clock.Now, Before: w.before, After: w.afterCall})
	w.opts = store.Options{
		KeyPrefix: w.prefix, Cache: watchCache{w.model.Cache(), w}, Durable: watchDurable{w.model.Durable(), w}, Retries: 2,
		AsyncDatastoreSave: w.rng.IntN(3) == 0, Now: w.clock.Now, StrictWrites: w.strict, HashIDs: w.hashed,
	}
	if w.rng.IntN(2) == 0 {
		w.opts.TouchInterval = time.Minute
	}
	w.touch = w.opts.TouchInterval
	if w.touch == 0 {
		w.touch = w.timeout / 10
	}
	if w.rng.IntN(4) == 0 {
		// Shorter than the timeouts but 5 minutes, or (2h) only shorter
		// than 31 days.
		w.opts.MaxLifetime = []time.Duration{20 * time.Minute, 20 * time.Minute, 2 * time.Hour}[w.hrng.IntN(3)]
	}
	w.note("setup timeout %v, timeout %v, async %v, touch %v, max lifetime %v, memcache rules %v",
		w.setupTimeout, w.timeout, w.opts.AsyncDatastoreSave, w.opts.TouchInterval, w.opts.MaxLifetime, memcacheRules)

	if err := w.setup(); err != nil {
		return w.stats, fmt.Errorf("setup: %w", err)
	}
	w.sched.onEnd = w.ended
	w.tiers = store.NewTiersWith(w.opts, w.sched.hooks())
	for _, r := range w.scenario() {
		w.sched.start(context.Background(), r.name, func(ctx context.Context) { w.serve(ctx, r) })
	}
	err := w.check(w.sched.run(50000, w.chaos))
	w.stats.strict = w.strict
	return w.stats, err
}

// setup logs each user in on one to Max devices, and adds a device with
// an unbound session, without the scheduler and without chaos; then it
// ages the world: the run starts up to 17 minutes later.
func (w *world) setup() error {
	nUsers := 1 + w.rng.IntN(2)
	for i := range nUsers {
		w.users = append(w.users, simUser{name: fmt.Sprintf("user%d", i), max: 1 + w.rng.IntN(3)})
	}
	inline := store.Hooks{
		Sleep: func(context.Context, time.Duration) error { return nil },
		Fork:  func(ctx context.Context, f func(context.Context)) func() { f(ctx); return func() {} },
		Spawn: func(ctx context.Context, f func(context.Context)) { f(ctx) },
	}
	tiers := store.NewTiersWith(w.opts, inline)
	for _, u := range w.users {
		for range 1 + w.rng.IntN(u.max) {
			st := tiers.Open(context.Background(), func(err error) { panic(err) }, slog.New(&logCapture{w: w}))
			sess, err := simLogin(st, nil, u.name, u.max, w.setupTimeout)
			if err != nil {
				return err
			}
			sess.SetAttr("a", "0")
			st.Close()
			s := w.newSess(sess.ID(), u.name, handleOf(sess), nil, false)
			s.timeout = w.setupTimeout
			s.want["a"] = "0"
			w.devices = append(w.devices, &device{name: fmt.Sprintf("d%d", len(w.devices)), user: u.name, cookie: sess.ID()})
		}
	}
	if w.rng.IntN(2) == 0 {
		st := tiers.Open(context.Background(), func(err error) { panic(err) }, slog.New(&logCapture{w: w}))
		sess := newSession(w.setupTimeout)
		sess.SetAttr("a", "0")
		st.Add(sess)
		st.Close()
		s := w.newSess(sess.ID(), "", "", nil, false)
		s.want["a"], s.timeout = "0", w.setupTimeout
		w.devices = append(w.devices, &device{name: fmt.Sprintf("d%d", len(w.devices)), user: w.users[0].name, cookie: sess.ID()})
	}
	age := []time.Duration{0, 6 * time.Minute, 12 * time.Minute}[w.rng.IntN(3)]
	w.clock.advance(age + time.Duration(w.rng.IntN(300))*time.Second)
	return nil
}

// note adds a line to the run's events, shown on replay.
func (w *world) note(format string, args ...any) {
	w.events = append(w.events, fmt.Sprintf(format, args...))
}

// notef is note for callers that do not hold w.mu.
func (w *world) notef(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.note(format, args...)
}

// label names an ID in traces by the order it was first seen in; IDs are
// random, labels are not.
func (w *world) label(id string) string {
	id = w.rawID(strings.TrimPrefix(id, w.prefix))
	if n, ok := w.seq[id]; ok {
		return fmt.Sprintf("#%d", n)
	}
	if strings.HasSuffix(id, tier.EndSuffix) {
		return w.label(strings.TrimSuffix(id, tier.EndSuffix)) + tier.EndSuffix
	}
	if store.IsIndexID(id) {
		return "index"
	}
	return short(id)
}

// see registers an ID (or cache key) the first time it is seen. Callers
// hold w.mu.
func (w *world) see(id string) {
	id = w.rawID(strings.TrimSuffix(strings.TrimPrefix(id, w.prefix), tier.EndSuffix))
	if id == "" || store.IsIndexID(id) {
		return
	}
	if _, ok := w.seq[id]; !ok {
		w.seq[id] = len(w.seq)
		w.short[store.ShortID(id)] = id
	}
}

func (w *world) dump() {
	fmt.Fprintln(os.Stderr, strings.Join(w.sched.trace, "\n"))
	fmt.Fprintln(os.Stderr, strings.Join(w.events, "\n"))
	for _, k := range w.model.Keys() {
		it, _ := w.model.CacheItem(k)
		fmt.Fprintf(os.Stderr, "cache %s: flags %d, %d bytes\n", w.label(k), it.Flags, len(it.Value))
	}
	var ids []string
	for _, id := range w.model.IDs() {
		ids = append(ids, w.label(id))
	}
	fmt.Fprintln(os.Stderr, "durable:", ids)
}

// sid returns the ID the tiers keep session id under: its hash with
// HashIDs.
func (w *world) sid(id string) string {
	if w.hashed {
		return store.HashID(id)
	}
	return id
}

// rawID returns the ID handed out whose hash is sid, or sid. Callers hold
// w.mu, or run after the requests.
func (w *world) rawID(sid string) string {
	if id, ok := w.rawOf[sid]; ok {
		return id
	}
	return sid
}

// short is a key or ID cut for traces.
func short(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// sortedKeys returns the cache keys in the order their IDs were first seen.
func (w *world) sortedKeys() []string {
	keys := w.model.Keys()
	w.mu.Lock()
	defer w.mu.Unlock()
	slices.SortFunc(keys, func(a, b string) int {
		na, oka := w.seq[w.rawID(strings.TrimPrefix(a, w.prefix))]
		nb, okb := w.seq[w.rawID(strings.TrimPrefix(b, w.prefix))]
		switch {
		case oka && okb:
			return na - nb
		case oka != okb:
			return cmpBool(!oka, !okb)
		}
		return strings.Compare(a, b)
	})
	return keys
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
