package gaesessiontest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/icza/session"
)

// app is the behaviour suite's test app, driven by the query: op=new (with
// an optional ttl, a duration), set, remove, renew, login (as, remember),
// devices, revoke (h, a handle), revokeall (keep); every other parameter
// k=v is set on the session. It answers the session's attributes (the
// binding's left out) or "none"; devices answers the handles, "*" before
// the current one; revoke whether it revoked; a failure "error: " and the
// error.
var app = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
		err = m.RevokeAll(sess, w, q.Get("keep") != "")
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
	fmt.Fprint(w, attrs(sess))
})

// attrs formats a session's attributes as sorted k=v pairs, leaving out the
// binding's, or "none" for no session.
func attrs(sess session.Session) string {
	if sess == nil {
		return "none"
	}
	var kv []string
	for k, v := range sess.Attrs() {
		if !isBound(k) {
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
