package app

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestFromSameOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, site, origin string
		want                       bool
	}{
		{"GET cross-site", "GET", "cross-site", "https://evil.example", true},
		{"HEAD cross-site", "HEAD", "cross-site", "https://evil.example", true},
		{"OPTIONS cross-site", "OPTIONS", "cross-site", "https://evil.example", true},
		{"POST same-origin", "POST", "same-origin", "https://app.example.test", true},
		{"POST typed by the user", "POST", "none", "", true},
		{"POST cross-site", "POST", "cross-site", "https://evil.example", false},
		{"POST from a sibling subdomain", "POST", "same-site", "https://other.example.test", false},
		{"PUT cross-site", "PUT", "cross-site", "https://evil.example", false},
		{"DELETE cross-site", "DELETE", "cross-site", "https://evil.example", false},
		{"Sec-Fetch-Site decides over Origin", "POST", "same-origin", "https://evil.example", true},
		{"POST cross-site without Origin", "POST", "cross-site", "", false},
		{"POST without either header: not a browser", "POST", "", "", true},
		{"older browser: Origin of this host", "POST", "", "https://app.example.test", true},
		{"older browser: Origin of another host", "POST", "", "https://evil.example", false},
		{"older browser: Origin of another port", "POST", "", "https://app.example.test:8443", false},
		{"older browser: Origin null", "POST", "", "null", false},
		{"older browser: Origin not a URL", "POST", "", "%%", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tc.method, "https://app.example.test/login", nil)
			if tc.site != "" {
				r.Header.Set("Sec-Fetch-Site", tc.site)
			}
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if got := fromSameOrigin(r); got != tc.want {
				t.Errorf("fromSameOrigin(%s, Sec-Fetch-Site %q, Origin %q) = %v, want %v", tc.method, tc.site, tc.origin, got, tc.want)
			}
		})
	}
}

// TestPostsAreProtected: every route that changes something refuses a
// cross-site POST with 403 before the session middleware runs, and lets a
// same-origin one through to it.
func TestPostsAreProtected(t *testing.T) {
	t.Parallel()
	var reached bool
	h := New(Options{Sessions: func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached = true
			w.WriteHeader(http.StatusNoContent)
		})
	}})
	for _, path := range []string{"/login", "/logout", "/sessions/revoke", "/sessions/confirm", "/logout-everywhere"} {
		for _, tc := range []struct {
			site       string
			wantStatus int
		}{
			{"cross-site", http.StatusForbidden},
			{"same-origin", http.StatusNoContent},
		} {
			reached = false
			r := httptest.NewRequest(http.MethodPost, "https://app.example.test"+path, nil)
			r.Header.Set("Sec-Fetch-Site", tc.site)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.wantStatus || reached != (tc.wantStatus == http.StatusNoContent) {
				t.Errorf("POST %s, Sec-Fetch-Site %s: %d, session middleware reached: %v; want %d", path, tc.site, w.Code, reached, tc.wantStatus)
			}
		}
	}
}
