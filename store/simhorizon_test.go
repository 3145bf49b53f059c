package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// Horizons: besides its small moves (simfault_test.go), the chaos rarely
// jumps the clock to just below or just above a time the protocol cares
// about, by 1 second to 2 minutes (an exact hit too, for lengths):
//
//   - one hour from now: minTombstone (store/tombstone.go), the life of a
//     FlagGone tombstone and how long an index entry marked ending waits
//     before a clean-up may end it;
//   - a tombstone's life from now, max(timeout+10m, 1h), for the timeout
//     of the sessions set up or of those started during the run;
//   - a session's timeout: icza/session stamps accesses with the wall
//     clock, so sessions expire at the run's start plus their timeout;
//   - MaxLifetime from the run's start, when the run sets it;
//   - the expiry of a Cache item or a Durable record, that of one a
//     Durable write failed on or was ambiguous about first, if any.
//
// The jumps draw from a generator of their own, so that a run without
// one is the run it was before they existed. The clock stays on whole
// seconds from the run's start, so that a replay compares times as the
// run did (the wall clock's fraction of a second never decides).

// horizon names a time the protocol cares about.
type horizon int

const (
	oneHour horizon = iota
	tombstoneLife
	timeoutHorizon
	maxLifetimeHorizon
	expiryHorizon
	numHorizons
)

var horizonNames = [numHorizons]string{"one-hour", "tombstone-life", "timeout", "max-lifetime", "expiry"}

// horizonOdds: a step is preceded by a jump once in horizonOdds (runs
// take about 50 steps).
const horizonOdds = 200

// jumpStats is what the jumps of a run did.
type jumpStats struct {
	jumps [numHorizons]int
	// Clock moves past the expiry of a record, or of its Cache copy,
	// after a Durable write to it failed (with no effect), or was
	// ambiguous (took effect, or may have, and reported a failure).
	pastFailed, pastAmbiguous int
}

func (j *jumpStats) add(o *jumpStats) {
	for i := range j.jumps {
		j.jumps[i] += o.jumps[i]
	}
	j.pastFailed += o.pastFailed
	j.pastAmbiguous += o.pastAmbiguous
}

func (j *jumpStats) String() string {
	var b strings.Builder
	for h, n := range j.jumps {
		fmt.Fprintf(&b, "%s=%d ", horizonNames[h], n)
	}
	fmt.Fprintf(&b, "(moves past an expiry after a failed durable write %d, after an ambiguous one %d)", j.pastFailed, j.pastAmbiguous)
	return b.String()
}

// faulted is a Durable write that reported a fault.
type faulted struct {
	key       string
	ambiguous bool
}

// jump may move the clock to a horizon, before step.
func (w *world) jump(step string) {
	if w.hrng.IntN(horizonOdds) != 0 {
		return
	}
	now := w.clock.Now()
	h := horizon(w.hrng.IntN(int(numHorizons)))
	timeout := w.timeout
	if w.hrng.IntN(2) == 0 {
		timeout = w.setupTimeout
	}
	var at time.Time
	exact := false // at is on the clock's grid: a jump may hit it
	switch h {
	case oneHour:
		at, exact = now.Add(time.Hour), true
	case tombstoneLife:
		at, exact = now.Add(max(timeout+10*time.Minute, time.Hour)), true
	case timeoutHorizon:
		if at = w.epoch.Add(timeout); !at.After(now) {
			at = now.Add(timeout)
		}
	case maxLifetimeHorizon:
		if w.opts.MaxLifetime == 0 {
			return
		}
		if at = w.epoch.Add(w.opts.MaxLifetime); !at.After(now) {
			at = now.Add(w.opts.MaxLifetime)
		}
	case expiryHorizon:
		if at = w.anExpiry(now); at.IsZero() {
			return
		}
	}
	at = w.onGrid(at)
	delta := time.Duration(1+w.hrng.IntN(120)) * time.Second
	side := "below"
	if w.hrng.IntN(2) == 0 {
		side = "above"
		if exact && w.hrng.IntN(4) == 0 {
			delta = 0
		}
	} else {
		delta = -delta
	}
	if d := at.Add(delta).Sub(now); d > 0 {
		w.stats.jumps[h]++
		w.advance(d)
		w.notef("clock +%v: %s %v %s before %s", d, side, delta.Abs(), horizonNames[h], step)
	}
}

// anExpiry returns the expiry of a Cache item or a Durable record after
// now, one a Durable write reported a fault on first; zero if none.
func (w *world) anExpiry(now time.Time) time.Time {
	var all, after []time.Time
	w.mu.Lock()
	faults := w.faulted
	w.mu.Unlock()
	for _, f := range faults {
		for _, exp := range w.expiriesOf(f.key) {
			if exp.After(now) {
				after = append(after, exp)
			}
		}
	}
	if len(after) > 0 && w.hrng.IntN(2) == 0 {
		return w.pick(after)
	}
	for _, k := range w.model.Keys() {
		if it, ok := w.model.CacheItem(k); ok && it.Expires.After(now) {
			all = append(all, it.Expires)
		}
	}
	for _, id := range w.model.IDs() {
		if rec, ok := w.model.Record(id); ok && rec.Expires.After(now) {
			all = append(all, rec.Expires)
		}
	}
	return w.pick(all)
}

// pick returns one of times, zero if none. It sorts them first, on the
// clock's grid: items are listed by their random IDs, which a replay does
// not repeat.
func (w *world) pick(times []time.Time) time.Time {
	if len(times) == 0 {
		return time.Time{}
	}
	for i, t := range times {
		times[i] = w.onGrid(t)
	}
	slices.SortFunc(times, time.Time.Compare)
	return times[w.hrng.IntN(len(times))]
}

// onGrid rounds t to whole seconds from the run's start.
func (w *world) onGrid(t time.Time) time.Time {
	return w.epoch.Add(t.Sub(w.epoch).Round(time.Second))
}

// expiriesOf returns the expiries of the Durable record key and of its
// Cache copy (a tombstone record's is the session's Cache item).
func (w *world) expiriesOf(key string) []time.Time {
	var exps []time.Time
	if rec, ok := w.model.Record(key); ok {
		exps = append(exps, rec.Expires)
	}
	if it, ok := w.model.CacheItem(w.prefix + strings.TrimSuffix(key, tier.EndSuffix)); ok && !it.Expires.IsZero() {
		exps = append(exps, it.Expires)
	}
	return exps
}

// advance moves the clock by d, noting the Cache items it makes expire
// (see expire) and counting the moves past the expiry of a record a
// Durable write reported a fault on, or of its Cache copy.
func (w *world) advance(d time.Duration) {
	w.mu.Lock()
	faults := w.faulted
	w.mu.Unlock()
	before := w.clock.Now()
	after := before.Add(d)
	w.expire(after)
	for _, f := range faults {
		for _, exp := range w.expiriesOf(f.key) {
			if exp.After(before) && !exp.After(after) {
				if f.ambiguous {
					w.stats.pastAmbiguous++
				} else {
					w.stats.pastFailed++
				}
				break
			}
		}
	}
	w.clock.advance(d)
}

// durableFault notes the keys of a Durable write that reported a fault
// (err), once each.
func (w *world) durableFault(keys []string, err error) {
	if err == nil || !errors.Is(err, errInjected) && !errors.Is(err, errAmbiguous) && !errors.Is(err, context.DeadlineExceeded) {
		return
	}
	ambiguous := strings.Contains(err.Error(), "took effect")
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, k := range keys {
		if f := (faulted{k, ambiguous}); !slices.Contains(w.faulted, f) {
			w.faulted = append(w.faulted, f)
		}
	}
}
