package gaesessiontest

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/purge"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
	"github.com/icza/session"
)

// noIndex skips the test when the backend has no per-user index
// (OnlyMemcache): Login refuses there, as login checks.
func (e *env) noIndex() {
	if e.opts.Store.OnlyMemcache {
		e.Skip("OnlyMemcache: no per-user index, Login fails with store.ErrNoIndex (see Login)")
	}
}

// loggedIn returns n new browsers, each logged in as user.
func (e *env) loggedIn(user string, n int) []*browser {
	e.Helper()
	var bs []*browser
	for range n {
		b := e.newBrowser()
		if got := b.get("/?op=login&as=" + user); got != "" {
			e.Fatalf("login as %s answered %q", user, got)
		}
		bs = append(bs, b)
	}
	return bs
}

// login: Login keeps the session's attributes under a new ID and binds it
// to the user. Without the per-user index (OnlyMemcache) it fails with
// store.ErrNoIndex, reported once, and sets no cookie.
func login(s *suite) {
	e := s.env(gaesession.Options{})
	if e.opts.Store.OnlyMemcache {
		if got := e.get("/?op=login&as=ann"); got != "error: "+store.ErrNoIndex.Error() {
			e.Errorf("Login with OnlyMemcache answered %q, want store.ErrNoIndex", got)
		}
		if e.id() != "" {
			e.Error("a failed Login set a cookie")
		}
		errs := e.errs.take()
		var se *store.Error
		if len(errs) != 1 || !errors.As(errs[0], &se) || se.Op != "login" || !errors.Is(errs[0], store.ErrNoIndex) {
			e.Errorf("ErrorFunc got %v, want one login failure with store.ErrNoIndex", errs)
		}
		return
	}
	e.get("/?op=new&a=1")
	before := e.id()
	if got := e.get("/?op=login&as=ann"); got != "a=1" {
		e.Fatalf("login answered %q, want a=1", got)
	}
	id := e.id()
	if id == before || len(id) != len(before) {
		e.Errorf("ID after Login %q, before %q", id, before)
	}
	e.wantTiers(before, "tombstone", "gone")
	e.wantTiers(id, "unconfirmed:a=1", "a=1") // until a request vouches for it
	if e.handle() == "" {
		e.Error("the session is not bound after Login")
	}
}

// devices: right after a login on another browser the list shows both
// sessions, the current one marked, with handles that are not session IDs,
// the times and the User-Agent; Sessions.Devices shows them outside a request.
func devices(s *suite) {
	e := s.env(gaesession.Options{})
	e.noIndex()
	a := e.loggedIn("ann", 1)[0]
	phone := e.newBrowser()
	r := e.request("/?op=login&as=ann")
	r.Header.Set("User-Agent", "phone/1.0")
	Body(e.T, phone.c.Do(r))
	ha, hp := a.handle(), phone.handle()
	if got := a.get("/?op=devices"); got != "*"+ha+","+hp && got != hp+",*"+ha {
		e.Errorf("devices %q, want *%s and %s", got, ha, hp)
	}
	for _, h := range []string{ha, hp} {
		for _, id := range []string{a.id(), phone.id()} {
			if h == "" || strings.Contains(id, h) || strings.Contains(h, id) {
				e.Errorf("handle %q vs session ID %q", h, id)
			}
		}
	}
	devs, err := e.sess.Devices(e.ctx, "ann")
	if err != nil || len(devs) != 2 {
		e.Fatalf("Devices: %v, %v; want 2 devices", devs, err)
	}
	for _, d := range devs {
		if d.Current || d.Created.IsZero() || d.LastSeen.IsZero() || d.Handle == hp && d.UserAgent != "phone/1.0" {
			e.Errorf("device %+v", d)
		}
	}
}

// revoke: a browser revokes another's session by handle: it is logged out,
// also once the Cache forgot it; another user's handle does nothing.
func revoke(s *suite) {
	e := s.env(gaesession.Options{})
	e.noIndex()
	bs := e.loggedIn("bob", 2)
	a, b, eve := bs[0], bs[1], e.loggedIn("eve", 1)[0]
	hb, bid := b.handle(), b.id()
	if got := eve.get("/?op=revoke&h=" + hb); got != "false" {
		e.Errorf("another user's revoke: %q", got)
	}
	if got := b.get("/"); got != "" {
		e.Fatalf("revoked by another user: %q", got)
	}
	if got := a.get("/?op=revoke&h=" + hb); got != "true" {
		e.Fatalf("revoke: %q", got)
	}
	if got := b.get("/"); got != "none" {
		e.Errorf("revoked session reads %q", got)
	}
	if e.b.Evict != nil {
		e.evict(bid)
		b.setID(bid)
		if got := b.get("/"); got != "none" {
			e.Errorf("revoked session after an eviction: %q", got)
		}
	}
	if got, ha := a.get("/?op=devices"), a.handle(); got != "*"+ha {
		e.Errorf("devices after the revoke %q, want *%s", got, ha)
	}
}

