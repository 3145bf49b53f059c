package store_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
)

// simSess is a session the simulation handed out to a device, and what
// the protocol owes it.
type simSess struct {
	id, user, handle string
	parent           *simSess // renewed or logged in from
	byRenew          bool     // parent → this by Renew: a revocation of parent reaches it
	kids             []*simSess
	want             map[string]any // completed writes: attribute to value, nil when deleted
	timeout          time.Duration
	ended            string // why it must stay unreadable: "removed", "renewed", "revoked"; "" live
	unsure           bool   // a request on it was told it failed: it may be gone
	bgFailed         bool   // a background write of a request on it failed (logged): it may be gone
	// Attributes of writes that found it logged out (a FlagRemoved
	// tombstone) and were dropped without a failure: they may be missing
	// in the sessions renewed or logged in from it (see serve).
	dropped map[string]bool
	// Attributes whose latest write may or may not be there, for
	// counting: what was written, and the relaxation that excuses it.
	maybe map[string]maybeWrite
}

// maybeWrite is a write that may be missing, and why.
type maybeWrite struct {
	v   any
	why relaxation
}

// device is a client: the session ID its cookie holds ("" none) and the
// user it logs in as.
type device struct {
	name, user, cookie string
}

// request is one simulated request and what came of it.
type request struct {
	name, kind, user string
	dev              *device
	target, fresh    *simSess        // the session it loaded; the one Renew or Login gave
	errs             []error         // reported to its error function
	returned         []error         // returned by the store's methods
	logged           bool            // a failure was logged for it (background writes)
	sawRemoved       map[string]bool // IDs whose FlagRemoved tombstone it read from the cache
	done             bool            // serve has recorded its outcome
	writes           map[string]any  // the attributes it set, once done
}

// backgroundFailed records that a background write of a request that was
// done failed (logged): its writes may be missing, in its sessions and in
// those renewed or logged in from them. Callers hold w.mu.
func (w *world) backgroundFailed(r *request) {
	for _, s := range []*simSess{r.target, r.fresh} {
		if s != nil {
			s.bgFailed = true
			w.mayHave(s, r.writes, backgroundFailed)
		}
	}
}

func (r *request) failed() bool { return r.told() || r.logged }

// told reports whether the request itself was told it failed.
func (r *request) told() bool { return len(r.errs) > 0 || len(r.returned) > 0 }

// Request kinds, with their weights.
var simKinds = []struct {
	kind   string
	weight int
}{
	{"read", 2}, {"set", 3}, {"delete", 1}, {"pair", 1}, {"add", 1}, {"remove", 1}, {"login", 3},
	{"renew", 3}, {"list", 1}, {"revoke", 1}, {"revokeall", 1}, {"revokeallkeep", 1}, {"purge", 1},
}

// scenario picks 4 to 9 requests; each starts when the scheduler picks its
// first step.
func (w *world) scenario() []*request {
	total := 0
	for _, k := range simKinds {
		total += k.weight
	}
	n := 4 + w.rng.IntN(6)
	for i := range n {
		pick := w.rng.IntN(total)
		kind := ""
		for _, k := range simKinds {
			if pick -= k.weight; pick < 0 {
				kind = k.kind
				break
			}
		}
		r := &request{name: fmt.Sprintf("r%d", i), kind: kind, user: w.users[w.rng.IntN(len(w.users))].name}
		w.reqs = append(w.reqs, r)
		w.byTask[fmt.Sprintf("/%s%d", r.name, i+1)] = r // the scheduler's name of its root task
	}
	return w.reqs
}

