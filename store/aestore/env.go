package aestore

import "os"

// Standard reports whether the process runs on App Engine's standard
// environment (GAE_ENV=standard), where App Engine sets the X-Appengine-*
// request headers and strips them from outside requests. The development
// server sets GAE_ENV=localdev; Cloud Run, GKE and VMs set nothing.
func Standard() bool { return os.Getenv("GAE_ENV") == "standard" }
