package gaesession_test

import (
	"fmt"
	"html"
	"net/http"

	"github.com/gaesession/gaesession"
	"github.com/icza/session"
)

// ExampleAttr reads attributes without type assertions that panic.
func ExampleAttr() {
	sess := session.NewSession()
	sess.SetAttr("Count", 2)
	sess.SetAttr("UserName", "gopher")

	n, ok := gaesession.Attr[int](sess, "Count")
	fmt.Println(n, ok)
	n, ok = gaesession.Attr[int](sess, "UserName") // a string, not an int
	fmt.Println(n, ok)
	name, ok := gaesession.Attr[string](nil, "UserName") // no session
	fmt.Printf("%q %v\n", name, ok)
	// Output:
	// 2 true
	// 0 false
	// "" false
}

// ExampleAddFlash tells the user, on the page a form post redirects to,
// that the post worked: the message is saved with the session and shown
// once.
func ExampleAddFlash() {
	save := func(w http.ResponseWriter, r *http.Request) {
		sess := gaesession.From(r.Context()).Get(r)
		if sess == nil {
			http.Error(w, "please log in", http.StatusForbidden)
			return
		}
		// ... save the form ...
		gaesession.AddFlash(sess, "Saved.")
		http.Redirect(w, r, "/", http.StatusSeeOther)
	}
	page := func(w http.ResponseWriter, r *http.Request) {
		for _, msg := range gaesession.Flashes(gaesession.From(r.Context()).Get(r)) {
			fmt.Fprintf(w, "<p class=flash>%s</p>\n", html.EscapeString(msg))
		}
		// ... the page ...
	}
	mw := gaesession.Middleware(gaesession.Options{})
	mux := http.NewServeMux()
	mux.Handle("POST /save", mw(http.HandlerFunc(save)))
	mux.Handle("GET /{$}", mw(http.HandlerFunc(page)))
	_ = mux // http.Handle("/", mux); appengine.Main()
}

// ExampleFlashes shows that a flash message is read once.
func ExampleFlashes() {
	sess := session.NewSession()
	gaesession.AddFlash(sess, "Welcome back.")
	gaesession.AddFlash(sess, "You have 2 new messages.")

	fmt.Printf("%q\n", gaesession.Flashes(sess)) // on the next page
	fmt.Printf("%q\n", gaesession.Flashes(sess)) // on the one after
	// Output:
	// ["Welcome back." "You have 2 new messages."]
	// []
}
