package purge_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gaesession/gaesession/purge"
)

// ExampleHandler mounts the purge handler on the path that cron.yaml names:
//
//	cron:
//	- description: purge expired gaesession sessions
//	  url: /tasks/purge-sessions
//	  schedule: every 30 minutes
//
// On App Engine, register it on http.DefaultServeMux, outside
// gaesession.Middleware (a cron request has no session), and call
// appengine.Main(). A request that did not come from cron, and any request
// off App Engine without Secret (as here), is refused before any Datastore
// call.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle("GET /tasks/purge-sessions", purge.Handler(purge.Options{
		DSEntityName: "sess_",         // the kind the session store writes
		Deadline:     5 * time.Minute, // stop early; the next run goes on
	}))

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/tasks/purge-sessions", nil))
	fmt.Println(rec.Code, rec.Body.String())
	// Output:
	// 403 {"error":"purge: forbidden: off App Engine (GAE_ENV is not standard) anyone can send X-Appengine-Cron: set Options.Secret"}
}
