package store_test

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/aestore"
	"github.com/icza/session"
	"google.golang.org/appengine/v2"
)

// ExampleNew shows the two ways to get a Store. Most apps pass
// store.Options to the middleware, which makes a Store per request and,
// when the options name no tier, keeps sessions in App Engine's Memcache
// and Datastore. By hand, name both tiers. A Store
// also plugs into icza/session's CookieManager, as icza/gaesession's did;
// that manager sends every cookie value to the store unchecked and sets no
// SameSite, so prefer the middleware.
func ExampleNew() {
	opts := store.Options{
		KeyPrefix:     "myapp:",
		MaxLifetime:   12 * time.Hour,
		TouchInterval: time.Minute,
	}

	// Usually: let the middleware make the Store.
	mw := gaesession.Middleware(gaesession.Options{Store: opts})
	_ = mw

	// By hand, with icza/session's manager.
	opts.Cache, opts.Durable = aestore.Memcache(), aestore.Datastore(opts.DSEntityName)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mgr := session.NewCookieManager(store.New(appengine.NewContext(r), opts))
		defer mgr.Close() // writes back what the request changed
		if sess := mgr.Get(r); sess != nil {
			fmt.Fprintln(w, "Hello,", sess.Attr("UserName"))
		}
	})
	_ = handler
}

// ExampleShortID logs a session by its short form: the ID itself is a
// credential.
func ExampleShortID() {
	fmt.Println(store.ShortID("sFrD3kLq8Qz0wYb1aXc2vN9m"))
	// Output: 64077ebb
}
