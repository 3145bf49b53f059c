package store_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// The invariants of the simulation, all here, numbered as in failures.
//
//  1. An ended (Remove), renewed-away or revoked ID is never readable
//     again, from either tier, also after evicting it. README, Security:
//     "Logout is final: ... neither a Memcache eviction nor an outage
//     undoes a logout"; "a request that writes to the old ID afterwards
//     is told store.ErrRenewed". Checked before every step and at the end.
//  2. A RevokeAll that returned nil left none of the user's sessions that
//     existed when it began readable, nor any renewed from them; the same
//     for Revoke of a handle listed when it began. README, Log out
//     everywhere: "Revocation is as final as logout: ... a request that
//     loaded a revoked session and writes later cannot bring it back ...
//     and an eviction does not undo it". Checked as 1.
//  3. After the run settles, every live bound session is listed exactly
//     once in its user's index (Tiers.Devices shows it), and nothing else is.
//     README, Log out everywhere: "the user can see where they are logged
//     in and end any of those sessions"; "Right at once"; "Purge keeps the
//     index of a user whose sessions live on".
//  4. Live sessions per user never exceed Max once logins settle. README:
//     "Beyond UserOptions.MaxSessions (100) the user's least recently seen
//     session ends."
//  5. No completed write is lost: a request that reported no failure has
//     its writes, deletions included, in the session it ends with (the
//     renewed one after a Renew), read at once and after an eviction.
//     README, Security: "Concurrent requests ... all keep their change";
//     "the new session carries every write that landed before".
//  6. No session ID in any error or log: errors reported are *store.Error,
//     and neither they, nor the errors returned, nor a log line (captured
//     with a slog handler, level Debug) holds an ID. README, Logging: "A
//     session ID is a credential, so it never appears in errors or logs".
//  7. Nothing is left running: no task blocked outside the scheduler, and
//     Tiers.Wait returns at once. README, Security: "Background backups
//     are bounded ... Sessions.Shutdown(ctx) waits for them".
//
// Relaxations, each for the sessions a fault or a documented limit
// touched, never for the whole run: a session a request reported a
// failure on may be gone (3, 4, 5 do not ask it to live); a session a
// revocation, limit or logout tried to end may have ended; a session whose
// writes a request saved with Memcache failing is last-writer-wins, and
// one evicted while the durable tier lagged with no write-back in flight
// may lose a write (5); a session that may have expired on the clock need
// not live. Each relaxation has a name (simrelax_test.go); a run counts
// the checks each applied to and those it let pass that would have failed
// without it, and TestSimulation logs the counts.

// invFail formats an invariant's failure.
func invFail(inv int, format string, args ...any) string {
	return fmt.Sprintf("invariant %d: %s", inv, fmt.Sprintf(format, args...))
}

// invOf returns the invariants a simulate error names, as "2,5".
func invOf(err error) string {
	var invs []string
	for _, part := range strings.Split(err.Error(), "invariant ")[1:] {
		n, _, _ := strings.Cut(part, ":")
		if !slices.Contains(invs, n) {
			invs = append(invs, n)
		}
	}
	slices.Sort(invs)
	if len(invs) == 0 {
		return "setup"
	}
	return strings.Join(invs, ",")
}

// checkEnded checks invariants 1 and 2 before a step: no ended ID is
// readable.
func (w *world) checkEnded(step string) {
	w.mu.Lock()
	var ended []*simSess
	for _, s := range w.sess {
		if s.ended != "" {
			ended = append(ended, s)
		}
	}
	w.mu.Unlock()
	for _, s := range ended {
		if where := w.peek(s.id); where != "" {
			w.mu.Lock()
			inv := 1
			if s.ended == "revoked" {
				inv = 2
			}
			kind := ""
			if s.parent != nil {
				kind = map[bool]string{true: " renewed", false: " logged-in"}[s.byRenew]
			}
			msg := invFail(inv, "%s%s session %s readable from the %s before %s", s.ended, kind, w.label(s.id), where, step)
			if !slices.ContainsFunc(w.failures, func(f string) bool { return strings.HasPrefix(f, msg[:strings.Index(msg, " before")]) }) {
				w.failures = append(w.failures, msg)
			}
			w.mu.Unlock()
		}
	}
}

