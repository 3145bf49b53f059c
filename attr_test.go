package gaesession_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/icza/session"
)

func TestAttr(t *testing.T) {
	t.Parallel()
	sess := session.NewSession()
	sess.SetAttr("n", 3)
	sess.SetAttr("s", "x")
	tests := []struct {
		name   string
		sess   session.Session
		attr   string
		want   int
		wantOK bool
	}{
		{"present", sess, "n", 3, true},
		{"missing", sess, "none", 0, false},
		{"other type", sess, "s", 0, false},
		{"nil session", nil, "n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := gaesession.Attr[int](tt.sess, tt.attr)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Attr[int](%q) = %d, %v; want %d, %v", tt.attr, got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if v, ok := gaesession.Attr[any](sess, "none"); v != nil || ok {
		t.Errorf("Attr[any] of a missing attribute = %v, %v; want nil, false", v, ok)
	}
}

func TestFlashesInOneSession(t *testing.T) {
	t.Parallel()
	sess := session.NewSession()
	if got := gaesession.Flashes(sess); got != nil {
		t.Errorf("Flashes of a new session = %q", got)
	}
	gaesession.AddFlash(sess, "saved")
	gaesession.AddFlash(sess, "again")
	if got := gaesession.Flashes(sess); !slices.Equal(got, []string{"saved", "again"}) {
		t.Errorf("Flashes = %q", got)
	}
	if got := gaesession.Flashes(sess); got != nil {
		t.Errorf("Flashes read twice = %q", got)
	}
	if sess.Attr(gaesession.FlashAttr) != nil {
		t.Error("the flash attribute is still set after Flashes")
	}
	gaesession.AddFlash(nil, "x") // no panic
	if got := gaesession.Flashes(nil); got != nil {
		t.Errorf("Flashes(nil) = %q", got)
	}
}

// flashApp adds the flash message posted as "add", or answers the flash
// messages it reads.
var flashApp = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	m := gaesession.From(r.Context())
	sess := m.Get(r)
	if sess == nil {
		sess = session.NewSession()
		m.Add(sess, w)
	}
	if msg := r.PostFormValue("add"); msg != "" {
		gaesession.AddFlash(sess, msg)
		return
	}
	fmt.Fprint(w, strings.Join(gaesession.Flashes(sess), ","))
})

// TestFlashAcrossRequests: a flash set in request 1 is read, through the
// store, in request 2, and is gone in request 3.
func TestFlashAcrossRequests(t *testing.T) {
	opts, _ := setup(t, gaesession.Options{})
	c := gaesessiontest.NewClient(t, gaesession.Middleware(opts)(flashApp))
	if got := gaesessiontest.Body(t, c.PostForm("/", url.Values{"add": {"Saved."}})); got != "" {
		t.Errorf("request 1 answered %q", got)
	}
	if got := gaesessiontest.Body(t, c.Get("/")); got != "Saved." {
		t.Errorf("request 2 read %q, want Saved.", got)
	}
	if got := gaesessiontest.Body(t, c.Get("/")); got != "" {
		t.Errorf("request 3 read %q, want nothing", got)
	}
}