// revokedStaysRevoked: a request that loaded a session before it was
// revoked and writes after cannot bring it back, in either tier, with or
// without AsyncDatastoreSave, and an eviction does not undo it.
func revokedStaysRevoked(s *suite) {
	for _, async := range []bool{false, true} {
		s.t.Run(map[bool]string{false: "sync", true: "async"}[async], func(t *testing.T) {
			e := s.sub(t).env(gaesession.Options{Store: store.Options{AsyncDatastoreSave: async}})
			e.noIndex()
			bs := e.loggedIn("fay", 2)
			a, b := bs[0], bs[1]
			hb, bid := b.handle(), b.id()
			finish := b.hold(func(_ *gaesession.Manager, sess session.Session, _ http.ResponseWriter) {
				sess.SetAttr("late", "write")
			})
			if got := a.get("/?op=revoke&h=" + hb); got != "true" {
				e.Fatalf("revoke: %q", got)
			}
			finish()
			if err := e.sess.Shutdown(e.ctx); err != nil { // the late write's backup
				e.Fatal(err)
			}
			e.wantTiers(bid, "tombstone", "gone")
			if e.b.Evict != nil {
				e.evict(bid)
			}
			if got := b.get("/"); got != "none" {
				e.Errorf("revoked session readable: %q", got)
			}
		})
	}
}

// revokeOthersThenLogoutEverywhere: Manager.RevokeOthers ends every other
// session of the user; then Manager.LogoutEverywhere ends them all, deletes
// the cookie and leaves the user no sessions.
func revokeOthersThenLogoutEverywhere(s *suite) {
	e := s.env(gaesession.Options{})
	e.noIndex()
	bs := e.loggedIn("cat", 3)
	if got := bs[0].get("/?op=revokeall&keep=1"); got != "revoked" {
		e.Fatalf("RevokeOthers: %q", got)
	}
	if got := []string{bs[0].get("/"), bs[1].get("/"), bs[2].get("/")}; got[0] != "" || got[1] != "none" || got[2] != "none" {
		e.Errorf("after RevokeOthers the sessions read %q, want the current one only", got)
	}
	id := bs[0].id()
	if got := bs[0].get("/?op=revokeall"); got != "revoked" {
		e.Fatalf("LogoutEverywhere: %q", got)
	}
	if bs[0].id() != "" {
		e.Error("LogoutEverywhere kept the cookie")
	}
	bs[0].setID(id)
	if got := bs[0].get("/"); got != "none" {
		e.Errorf("the current session after LogoutEverywhere: %q", got)
	}
	if devs, err := e.sess.Devices(e.ctx, "cat"); err != nil || len(devs) != 0 {
		e.Errorf("after LogoutEverywhere the user has %v, %v", devs, err)
	}
}

// perUserLimit: a login beyond UserOptions.MaxSessions ends the least
// recently seen session.
func perUserLimit(s *suite) {
	e := s.env(gaesession.Options{Users: gaesession.UserOptions{MaxSessions: 2}})
	e.noIndex()
	bs := e.loggedIn("dan", 2)
	bs[1].get("/?op=set&k=1")
	third := e.loggedIn("dan", 1)[0]
	if got := []string{bs[0].get("/"), bs[1].get("/"), third.get("/")}; got[0] != "none" || got[1] != "k=1" || got[2] != "" {
		e.Errorf("the sessions read %q, want the least recently seen one ended", got)
	}
	if devs, err := e.sess.Devices(e.ctx, "dan"); err != nil || len(devs) != 2 {
		e.Errorf("Devices: %v, %v; want 2 devices", devs, err)
	}
}

// purgeExpired: the purge handler deletes an expired record and keeps a
// live session and the tombstone of a logged-out one.
func purgeExpired(s *suite) {
	e := s.env(gaesession.Options{})
	po := e.b.Purge
	if po.Durable == nil {
		e.Fatal("Backend.Purge.Durable is nil")
	}
	po.AllowNonCron, po.Now = true, e.clock.Now
	e.get("/?op=new&who=live")
	out := e.newBrowser()
	out.get("/?op=new&who=out")
	outID := out.id()
	out.get("/?op=remove")
	expired := session.NewSession()
	expired.SetAttr("who", "expired")
	v, err := e.encode(expired)
	if err != nil {
		e.Fatal(err)
	}
	// An expiry in the wall clock's future that the test clock passes:
	// purge runs on the store's clock.
	if err := po.Durable.PutMulti(e.ctx, []string{expired.ID()}, []tier.Record{{Value: v, Expires: e.clock.Now().Add(time.Minute)}}); err != nil {
		e.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	rec := httptest.NewRecorder()
	purge.Handler(po).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/purge", nil).WithContext(e.ctx))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"deleted":1,`) {
		e.Fatalf("purge: %d %s, want 1 deleted", rec.Code, rec.Body)
	}
	if _, err := store.ReadRecord(e.ctx, po.Durable, expired.ID()); !errors.Is(err, tier.ErrNotFound) {
		e.Errorf("the expired record after purge: %v, want tier.ErrNotFound", err)
	}
	e.steps([2]string{"/", "who=live"})
	out.setID(outID)
	out.steps([2]string{"/", "none"})
}
