// Package gaesessiontest runs an app's handlers through gaesession against
// the App Engine development server, so that tests use the real Memcache and
// Datastore service stubs.
//
// It starts dev_appserver.py once per test binary, with a Python that can
// run it, and skips tests with a clear message when the Google Cloud SDK is
// missing (set the variable named by RequireEnv to make that a failure).
// Close stops the server and removes its files:
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
// c.Follow to get the page it leads to.
//
// To serve an app on the development server by hand, see the devserver
// command in gaesessiontest/cmd/devserver.
package gaesessiontest
