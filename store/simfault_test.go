package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
)

// The chaos of a run, chosen before each step by the seed:
//
//   - Evictions: any cache item, at any step, also one a write-back is in
//     flight on, also twice within one request. Memcache guarantees none of
//     the old simulation's kinder assumptions (LRU is a tendency: a full
//     server, a flush or a restart drops what was written a millisecond
//     ago). The one assumption kept: an eviction happens between two calls,
//     not inside one, as each Memcache call is atomic on its server.
//   - Faults of the call about to run: it fails with no effect; it takes
//     effect and reports a failure anyway (ambiguous), or times out with or
//     without effect. Ending sessions in the Durable tier is two calls (the
//     tombstones, then the deletes), so a fault of the second leaves the
//     first done. A third of the faults stay for the task's next two
//     calls, so that retries fail too.
//   - The clock moves by up to a minute, or rarely by 5 to 10; more
//     rarely it jumps to just below or just above a horizon: an hour, a
//     tombstone's life, a timeout, MaxLifetime, an expiry
//     (simhorizon_test.go).
//
// Evicting a session the durable tier is behind on, with no write-back to
// it in flight, may lose a write (the README's Security section, "The
// Datastore copy"): such an eviction excuses invariant 5 for that session
// and is counted.

// fault is what the chaos chose for a task's next call.
type fault struct {
	kind string // fail, ambiguous, timeout, timeout-done
	left int    // further calls of the task it stays for
}

var (
	errInjected  = errors.New("injected fault")
	errAmbiguous = errors.New("injected fault after the call took effect")
)

