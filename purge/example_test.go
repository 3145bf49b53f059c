package purge_test

import (
	"net/http"
	"time"

	"google.golang.org/appengine/v2"

	"github.com/gaesession/gaesession/purge"
)

// ExampleHandler mounts the purge handler on the path that cron.yaml names:
//
//	cron:
//	- description: purge expired gaesession sessions
//	  url: /_ah/purge-sessions
//	  schedule: every 30 minutes
func ExampleHandler() {
	http.Handle("GET /_ah/purge-sessions", purge.Handler(purge.Options{
		DSEntityName: "sess_",         // the kind the session store writes
		Deadline:     5 * time.Minute, // stop early; the next run goes on
	}))
	appengine.Main() // serves http.DefaultServeMux with the App Engine APIs
}