// peek tells, without a request, whether a session is readable: from the
// cache ("cache"), from the durable tier, so after an eviction
// (the durable tier's), or not ("").
func (w *world) peek(id string) string {
	now := w.clock.Now()
	it, ok := w.model.CacheItem(w.prefix + w.sid(id))
	// An unconfirmed item (tier.FlagUnconfirmed) is read only while the
	// durable tier has the session: not readable from the cache alone.
	cache := ok && it.Flags == 0 && w.liveValue(it.Value, id, now)
	rec, ok := w.model.Record(w.sid(id))
	tomb, ended := w.model.Record(w.sid(id) + tier.EndSuffix)
	durable := ok && !(ended && now.Before(tomb.Expires)) && now.Before(rec.Expires) && w.liveValue(rec.Value, id, now)
	switch {
	case cache && durable:
		return "cache and durable tier"
	case cache:
		return "cache (durable tier ended)"
	case durable:
		return "durable tier"
	}
	return ""
}

// liveValue reports whether a stored value is the session id, unexpired.
func (w *world) liveValue(b []byte, id string, now time.Time) bool {
	sess := session.NewSession()
	if store.Gob.Unmarshal(b, sess) != nil || sess.ID() != id && sess.ID() != w.sid(id) {
		return false
	}
	exp := sess.Accessed().Add(sess.Timeout())
	if w.opts.MaxLifetime > 0 {
		if abs := sess.Created().Add(w.opts.MaxLifetime); abs.Before(exp) {
			exp = abs
		}
	}
	return now.Before(exp)
}