// serve is one request. It waits for the scheduler to start it, picks its
// device then (so that it may use a session handed out meanwhile), and
// acts as a handler would; the store's answers update what the simulation
// expects.
func (w *world) serve(ctx context.Context, r *request) {
	w.sched.park(ctx, "~begin")
	errf := func(err error) {
		w.mu.Lock()
		defer w.mu.Unlock()
		r.errs = append(r.errs, err)
	}
	log := newRequestLogger(w, r)
	switch r.kind {
	case "purge":
		w.returned(r, simPurge(ctx, w.tiers, watchDurable{w.model.Durable(), w}, w.clock.Now()))
		return
	case "list":
		_, err := simDevices(ctx, w.tiers, r.user)
		w.returned(r, err)
		return
	case "revoke":
		devs, err := simDevices(ctx, w.tiers, r.user)
		if w.returned(r, err); err != nil || len(devs) == 0 {
			return
		}
		h := devs[w.rng.IntN(len(devs))].Handle
		held := w.holding(r.user, func(s *simSess) bool { return s.handle == h })
		_, err = simRevoke(ctx, w.tiers, r.user, h)
		if w.returned(r, err); err == nil {
			w.revoked(held)
		}
		return
	case "revokeall":
		held := w.holding(r.user, func(*simSess) bool { return true })
		err := simRevokeAll(ctx, w.tiers, r.user, "")
		if w.returned(r, err); err == nil {
			w.revoked(held)
		}
		return
	}
	st := w.tiers.Open(ctx, errf, log)
	if r.kind == "add" {
		sess := newSession(w.timeout)
		sess.SetAttr(r.name, "1")
		st.Add(sess)
		st.Close()
		if !w.failedNow(r) {
			w.mu.Lock()
			s := w.newSess(sess.ID(), "", "", nil, false)
			s.want[r.name], s.timeout = "1", w.timeout
			w.devices = append(w.devices, &device{name: "d" + r.name, user: r.user, cookie: sess.ID()})
			w.mu.Unlock()
		}
		return
	}
	r.dev = w.devices[w.rng.IntN(len(w.devices))]
	var sess session.Session
	if id := r.dev.cookie; id != "" {
		w.mu.Lock()
		r.target = w.sess[id]
		w.mu.Unlock()
		sess = st.Get(id)
	}
	if sess == nil {
		r.target = nil // Login starts a new session
	}
	if sess == nil && r.kind != "login" {
		st.Close()
		return
	}
	writes := map[string]any{}
	set := func(sess session.Session, name string, v any) {
		sess.SetAttr(name, v)
		writes[name] = v
	}
	ends := sess // the session the request ends with
	switch r.kind {
	case "set":
		set(sess, r.name, "1")
	case "delete":
		set(sess, "a", nil)
	case "pair": // one Store, two goroutines
		_, done := w.sched.start(ctx, "g", func(ctx context.Context) {
			w.sched.park(ctx, "~setattr")
			st.Get(sess.ID()).SetAttr(r.name+"g", "1")
		})
		w.sched.park(ctx, "~setattr")
		sess.SetAttr(r.name, "1")
		w.sched.wait(ctx, done)
		writes[r.name], writes[r.name+"g"] = "1", "1"
	case "remove":
		n := len(r.errs)
		st.Remove(sess)
		if !w.failedNow(r) && len(r.errs) == n {
			w.mu.Lock()
			w.end(r.target, "removed")
			r.dev.cookie = ""
			w.mu.Unlock()
		}
		ends = nil
	case "renew", "login":
		var fresh session.Session
		var err error
		if r.kind == "renew" {
			fresh, err = simRenew(st, sess)
		} else {
			fresh, err = simLogin(st, sess, r.dev.user, w.maxOf(r.dev.user), w.timeout)
		}
		if w.returned(r, err); err != nil {
			ends = nil
			break
		}
		w.mu.Lock()
		r.fresh = w.newSess(fresh.ID(), userOf(fresh), handleOf(fresh), r.target, r.kind == "renew")
		r.fresh.timeout = w.timeout // Login of no session
		if r.target != nil {
			r.fresh.timeout = r.target.timeout
		}
		if r.target != nil {
			w.end(r.target, "renewed")
		}
		r.dev.cookie = fresh.ID()
		w.mu.Unlock()
		set(fresh, r.name, "1")
		ends = fresh
	case "revokeallkeep": // log out everywhere else, as after a password change
		keep := handleOf(sess)
		held := w.holding(r.user, func(s *simSess) bool { return s.handle != keep || keep == "" })
		err := simRevokeAll(ctx, w.tiers, r.user, keep)
		if w.returned(r, err); err == nil {
			w.revoked(held)
		}
	}
	st.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	r.done, r.writes = true, writes
	if r.failed() {
		for _, s := range []*simSess{r.target, r.fresh} {
			if s == nil {
				continue
			}
			if r.told() {
				s.unsure = true
				w.mayHave(s, writes, toldFailed)
			} else {
				s.bgFailed = true
				w.mayHave(s, writes, backgroundFailed)
			}
		}
		return
	}
	if ends == nil {
		return
	}
	s := w.sess[ends.ID()]
	if s != nil && r.sawRemoved[w.sid(s.id)] {
		// The write found its session logged out or revoked: "logout
		// wins", dropped without a failure. A Renew or Login from the
		// session may have retired it before (its FlagRenewed tombstone,
		// which would have made the write report ErrRenewed, overwritten
		// by the logout's FlagRemoved), so the write may or may not be in
		// the sessions renewed or logged in from it, now or later: it is
		// not a write that landed before the Renew, which is all they
		// carry. The session itself has ended; only these attributes are
		// relaxed, and only in its descendants.
		for k, v := range writes {
			s.want[k] = v
			delete(s.maybe, k)
			if s.dropped == nil {
				s.dropped = map[string]bool{}
			}
			s.dropped[k] = true
		}
		for _, kid := range s.kids {
			w.mayHave(kid, writes, logoutWins)
		}
		return
	}
	w.wrote(s, writes)
}

