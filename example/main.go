// Command example is a small App Engine app that shows gaesession at work:
// log in with any user name (optionally "remember me"), reload the page to
// watch the visit counter rise, see where you are logged in and end any of
// those sessions, and log out, here or everywhere. It is icza/gaesession's
// demo written on the middleware.
//
// Run it locally on the App Engine development server with
//
//	scripts/run-example
//
// and open http://localhost:8080. Deploy it with `gcloud app deploy
// example/app.yaml example/cron.yaml`.
//
// Its routes and handlers are package app's (example/app), which the
// Cloud Run example (example/cloudrun) serves too; this file gives them
// App Engine's session store (Memcache and the Datastore, the default) and
// App Engine cron's purge.
package main

import (
	"net/http"
	"time"

	"github.com/gaesession/gaesession"
	"github.com/gaesession/gaesession/example/app"
	"github.com/gaesession/gaesession/purge"
	"github.com/gaesession/gaesession/store"
	"google.golang.org/appengine/v2"
)

func main() {
	http.Handle("/", newApp(appengine.IsDevAppServer(), nil))
	appengine.Main()
}

// newApp returns the example's routes. dev allows the session cookie over
// plain http:// and purges that do not come from App Engine cron; now is
// the clock of the sessions and of purge (nil: time.Now), for tests.
func newApp(dev bool, now func() time.Time) http.Handler {
	return app.New(app.Options{
		// The cookie is Secure in production; the development server
		// speaks plain http://.
		Sessions: gaesession.Middleware(gaesession.Options{
			Cookie: gaesession.CookieOptions{AllowHTTP: dev},
			Store:  store.Options{Now: now},
		}),
		// In production only App Engine cron may start a purge; locally
		// you can with curl.
		Purge: purge.Handler(purge.Options{AllowNonCron: dev, Now: now}),
	})
}
