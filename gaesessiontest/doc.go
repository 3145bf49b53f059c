// Package gaesessiontest runs an app's handlers through gaesession against
// the App Engine development server, so that tests use the real Memcache and
// Datastore service stubs.
//
// It starts dev_appserver.py once per test binary (with a Python that can run
// it), and skips tests with a clear message when the Google Cloud SDK is
// missing:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		gaesessiontest.Close()
//		os.Exit(code)
//	}
//
//	func TestCounter(t *testing.T) {
//		c := gaesessiontest.NewClient(t, gaesession.Middleware(gaesession.Options{})(app))
//		res := c.Get("/")
//		...
//	}
package gaesessiontest
