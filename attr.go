package gaesession

import (
	"slices"

	"github.com/icza/session"
)

// Attr returns sess's attribute name as a T. It returns T's zero value and
// false, instead of panicking, when sess is nil, the attribute is missing,
// or it holds a value of another type (say, one written by an older version
// of the app):
//
//	n, _ := gaesession.Attr[int](sess, "Count") // 0 when there is none
func Attr[T any](sess session.Session, name string) (T, bool) {
	if sess == nil {
		var zero T
		return zero, false
	}
	v, ok := sess.Attr(name).(T)
	return v, ok
}

// FlashAttr is the attribute under which AddFlash keeps a session's flash
// messages, as a []string (which encoding/gob knows without registration).
// Do not use it for anything else.
const FlashAttr = "_flash"

// AddFlash adds msg to sess's flash messages: a message for a later request,
// typically the page a redirect leads to, which reads it once with Flashes.
// Like any change, it is saved when the handler returns, with SetAttr.
// Flashes added to one session by concurrent requests do not add up: as for
// any attribute, the last writer's list wins. AddFlash does nothing on a nil
// session.
func AddFlash(sess session.Session, msg string) {
	if sess == nil {
		return
	}
	msgs, _ := Attr[[]string](sess, FlashAttr)
	sess.SetAttr(FlashAttr, append(slices.Clip(msgs), msg)) // a copy, never changed in place
}

// Flashes returns sess's flash messages, oldest first, and removes them from
// the session, so that each is shown once. It returns nil when there are
// none or sess is nil.
func Flashes(sess session.Session) []string {
	if sess == nil || sess.Attr(FlashAttr) == nil {
		return nil
	}
	msgs, _ := Attr[[]string](sess, FlashAttr)
	sess.SetAttr(FlashAttr, nil) // nil removes the attribute
	return msgs
}