// before is the model's Before hook: the call waits for its turn, then
// fails if the chaos chose a fault for it.
func (w *world) before(ctx context.Context, op, key string) error {
	w.mu.Lock()
	step := op + " " + w.label(key)
	w.mu.Unlock()
	w.sched.park(ctx, step)
	task := taskOf(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	f := w.faults[task]
	if f == nil {
		return nil
	}
	if f.left--; f.left < 0 {
		delete(w.faults, task)
	}
	switch f.kind {
	case "timeout":
		return fmt.Errorf("injected timeout: %w", context.DeadlineExceeded)
	case "ambiguous":
		w.after[task] = errAmbiguous
		return nil
	case "timeout-done":
		w.after[task] = fmt.Errorf("injected timeout after the call took effect: %w", context.DeadlineExceeded)
		return nil
	}
	return errInjected
}

// afterCall is the model's After hook: an ambiguous fault's error replaces
// the call's success.
func (w *world) afterCall(ctx context.Context, op, key string, err error) error {
	task := taskOf(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if e, ok := w.after[task]; ok {
		delete(w.after, task)
		if err == nil {
			w.tookEffect[task+" "+key] = true // for wroteKey
			return e
		}
	}
	return err
}

// chaos runs before each step: it checks the invariants that hold at every
// step, then may evict, move the clock, or choose a fault for the step.
func (w *world) chaos(step string) {
	w.checkEnded(step)
	if w.rng.IntN(5) == 0 {
		if keys := w.sortedKeys(); len(keys) > 0 {
			// Hot evictions are rarer, so that most sessions keep
			// invariant 5 strict.
			if key := keys[w.rng.IntN(len(keys))]; !w.isHot(key, w.sched.requests()) || w.rng.IntN(8) == 0 {
				w.evict(key, step)
			}
		}
	}
	switch n := w.rng.IntN(400); {
	case n == 0:
		w.advance(time.Duration(5+w.rng.IntN(6)) * time.Minute)
		w.notef("clock +5..10m before %s", step)
	case n < 20:
		w.advance(time.Duration(1+w.rng.IntN(60)) * time.Second)
	}
	w.jump(step)
	parts := strings.SplitN(step, " ", 3)
	if len(parts) < 2 || parts[1] == "sleep" || strings.HasPrefix(parts[1], "~") || w.rng.IntN(15) != 0 {
		return
	}
	kinds := []string{"fail", "fail", "fail", "fail", "ambiguous", "ambiguous", "ambiguous", "timeout", "timeout-done"}
	f := &fault{kind: kinds[w.rng.IntN(len(kinds))]}
	if w.rng.IntN(3) == 0 {
		f.left = 2
	}
	w.mu.Lock()
	w.faults[parts[0]] = f
	w.note("fault %s (+%d) at %s", f.kind, f.left, step)
	w.mu.Unlock()
}

// evict makes the cache forget key. When the durable tier is behind the
// cache on that session and no write-back to it is in flight, it excuses
// invariant 5 for the session.
//
// A hot eviction (of an item a write-back is in flight on, or of one
// evicted before while a request then in progress still is) also excuses
// invariant 5 for the session, and is counted: Memcache evicts the least
// recently used items, and such an item was written or read milliseconds
// ago, so only a flush or a lost server does this. Invariants 1 to 4 stay
// strict.
//
// Under such evictions a completed write can be lost: it is in the Cache
// only until its Durable Put lands, and a writer reads the Cache after its
// Put only when it merged (after a conflict or a refill) or wrote in the
// background, never on the common path (Get, compare-and-swap, Put): once
// the Cache forgets it, nothing brings it back. With -sim.strict (no
// eviction excuse: lagged, hot, cache-expiry, unconverged), 75 of seeds
// 1..20000 fail (2026-12-07): 25 of them lose a whole new session of an
// AsyncDatastoreSave run whose background Put failed (logged, never told
// to the request; the background-failed excuse reaches the sessions a
// request loaded or was given by Renew or Login, not one it added), e.g.
// seeds 807, 2733; the others lose a write or undo a deletion, e.g. 356:
// a request's Durable Put of the older value landed after that of the
// write made on top of it (neither rereads the Cache after its Put on the
// common path), and the Cache, which alone held the newer value, evicted
// it after both requests had ended (lagged). Classified earlier (before the
// horizons, with the hot excuse alone dropped, 54 runs): a request that
// missed read the Durable copy before the write's Put landed, and that
// older copy became the Cache's newest version, put back by load (22),
// refilled by a write's swap (13), or taken over by a Renew or Login that
// Added its tombstone and read the Durable copy (8); from there a Renew or
// Login took it over, a later write merged onto it and Put it over the
// write, or the writer's own recheck copied it. Also: an older write's Put
// landing after the newest value's, the newest evicted before any recheck
// (4); and the async new sessions above (7). No small fix: a put-back
// could compare the Durable copy its confirm reads with the one it put
// back, but a late Put of an older value looks the same, and replacing the
// put-back then loses the newer write (tried: 52 of the 54 still lost,
// none new).
func (w *world) evict(key, step string) {
	sid := strings.TrimPrefix(key, w.prefix)
	item, ok := w.model.CacheItem(key)
	rec, found := w.model.Record(sid)
	inFlight := w.sched.requests()
	w.mu.Lock()
	defer w.mu.Unlock()
	id := sid // the excuses are keyed by stored ID (see sid)
	if ok && !store.IsTombstone(item.Flags) && (!found || !bytes.Equal(rec.Value, item.Value)) && len(w.busy[key]) == 0 {
		w.lagged[id] = true
		w.stats.lagged++
	}
	if w.hotLocked(key, inFlight) {
		w.hot[id] = true
		w.stats.hot++
	}
	w.evictedIn[key] = inFlight
	w.model.Evict(key)
	w.note("evict %s before %s", w.label(key), step)
}

// expire notes the session items that a move of the clock to after makes
// the Cache forget while their sessions live on (Memcache keeps an item
// 30 days at most): such an expiry loses what an eviction would. One that
// an eviction now would mark lagged or hot marks its session expired,
// which excuses invariant 5 as those do.
func (w *world) expire(after time.Time) {
	inFlight := w.sched.requests()
	for _, key := range w.model.Keys() {
		item, ok := w.model.CacheItem(key)
		sid := strings.TrimPrefix(key, w.prefix)
		if !ok || item.Expires.IsZero() || item.Expires.After(after) || store.IsTombstone(item.Flags) || !w.liveValue(item.Value, sid, after) {
			continue
		}
		rec, found := w.model.Record(sid)
		w.mu.Lock()
		if !found || !bytes.Equal(rec.Value, item.Value) || w.hotLocked(key, inFlight) {
			w.expired[sid] = true
			w.note("%s expired, as a lagged or hot eviction", w.label(key))
		}
		w.mu.Unlock()
	}
}

// isHot reports whether evicting key now would be a hot eviction.
func (w *world) isHot(key string, inFlight []string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.hotLocked(key, inFlight)
}

func (w *world) hotLocked(key string, inFlight []string) bool {
	return len(w.busy[key]) > 0 || slices.ContainsFunc(w.evictedIn[key], func(r string) bool { return slices.Contains(inFlight, r) })
}

// ended frees the keys a request wrote once all its tasks have ended. The
// scheduler calls it holding its lock.
func (w *world) ended(req string, live int) {
	if live > 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, reqs := range w.busy {
		delete(reqs, req)
	}
}

// wroteKey marks key busy for the request of ctx, when its write took
// effect: also when it reported a failure anyway (an ambiguous fault). Its
// writer may not know the item is there, but it was written all the same,
// milliseconds ago: evicting it is as hot as after a success. (Random seed
// 17390445110361122502: a Login's retire wrote its FlagRenewed tombstone
// over the newest value, the Durable copy lagging, and was told it failed;
// the tombstone evicted, retire retried and took over the Durable copy:
// the eviction of a value a request has just written over while the
// Durable tier lags, which only the hot rule excuses.)
func (w *world) wroteKey(ctx context.Context, key string, err error) error {
	task := taskOf(ctx)
	w.mu.Lock()
	took := w.tookEffect[task+" "+key]
	delete(w.tookEffect, task+" "+key)
	w.mu.Unlock()
	if (err == nil || took) && task != "" {
		w.mu.Lock()
		if w.busy[key] == nil {
			w.busy[key] = map[string]bool{}
		}
		w.busy[key][rootOf(task)] = true
		w.mu.Unlock()
	}
	return err
}

// seeing registers IDs before a call.
func (w *world) seeing(ids ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, id := range ids {
		w.see(id)
	}
}

// watchCache registers keys and marks them busy when a request writes them.
type watchCache struct {
	tier.Cache
	w *world
}

// Name is the model's: errors name the tier as they would unwatched.
func (c watchCache) Name() string { return c.Cache.(tier.Named).Name() }

func (c watchCache) Get(ctx context.Context, key string) (*tier.Item, error) {
	c.w.seeing(key)
	it, err := c.Cache.Get(ctx, key)
	if err == nil && it.Flags == tier.FlagRemoved {
		// The request now knows its session logged out: its writes to
		// it may be dropped without a failure (see serve).
		c.w.mu.Lock()
		if r := c.w.byTask[rootOf2(taskOf(ctx))]; r != nil {
			if r.sawRemoved == nil {
				r.sawRemoved = map[string]bool{}
			}
			r.sawRemoved[strings.TrimPrefix(key, c.w.prefix)] = true
		}
		c.w.mu.Unlock()
	}
	return it, err
}

func (c watchCache) Add(ctx context.Context, it *tier.Item) error {
	c.w.seeing(it.Key)
	return c.w.wroteKey(ctx, it.Key, c.Cache.Add(ctx, it))
}

func (c watchCache) CompareAndSwap(ctx context.Context, it *tier.Item) error {
	c.w.seeing(it.Key)
	return c.w.wroteKey(ctx, it.Key, c.Cache.CompareAndSwap(ctx, it))
}

func (c watchCache) Set(ctx context.Context, it *tier.Item) error {
	c.w.seeing(it.Key)
	return c.w.wroteKey(ctx, it.Key, c.Cache.Set(ctx, it))
}

// SetMulti is a revocation's: the sessions it names may end.
func (c watchCache) SetMulti(ctx context.Context, items []*tier.Item) error {
	c.w.mu.Lock()
	for _, it := range items {
		c.w.see(it.Key)
		c.w.mayEnd[strings.TrimPrefix(it.Key, c.w.prefix)] = true
	}
	c.w.mu.Unlock()
	return c.Cache.SetMulti(ctx, items)
}

func (c watchCache) Delete(ctx context.Context, key string) error {
	c.w.seeing(key)
	return c.Cache.Delete(ctx, key)
}

// watchDurable registers IDs, notes who wrote each first and which may
// have ended (their tombstones written), and notes writes for traces.
type watchDurable struct {
	tier.Durable
	w *world
}

// Name is the model's.
func (d watchDurable) Name() string { return d.Durable.(tier.Named).Name() }

func (d watchDurable) GetMulti(ctx context.Context, keys []string) ([]tier.Record, error) {
	d.w.seeing(keys...)
	return d.Durable.GetMulti(ctx, keys)
}

func (d watchDurable) PutMulti(ctx context.Context, keys []string, recs []tier.Record) error {
	d.w.mu.Lock()
	r := d.w.byTask[rootOf2(taskOf(ctx))]
	for _, k := range keys {
		d.w.see(k)
		if id, tomb := strings.CutSuffix(k, tier.EndSuffix); tomb {
			d.w.mayEnd[id] = true
		} else if r != nil && d.w.origin[k] == nil {
			d.w.origin[k] = r
		}
	}
	d.w.mu.Unlock()
	err := d.Durable.PutMulti(ctx, keys, recs)
	d.w.durableFault(keys, err)
	d.w.notef("%s durable.PutMulti %v: %v", taskOf(ctx), d.w.labelsOf(keys), err)
	return err
}

// Update notes a fault it reports.
func (d watchDurable) Update(ctx context.Context, id string, f func(tier.Record, bool) (tier.Record, error)) error {
	err := d.Durable.Update(ctx, id, f)
	d.w.durableFault([]string{id}, err)
	return err
}

func (d watchDurable) DeleteMulti(ctx context.Context, keys []string) error {
	d.w.seeing(keys...)
	err := d.Durable.DeleteMulti(ctx, keys)
	d.w.notef("%s durable.DeleteMulti %v: %v", taskOf(ctx), d.w.labelsOf(keys), err)
	return err
}

// labelsOf is label of several keys, for callers that do not hold w.mu.
func (w *world) labelsOf(keys []string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	labels := make([]string, len(keys))
	for i, k := range keys {
		labels[i] = w.label(k)
	}
	return labels
}

// rootOf2 is rootOf that takes "" too.
func rootOf2(task string) string {
	if task == "" {
		return ""
	}
	return rootOf(task)
}

// logCapture keeps every log line of the run, for invariant 6, and marks
// the request whose failure was logged (a background write's).
type logCapture struct {
	w     *world
	r     *request
	attrs []slog.Attr
}

func newRequestLogger(w *world, r *request) *slog.Logger { return slog.New(&logCapture{w: w, r: r}) }

func (h *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (h *logCapture) Handle(_ context.Context, rec slog.Record) error {
	h.w.mu.Lock()
	defer h.w.mu.Unlock()
	if rec.Level >= slog.LevelError && h.r != nil {
		h.r.logged = true
		if h.r.done {
			h.w.backgroundFailed(h.r)
		}
	}
	b := &h.w.logs
	b.WriteString(rec.Level.String() + " " + rec.Message)
	write := func(a slog.Attr) bool {
		a.Value = a.Value.Resolve()
		b.WriteString(" " + a.String())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	rec.Attrs(write)
	b.WriteByte('\n')
	return nil
}

func (h *logCapture) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &c
}

func (h *logCapture) WithGroup(string) slog.Handler { return h }