// check verifies a finished run.
func (w *world) check(runErr error) error {
	var fails []string
	fail := func(inv int, format string, args ...any) { fails = append(fails, invFail(inv, format, args...)) }
	if runErr != nil {
		fail(7, "%v", runErr)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.tiers.Wait(canceled); err != nil {
		fail(7, "background writes left: %v", err)
	}
	if runErr != nil {
		return errors.New(strings.Join(append(fails, w.failures...), "; "))
	}
	n := len(w.failures)
	w.checkEnded("the end")
	for i, f := range w.failures[:n] { // readable during the run only: say so
		if !slices.ContainsFunc(w.failures[n:], func(g string) bool { return f[:strings.Index(f, " readable")] == g[:strings.Index(g, " readable")] }) {
			w.failures[i] = f + " (not at the end)"
		}
	}
	fails = append(fails, w.failures...)

	// Excuses, per session.
	isDegraded := map[string]bool{}
	for _, r := range w.reqs {
		for _, err := range r.errs {
			var se *store.Error
			if errors.As(err, &se) && se.Op == "save" && se.Tier == "memcache" {
				isDegraded[w.short[se.Session]] = true
			}
		}
		if r.logged {
			for _, s := range []*simSess{r.target, r.fresh} {
				if s != nil {
					s.bgFailed = true
				}
			}
		}
	}
	now := w.clock.Now()
	expiring := func(s *simSess) bool {
		if !now.Before(w.epoch.Add(s.timeout - time.Minute)) {
			return true
		}
		return w.opts.MaxLifetime > 0 && !now.Before(w.epoch.Add(w.opts.MaxLifetime-time.Minute))
	}
	// An index entry marked ending by a revocation or the limit whose
	// request failed before it ended the session: that session may end.
	failed := slices.ContainsFunc(w.reqs, func(r *request) bool { return r.failed() })
	for _, u := range w.users {
		rec, _ := w.model.Record(store.IndexID(u.name))
		_, ids, ending, _ := store.IndexEntries(rec.Value)
		for i, id := range ids {
			if ending[i] && failed {
				w.mayEnd[id] = true
			}
		}
	}
	// gone are the excuses of a session that may be gone (3 and 5).
	gone := func(s *simSess) []relaxation {
		var ex []relaxation
		for _, e := range []struct {
			r  relaxation
			ok bool
		}{{unsure, s.unsure}, {backgroundFailed, s.bgFailed}, {mayEnd, w.mayEnd[w.sid(s.id)]}, {mayExpire, expiring(s)}} {
			if e.ok {
				ex = append(ex, e.r)
			}
		}
		return ex
	}
	// lossy are the excuses of a session that may lack a write (5 alone).
	lossy := func(s *simSess) []relaxation {
		var deg, lag, hot, exp bool
		for a := s; a != nil; a = a.parent {
			deg, lag, hot, exp = deg || isDegraded[a.id], lag || w.lagged[w.sid(a.id)], hot || w.hot[w.sid(a.id)], exp || w.expired[w.sid(a.id)]
		}
		var ex []relaxation
		for _, e := range []struct {
			r  relaxation
			ok bool
		}{{degraded, deg}, {laggedEviction, lag}, {hotEviction, hot}, {cacheExpiry, exp}} {
			if e.ok && w.grants(e.r) {
				ex = append(ex, e.r)
			}
		}
		return ex
	}

	// 5: every live session holds its completed writes, also after an
	// eviction. Excused sessions are read all the same, to count the
	// excuses needed.
	readable := map[string]bool{}
	for _, id := range w.orderedIDs() {
		s := w.sess[id]
		if s.ended != "" {
			continue
		}
		got, ok := w.read(id, false)
		readable[id] = ok
		ex := append(gone(s), lossy(s)...)
		if !ok {
			if !w.excuse(true, ex...) {
				fail(5, "session %s lost", w.label(id))
			}
			continue
		}
		if msg := missing(s.want, got); msg != "" {
			w.maybeThere(s, len(ex), got)
			if !w.excuse(true, ex...) {
				if s.parent != nil {
					msg += " (renewed or logged in from " + w.label(s.parent.id) + ")"
				}
				fail(5, "session %s: %s", w.label(id), msg)
			}
			continue
		}
		after := ex
		if !w.converged(id) && w.grants(unconverged) { // the README's gap: an eviction now may lose the last write
			after = append(ex[:len(ex):len(ex)], unconverged)
		}
		gotAfter, okAfter := w.read(id, true)
		w.maybeThere(s, len(ex), got, gotAfter)
		if msg := missing(s.want, gotAfter); !w.excuse(!okAfter || msg != "", after...) {
			fail(5, "session %s after an eviction: readable %v, %s", w.label(id), okAfter, msg)
		}
	}

	// 3 and 4: the users' lists and limits.
	for _, u := range w.users {
		devs, err := simDevices(context.Background(), w.tiers, u.name)
		if err != nil {
			fail(3, "Devices(%s): %v", u.name, err)
			continue
		}
		rec, hasIndex := w.model.Record(store.IndexID(u.name))
		handles, ids, _, _ := store.IndexEntries(rec.Value)
		idOf, sidOf := map[string]string{}, map[string]string{}
		for i, h := range handles {
			idOf[h], sidOf[h] = w.rawID(ids[i]), ids[i]
		}
		listed := map[string]int{}
		for _, d := range devs {
			listed[d.Handle]++
		}
		var live []string
		for _, id := range w.orderedIDs() {
			s := w.sess[id]
			if s.user != u.name || s.ended != "" || !readable[id] {
				continue
			}
			live = append(live, w.label(id))
			if n := listed[s.handle]; n > 1 || !w.excuse(n == 0, gone(s)...) {
				why := ""
				switch {
				case !hasIndex:
					why = " (no index)"
				case s.parent != nil && s.byRenew:
					why = " (renewed)"
				case s.parent != nil:
					why = " (logged in from a session)"
				}
				fail(3, "live session %s of %s listed %d times%s", w.label(id), u.name, n, why)
			}
		}
		for h, n := range listed {
			id := idOf[h]
			s := w.sess[id]
			switch {
			case n > 1:
				fail(3, "%s listed %d times", w.label(id), n)
			case s == nil && (w.origin[sidOf[h]] == nil || !w.origin[sidOf[h]].failed()):
				fail(3, "%s listed, a session never handed out", w.label(id))
			case s == nil:
				w.excuse(true, orphanEntry)
			case s != nil && s.ended != "":
				fail(3, "%s listed, %s", w.label(id), s.ended)
			}
		}
		over := 0 // live sessions beyond those an end was tried on and failed
		for _, id := range w.orderedIDs() {
			if s := w.sess[id]; s.user == u.name && s.ended == "" && readable[id] && !w.mayEnd[w.sid(id)] {
				over++
			}
		}
		switch {
		case over > u.max:
			fail(4, "%d live sessions of %s (%s), Max %d", len(live), u.name, strings.Join(live, " "), u.max)
		case len(live) > over:
			w.excuse(len(live) > u.max, mayEnd)
		}
	}

	// 6: no ID in errors or logs.
	ids := map[string]bool{}
	for id := range w.seq {
		ids[id] = true
	}
	for _, r := range w.reqs {
		for _, err := range r.errs {
			var se *store.Error
			if !errors.As(err, &se) {
				fail(6, "%s reported %T %q, not a *store.Error", r.name, err, err)
			}
			if id := idIn(err.Error(), ids); id != "" {
				fail(6, "%s reported an error with the ID of %s: %q", r.name, w.label(id), err)
			}
		}
		for _, err := range r.returned {
			if id := idIn(err.Error(), ids); id != "" {
				fail(6, "%s got an error with the ID of %s: %q", r.name, w.label(id), err)
			}
		}
	}
	if id := idIn(w.logs.String(), ids); id != "" {
		fail(6, "a log line holds the ID of %s", w.label(id))
	}
	if len(fails) > 0 {
		return errors.New(strings.Join(fails, "; "))
	}
	return nil
}

// maybeThere counts the writes that may be missing (s.maybe) in what
// reads of s got, each a check of its own; others is the number of the
// session's excuses.
func (w *world) maybeThere(s *simSess, others int, gots ...map[string]any) {
	for k, m := range s.maybe {
		lacks := false
		for _, got := range gots {
			lacks = lacks || missing(map[string]any{k: m.v}, got) != ""
		}
		n := &w.stats.relax[m.why]
		n.granted++
		if lacks {
			n.needed++
			if others == 0 {
				n.alone++
			}
		}
	}
}

// missing describes the writes of want that got lacks.
func missing(want, got map[string]any) string {
	var lost []string
	for k, v := range want {
		g, ok := got[k]
		switch {
		case v == nil && ok:
			lost = append(lost, "deleted "+k+" is back")
		case v != nil && g != v:
			lost = append(lost, fmt.Sprintf("%s=%v lost (holds %v)", k, v, g))
		}
	}
	slices.Sort(lost)
	return strings.Join(lost, ", ")
}

// converged reports whether the durable tier holds what the cache holds
// of a session, so that an eviction loses nothing.
func (w *world) converged(id string) bool {
	item, ok := w.model.CacheItem(w.prefix + w.sid(id))
	if !ok || store.IsTombstone(item.Flags) {
		return true
	}
	rec, found := w.model.Record(w.sid(id))
	return found && string(rec.Value) == string(item.Value)
}

// read returns a session's attributes as a fresh request sees them, after
// the cache has lost it when evict is set.
func (w *world) read(id string, evict bool) (map[string]any, bool) {
	if evict {
		w.model.Evict(w.prefix + w.sid(id))
	}
	st := store.NewTiers(w.opts).Open(context.Background(), func(error) {}, slog.New(&logCapture{w: w}))
	defer st.Discard()
	sess := st.Get(id)
	if sess == nil {
		return nil, false
	}
	return sess.Attrs(), true
}

// idIn returns an ID of ids found in s, "" if none: it looks at every run
// of base64url characters.
func idIn(s string, ids map[string]bool) string {
	isID := func(r rune) bool {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_' || r == '='
	}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return !isID(r) }) {
		if len(tok) >= store.MinIDLen && ids[tok] {
			return tok
		}
	}
	return ""
}