// returned notes an error a store method returned.
func (w *world) returned(r *request, err error) {
	if err != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
		r.returned = append(r.returned, err)
	}
}

// failedNow reports whether the request has reported a failure so far.
func (w *world) failedNow(r *request) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return r.failed()
}

// newSess records a session handed out. Callers hold w.mu, or run alone.
func (w *world) newSess(id, user, handle string, parent *simSess, byRenew bool) *simSess {
	if w.hashed {
		// Its calls, seen before the ID was known, were labeled by hash.
		h := store.HashID(id)
		w.rawOf[h] = id
		if n, ok := w.seq[h]; ok {
			if _, ok := w.seq[id]; !ok {
				w.seq[id] = n
				w.short[store.ShortID(id)] = id
			}
		}
	}
	w.see(id)
	s := &simSess{id: id, user: user, handle: handle, parent: parent, byRenew: byRenew, want: map[string]any{}, maybe: map[string]maybeWrite{}}
	if parent != nil {
		for k, v := range parent.want {
			if !parent.dropped[k] { // a dropped write may not have been taken over (see serve)
				s.want[k] = v
			} else {
				s.maybe[k] = maybeWrite{v, logoutWins}
			}
		}
		for k, m := range parent.maybe {
			s.maybe[k] = m
		}
		parent.kids = append(parent.kids, s)
		if byRenew && parent.ended == "revoked" {
			s.ended = "revoked" // renewed from a revoked session: revoked too
		}
	}
	w.sess[id] = s
	return s
}

// wrote records a request's completed writes in the session it ended with
// and in those renewed or logged in from it since (they took its newest
// value). Callers hold w.mu.
func (w *world) wrote(s *simSess, writes map[string]any) {
	if s == nil {
		return
	}
	for k, v := range writes {
		s.want[k] = v
		delete(s.maybe, k)
	}
	for _, kid := range s.kids {
		w.wrote(kid, writes)
	}
}

// mayHave records writes that may have landed or not (a request that
// failed, why), in the session and in those renewed or logged in from it,
// so invariant 5 asks nothing of those attributes until a later completed
// write; it only counts whether they are there. Callers hold w.mu.
func (w *world) mayHave(s *simSess, writes map[string]any, why relaxation) {
	for k, v := range writes {
		delete(s.want, k)
		s.maybe[k] = maybeWrite{v, why}
	}
	for _, kid := range s.kids {
		w.mayHave(kid, writes, why)
	}
}

// end records that a session must stay unreadable. Callers hold w.mu.
func (w *world) end(s *simSess, why string) {
	if s != nil && s.ended == "" {
		s.ended = why
		w.note("%s ended: %s", w.label(s.id), why)
	}
}

// holding returns the live sessions of a user that match: those a
// revocation beginning now must end.
func (w *world) holding(user string, match func(*simSess) bool) []*simSess {
	w.mu.Lock()
	defer w.mu.Unlock()
	var held []*simSess
	for _, id := range w.orderedIDs() {
		if s := w.sess[id]; s.user == user && s.ended == "" && match(s) {
			held = append(held, s)
		}
	}
	return held
}

// revoked records a revocation that returned nil: the sessions it held at
// its beginning, and those renewed from them, must stay unreadable.
func (w *world) revoked(held []*simSess) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var mark func(s *simSess)
	mark = func(s *simSess) {
		s.ended = "" // revocation is the stronger reason
		w.end(s, "revoked")
		for _, kid := range s.kids {
			if kid.byRenew {
				mark(kid)
			}
		}
	}
	for _, s := range held {
		mark(s)
	}
}

// orderedIDs returns the IDs of the sessions handed out, in the order they
// were seen. Callers hold w.mu.
func (w *world) orderedIDs() []string {
	ids := make([]string, 0, len(w.sess))
	for id := range w.sess {
		ids = append(ids, id)
	}
	sortBy(ids, func(id string) int { return w.seq[id] })
	return ids
}

func (w *world) maxOf(user string) int {
	for _, u := range w.users {
		if u.name == user {
			return u.max
		}
	}
	return 0
}

func newSession(timeout time.Duration) session.Session {
	return session.NewSessionOptions(&session.SessOptions{Timeout: timeout})
}

func userOf(sess session.Session) string {
	u, _ := sess.Attr(store.AttrUser).(string)
	return u
}

func handleOf(sess session.Session) string {
	h, _ := sess.Attr(store.AttrHandle).(string)
	return h
}

// sortBy sorts s by key.
func sortBy(s []string, key func(string) int) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && key(s[j]) < key(s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
