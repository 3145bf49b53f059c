// Package gaesessiontest runs an app's handlers through gaesession against
// the App Engine development server, so that tests use the real Memcache and
// Datastore service stubs.
//
// It starts dev_appserver.py once per test binary, with a Python that can
// run it, and skips tests with a clear message when the Google Cloud SDK is
// missing (set the variable named by RequireEnv to make that a failure).
// Close stops the server and removes its files; a test binary that ends
// without it (killed, a panic, -timeout) takes the server, and every
// process it started, with it all the same:
//
//	var sessions = gaesession.New(gaesession.Options{})
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		sessions.Shutdown(context.Background()) // waits for AsyncDatastoreSave writes
//		gaesessiontest.Close()
//		os.Exit(code)
//	}
//
//	func TestCounter(t *testing.T) {
//		c := gaesessiontest.NewClient(t, sessions.Handler(app))
//		c.Get("/") // the first visit creates the session
//		if got := gaesessiontest.Body(t, c.Get("/")); !strings.Contains(got, "2 time(s)") {
//			t.Errorf("second visit: %q", got)
//		}
//	}
//
// A Client keeps cookies like a browser but does not follow redirects:
// after c.PostForm("/login", form), check the 303 response or pass it to
// c.Follow to get the page it leads to. Its requests run in-process, with
// URLs on https://app.example.test (BaseURL), so its cookie jar keeps Secure
// cookies: test with the CookieOptions of production, without AllowHTTP.
// There is no TLS: a handler sees r.URL.Scheme "https" and r.TLS nil.
//
// To move time instead of sleeping (expiry, TouchInterval,
// RequireRecentAuth), give store.Options.Now (and purge.Options.Now) a
// storetest.Clock's Now and Advance it. A clock of your own must stay the
// wall clock plus an offset: icza/session stamps a session's Created and
// Accessed with time.Now, and the store compares them with Options.Now.
//
// TestBehaviour is the middleware's behaviour suite, written once and run
// on every backend: the module's own tests run it on the in-process model
// (store/storetest) and on the dev server, the cloud module on Redis and
// in Datastore-only mode. A Backend gives the tiers of one subtest:
//
//	func TestBehaviour(t *testing.T) {
//		gaesessiontest.TestBehaviour(t, func(t *testing.T, now func() time.Time) gaesessiontest.Backend {
//			kind := "s_" + strings.ReplaceAll(t.Name(), "/", "_")
//			return gaesessiontest.Backend{
//				Store:   store.Options{Cache: aestore.Memcache(), Durable: aestore.Datastore(kind), KeyPrefix: kind + ":"},
//				Context: gaesessiontest.Context(t),
//				Evict:   memcache.Delete,
//				Purge:   purge.Options{Durable: aestore.Datastore(kind), Cache: aestore.Memcache(), KeyPrefix: kind + ":"},
//			}
//		})
//	}
//
// To serve an app on the development server by hand, see the devserver
// command in gaesessiontest/cmd/devserver.
package gaesessiontest
