package gaesessiontest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
)

// behaviours are TestBehaviour's subtests; those of users are in
// behaviourusers.go.
var behaviours = []struct {
	name string
	f    func(s *suite)
}{
	{"Lifecycle", lifecycle},
	{"ConcurrentWritersMerged", concurrentWriters},
	{"LogoutIsFinal", logoutIsFinal},
	{"Renew", renew},
	{"RenewKeepsOtherWrites", renewKeepsOtherWrites},
	{"Eviction", eviction},
	{"EvictionKeepsCompletedWrite", evictionKeepsCompletedWrite},
	{"LongTimeouts", longTimeouts},
	{"Expiry", expiry},
	{"Login", login},
	{"Devices", devices},
	{"Revoke", revoke},
	{"RevokedStaysRevoked", revokedStaysRevoked},
	{"RevokeOthersThenLogoutEverywhere", revokeOthersThenLogoutEverywhere},
	{"PerUserLimit", perUserLimit},
	{"Purge", purgeExpired},
}

// steps sends each request of b in turn and fails at the first answer
// that is not the one wanted.
func (b *browser) steps(steps ...[2]string) {
	b.e.Helper()
	for _, s := range steps {
		if got := b.get(s[0]); got != s[1] {
			b.e.Fatalf("GET %s = %q, want %q", s[0], got, s[1])
		}
	}
}

// lifecycle: a session is created, read, changed, read, and stored in both
// tiers; Remove deletes its cookie and leaves a tombstone, and its ID reads
// as no session.
func lifecycle(s *suite) {
	e := s.env(gaesession.Options{})
	e.steps([2]string{"/?op=new&a=1", "a=1"}, [2]string{"/", "a=1"},
		[2]string{"/?op=set&b=2", "a=1,b=2"}, [2]string{"/", "a=1,b=2"})
	id := e.id()
	e.wantTiers(id, "a=1,b=2", "a=1,b=2")
	res := e.do(e.h, "/?op=remove")
	if got := Body(e.T, res); got != "none" {
		e.Errorf("remove answered %q", got)
	}
	if ck := res.Cookies(); len(ck) != 1 || ck[0].Name != "sessid" || ck[0].MaxAge >= 0 {
		e.Errorf("remove set cookies %v, want one deleting the session cookie", ck)
	}
	e.wantTiers(id, "tombstone", "gone")
	e.setID(id)
	if got := e.get("/"); got != "none" {
		e.Errorf("removed session read back: %q", got)
	}
}

// concurrentWriters: 20 requests on one session, each setting its own
// attribute at once: every change reaches the Cache, and the Durable tier
// with the next write. (A write-back's Durable Put may land after a newer
// one's, leaving the Durable tier behind until the next write: see
// docs/security.md.)
func concurrentWriters(s *suite) {
	e := s.env(gaesession.Options{})
	e.get("/?op=new&base=0")
	want := writeAll(e.browser, 20, "base=0") + ",zz=1"
	if got := e.get("/?op=set&zz=1"); got != want {
		e.Errorf("after 20 concurrent writers and one more the session reads %s, want %s", got, want)
	}
	e.wantTiers(e.id(), want, want)
}

