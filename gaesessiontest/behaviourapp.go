package gaesessiontest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/store"
	"github.com/icza/session"
)

// App is TestBehaviour's test app, for tests of a backend that send the
// same requests (to count its calls, say) or that need a plain session app.
// Serve it behind the middleware. It is driven by the query: op=new (with
// an optional ttl, a duration), remove, renew, login (as, remember),
// devices, revoke (h, a handle), revokeall (keep), or any other op (set,
// get) for none of these; every other parameter k=v is set on the session. It answers the
// session's attributes as Attrs prints them, the binding's left out;
// devices answers the handles, "*" before the current one; revoke whether
// it revoked; a failure "error: " and the error.
var App http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	m := gaesession.From(r.Context())
	q := r.URL.Query()
	sess := m.Get(r)
	var (
		out string
		err error
	)
	switch q.Get("op") {
	case "new":
		ttl, _ := time.ParseDuration(q.Get("ttl"))
		sess = session.NewSessionOptions(&session.SessOptions{Timeout: ttl})
		m.Add(sess, w)
	case "remove":
		if sess != nil {
			m.Remove(sess, w)
		}
		sess = nil
	case "renew":
		if sess != nil {
			sess, err = m.Renew(sess, w)
		}
	case "login":
		sess, err = m.Login(sess, w, q.Get("as"), gaesession.LoginOptions{Remember: q.Get("remember") != ""})
	case "devices":
		devs, derr := m.Devices(sess)
		var l []string
		for _, d := range devs {
			if d.Current {
				d.Handle = "*" + d.Handle
			}
			l = append(l, d.Handle)
		}
		out, err = strings.Join(l, ","), derr
	case "revoke":
		var ok bool
		ok, err = m.Revoke(sess, q.Get("h"))
		out = fmt.Sprint(ok)
	case "revokeall":
		if q.Get("keep") != "" {
			err = m.RevokeOthers(sess)
		} else {
			err = m.LogoutEverywhere(sess, w)
		}
		out = "revoked"
	}
	if err != nil {
		fmt.Fprint(w, "error: ", err)
		return
	}
	if sess != nil {
		for k, v := range q {
			if !slices.Contains([]string{"op", "ttl", "as", "remember", "h", "keep"}, k) {
				sess.SetAttr(k, v[0])
			}
		}
	}
	if out != "" {
		fmt.Fprint(w, out)
		return
	}
	fmt.Fprint(w, attrs(sess, false))
})

// Attrs formats a session's attributes as sorted k=v pairs, those of the
// binding (store.ReservedPrefix) included but store.AttrWrites and store.AttrSetBy, or "none"
// for no session.
func Attrs(sess session.Session) string { return attrs(sess, true) }

// attrs is Attrs, with or without the binding's attributes.
func attrs(sess session.Session, binding bool) string {
	if sess == nil {
		return "none"
	}
	var kv []string
	for k, v := range sess.Attrs() {
		if k != store.AttrWrites && k != store.AttrSetBy && (binding || !isBound(k)) {
			kv = append(kv, fmt.Sprintf("%s=%v", k, v))
		}
	}
	slices.Sort(kv)
	return strings.Join(kv, ",")
}

// handle returns the handle of the session in b's jar, as Devices lists
// it, or "" if it is not bound.
func (b *browser) handle() string {
	b.e.Helper()
	for _, h := range strings.Split(b.get("/?op=devices"), ",") {
		if cur, ok := strings.CutPrefix(h, "*"); ok {
			return cur
		}
	}
	return ""
}
