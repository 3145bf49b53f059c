package gaesessiontest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/gaesessiontest"
	"github.com/icza/session"
)

// TestMain runs the tests with a temp folder of their own and fails when
// anything is left in it after Close.
func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "gaesessiontest-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	old, had := os.LookupEnv("TMPDIR")
	os.Setenv("TMPDIR", tmp)
	code := m.Run()
	gaesessiontest.Close()
	if had {
		os.Setenv("TMPDIR", old)
	} else {
		os.Unsetenv("TMPDIR")
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		fmt.Fprintf(os.Stderr, "left in the temp folder after Close: %v\n", left)
		code = 1
	}
	os.RemoveAll(tmp)
	os.Exit(code)
}

// app logs in on POST /login and redirects to / (303), which greets the user.
var app = gaesession.Middleware(gaesession.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	m := gaesession.From(r.Context())
	switch r.URL.Path {
	case "/login":
		sess := session.NewSession()
		m.Add(sess, w)
		sess.SetAttr("user", r.PostFormValue("user"))
		http.Redirect(w, r, "/", http.StatusSeeOther)
	case "/again":
		http.Redirect(w, r, "/", http.StatusTemporaryRedirect)
	default:
		name := "nobody"
		if sess := m.Get(r); sess != nil {
			name, _ = sess.Attr("user").(string)
		}
		fmt.Fprintf(w, "hello %s", name)
	}
}))

func TestPostFormAndFollow(t *testing.T) {
	c := gaesessiontest.NewClient(t, app)
	res := c.PostForm("/login", url.Values{"user": {"gopher"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /login: %s, want 303", res.Status)
	}
	res = c.Follow(res)
	if got := gaesessiontest.Body(t, res); res.StatusCode != http.StatusOK || got != "hello gopher" {
		t.Errorf("after the redirect: %s %q", res.Status, got)
	}
}

func TestFollowKeeps307OfPost(t *testing.T) {
	c := gaesessiontest.NewClient(t, app)
	res := c.Follow(c.PostForm("/again", nil))
	if res.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("POST /again followed: %s, want the 307 itself", res.Status)
	}
	if res = c.Follow(c.Get("/again")); res.StatusCode != http.StatusOK {
		t.Errorf("GET /again followed: %s, want 200", res.Status)
	}
}