// writeAll sets k00..k(n-1) on b's session in n concurrent requests and
// returns what the session should then hold, with base.
func writeAll(b *browser, n int, base string) string {
	var wg sync.WaitGroup
	want := []string{base}
	for i := range n {
		want = append(want, fmt.Sprintf("k%02d=%d", i, i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.get(fmt.Sprintf("/?op=set&k%02d=%d", i, i))
		}()
	}
	wg.Wait()
	return strings.Join(want, ",")
}

// logoutIsFinal: a request that loaded the session before the logout and
// writes after it cannot bring the session back, in either tier, also once
// the Cache has forgotten the tombstone.
func logoutIsFinal(s *suite) {
	e := s.env(gaesession.Options{})
	e.get("/?op=new&user=gopher")
	id := e.id()
	e.logoutWithLateWrite()
	if e.b.Evict == nil {
		return
	}
	e.evict(id)
	if got := e.get("/"); got != "none" {
		e.Errorf("logged-out session readable after an eviction: %q", got)
	}
}

// logoutWithLateWrite removes the session of the env's browser while a
// request that loaded it before waits, lets that request write, and fails
// unless the session stays ended: a tombstone in the Cache, nothing in the
// Durable tier, and its ID reads as no session.
func (e *env) logoutWithLateWrite() {
	e.Helper()
	id := e.id()
	finish := e.hold(func(_ *gaesession.Manager, sess session.Session, _ http.ResponseWriter) {
		sess.SetAttr("late", "write")
	})
	e.get("/?op=remove")
	finish()
	e.wantTiers(id, "tombstone", "gone")
	e.setID(id)
	if got := e.get("/"); got != "none" {
		e.Errorf("logged-out session readable: %q", got)
	}
}

// renew: Renew moves the session to a new ID of the same length with its
// attributes; the old ID holds a tombstone and reads as no session.
func renew(s *suite) {
	e := s.env(gaesession.Options{})
	e.get("/?op=new&user=gopher")
	old := e.id()
	e.steps([2]string{"/?op=renew&n=1", "n=1,user=gopher"}, [2]string{"/", "n=1,user=gopher"})
	fresh := e.id()
	if fresh == old || len(fresh) != len(old) {
		e.Fatalf("new ID %q, old %q", fresh, old)
	}
	e.wantTiers(fresh, "n=1,user=gopher", "n=1,user=gopher")
	e.wantTiers(old, "tombstone", "gone")
	e.setID(old)
	if got := e.get("/"); got != "none" {
		e.Errorf("old ID readable: %q", got)
	}
}

// renewKeepsOtherWrites: a write that another request completed after the
// renewing request loaded the session is in the renewed session; a request
// that writes to the old ID after the Renew is told store.ErrRenewed.
func renewKeepsOtherWrites(s *suite) {
	e := s.env(gaesession.Options{})
	e.get("/?op=new&a=1")
	old := e.id()
	lateWriter := e.hold(func(_ *gaesession.Manager, sess session.Session, _ http.ResponseWriter) {
		sess.SetAttr("late", "1")
	})
	login := e.hold(func(m *gaesession.Manager, sess session.Session, w http.ResponseWriter) {
		fresh, err := m.Renew(sess, w)
		if err != nil {
			e.Error(err)
			return
		}
		fresh.SetAttr("user", "gopher")
	})
	e.get("/?op=set&z=1")
	login()
	if got := e.get("/"); got != "a=1,user=gopher,z=1" {
		e.Errorf("renewed session %q, want a=1,user=gopher,z=1", got)
	}
	lateWriter()
	e.wantErrs(store.ErrRenewed)
	e.wantTiers(old, "tombstone", "gone")
}

// eviction: when the Cache forgets the session, it comes back from the
// Durable tier, for a read and for a write, and is put back into the Cache.
func eviction(s *suite) {
	e := s.env(gaesession.Options{})
	e.needEviction()
	e.get("/?op=new&a=1")
	id := e.id()
	for _, step := range [][2]string{{"/", "a=1"}, {"/?op=set&b=2", "a=1,b=2"}} {
		e.evict(id)
		e.steps(step)
		e.wantTiers(id, step[1], step[1])
	}
}

// evictionKeepsCompletedWrite: B loads the session, A writes x=1 and
// finishes, the Cache forgets the session, B finishes. B's own change, or
// its touch, goes onto the newest version: x=1 stays in both tiers.
func evictionKeepsCompletedWrite(s *suite) {
	for _, tc := range []struct{ name, b, want string }{
		{"write", "y", "a=1,x=1,y=2"},
		{"touch", "", "a=1,x=1"},
	} {
		s.t.Run(tc.name, func(t *testing.T) {
			e := s.sub(t).env(gaesession.Options{Store: store.Options{TouchInterval: time.Nanosecond}})
			e.needEviction()
			e.get("/?op=new&a=1")
			id := e.id()
			finish := e.hold(func(_ *gaesession.Manager, sess session.Session, _ http.ResponseWriter) {
				if tc.b != "" {
					sess.SetAttr(tc.b, "2")
				}
			})
			e.get("/?op=set&x=1")
			e.evict(id)
			finish()
			e.wantTiers(id, tc.want, tc.want)
		})
	}
}

// longTimeouts: sessions of 31 days and a year (Memcache reads an
// expiration over 30 days as a time) are stored in both tiers, merge
// concurrent writes, and end for good at logout.
func longTimeouts(s *suite) {
	for _, ttl := range []string{"744h", "8760h"} {
		s.t.Run(ttl, func(t *testing.T) {
			e := s.sub(t).env(gaesession.Options{})
			e.get("/?op=new&a=1&ttl=" + ttl)
			id := e.id()
			if !e.opts.Store.OnlyMemcache {
				e.wantTiers(id, "unconfirmed:a=1", "a=1")
			}
			e.get("/") // vouches for it
			e.wantTiers(id, "a=1", "a=1")
			want := writeAll(e.browser, 10, "a=1") + ",zz=1"
			e.get("/?op=set&zz=1") // the Durable tier follows with the next write
			e.wantTiers(id, want, want)
			e.logoutWithLateWrite()
		})
	}
}

// expiry: a session of a one-minute timeout lives 30 s, not 61; one of the
// default 30 minutes under a MaxLifetime of 10 lives 9 minutes (that
// request touches it), not 10. An expired session read from the Durable
// tier (the Cache forgot it) is absent too, and its record deleted.
func expiry(s *suite) {
	for _, c := range []struct {
		name, start        string
		life, alive, ended time.Duration
	}{
		{"Timeout", "/?op=new&a=1&ttl=1m", 0, 30 * time.Second, 61 * time.Second},
		{"MaxLifetime", "/?op=new&a=1", 10 * time.Minute, 9 * time.Minute, 10 * time.Minute},
	} {
		s.t.Run(c.name, func(t *testing.T) {
			e := s.sub(t).env(gaesession.Options{Store: store.Options{MaxLifetime: c.life}})
			e.steps([2]string{c.start, "a=1"})
			id := e.id()
			e.clock.Advance(c.alive)
			e.steps([2]string{"/", "a=1"})
			e.clock.Advance(c.ended - c.alive)
			e.steps([2]string{"/", "none"})
			if e.b.Evict == nil || e.opts.Store.OnlyMemcache {
				return
			}
			e.evict(id)
			e.steps([2]string{"/", "none"})
			e.wantTiers(id, "gone", "gone")
		})
	}
}
