package store_test

import "fmt"

// relaxation names one excuse an invariant grants (see siminv_test.go).
// Each run counts, per relaxation, the checks it applied to (granted), and
// of those the checks that would have failed without the excuses they had
// (needed), and of those the ones it was the only excuse of (alone): the
// excuses a run really leaned on.
type relaxation int

const (
	// toldFailed: an attribute written by a request that was told it
	// failed may or may not be there, in its session and in those renewed
	// or logged in from it (5, that attribute).
	toldFailed relaxation = iota
	// unsure: a session a request was told it failed on may be gone, or
	// lack writes of others (3, 5).
	unsure
	// backgroundFailed: a session whose background write failed (logged,
	// AsyncDatastoreSave) may be gone, or lack writes (3, 5).
	backgroundFailed
	// logoutWins: a write that found its session logged out was dropped
	// without a failure: it may be missing in the sessions renewed or
	// logged in from it (5, that attribute).
	logoutWins
	// degraded: a session saved while the Cache failed is
	// last-writer-wins (5).
	degraded
	// laggedEviction: the session, or one it was renewed or logged in from,
	// was evicted while the Durable tier was behind the Cache, no
	// write-back in flight (5).
	laggedEviction
	// hotEviction: the session, or one it was renewed or logged in from,
	// was evicted during a write-back to it, or twice within a request
	// (5).
	hotEviction
	// cacheExpiry: the Cache copy of the session, or of one it was renewed
	// or logged in from, expired on a move of the clock while the Durable
	// tier was behind it or a write to it was in flight (5): as an
	// eviction. Only the simulation's jumps do that: Memcache keeps a
	// 31-day session's copy 30 days (its cap), and a jump within a request
	// can pass that between a write's compare-and-swap and its Durable Put.
	cacheExpiry
	// unconverged: at the end, the Durable tier is behind the Cache on the
	// session; an eviction now may lose the last write (5, the read after
	// an eviction).
	unconverged
	// mayEnd: a revocation, the limit or a logout tried to end the session
	// (3, 4, 5).
	mayEnd
	// mayExpire: the clock is within a minute of the session's timeout or
	// MaxLifetime, or past it (3, 5).
	mayExpire
	// orphanEntry: an index entry of a session never handed out, written
	// by a request that failed (3).
	orphanEntry
	numRelaxations
)

var relaxationNames = [numRelaxations]string{
	toldFailed:       "told-failed",
	unsure:           "unsure",
	backgroundFailed: "background-failed",
	logoutWins:       "logout-wins",
	degraded:         "degraded",
	laggedEviction:   "lagged-eviction",
	hotEviction:      "hot-eviction",
	cacheExpiry:      "cache-expiry",
	unconverged:      "unconverged",
	mayEnd:           "may-end",
	mayExpire:        "may-expire",
	orphanEntry:      "orphan-entry",
}

func (r relaxation) String() string { return relaxationNames[r] }

// eviction reports whether r is an excuse of evictions, which let
// invariant 5 lose a completed write: -sim.strict grants none.
func (r relaxation) eviction() bool {
	return r == laggedEviction || r == hotEviction || r == cacheExpiry || r == unconverged
}

// relaxCount is what a relaxation did in one run or more.
type relaxCount struct {
	granted, needed, alone int
}

// relaxCounts counts every relaxation.
type relaxCounts [numRelaxations]relaxCount

func (c *relaxCounts) add(o *relaxCounts) {
	for i := range c {
		c[i].granted += o[i].granted
		c[i].needed += o[i].needed
		c[i].alone += o[i].alone
	}
}

// lines are the counts as log lines, one per relaxation.
func (c *relaxCounts) lines() []string {
	lines := make([]string, len(c))
	for i, n := range c {
		lines[i] = fmt.Sprintf("relaxations: %s=%d needed (%d alone), %d granted", relaxation(i), n.needed, n.alone, n.granted)
	}
	return lines
}

// grants reports whether the run grants r.
func (w *world) grants(r relaxation) bool { return !w.strict || !r.eviction() }

// excuse counts one check: the excuses that applied to it, and whether it
// would have failed without them (failed). It reports whether the check
// passes: it did not fail, or an excuse let it.
func (w *world) excuse(failed bool, excuses ...relaxation) bool {
	for _, r := range excuses {
		n := &w.stats.relax[r]
		n.granted++
		if failed {
			n.needed++
			if len(excuses) == 1 {
				n.alone++
			}
		}
	}
	return !failed || len(excuses) > 0
}
