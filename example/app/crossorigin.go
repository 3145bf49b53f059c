package app

import (
	"net/http"
	"net/url"
)

// sameOrigin is the example's protection against cross-site request
// forgery: it answers 403 to a request that a browser sent from another
// origin with a method that may change something (POST, PUT, DELETE, ...),
// before the session is read. The session cookie's SameSite=Lax already
// keeps browsers from sending it with another site's POST; this also
// covers what Lax does not: a form on a sibling subdomain (same site, other
// origin), and browsers that ignore SameSite.
//
// It is the check of Go 1.25's http.CrossOriginProtection, written here
// because this module keeps to Go 1.23; an app on go1.25 or later can use
// that instead.
func sameOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !fromSameOrigin(r) {
			http.Error(w, "Cross-origin request refused.", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fromSameOrigin reports whether r may be served: a safe method (GET,
// HEAD, OPTIONS), whoever sent it; else, by the browser's Sec-Fetch-Site
// header, a request from this origin or typed by the user ("same-origin"
// or "none"); without that header (an older browser), one whose Origin
// header is absent (not a browser, or a same-origin request of a browser
// that omits it) or names this host.
func fromSameOrigin(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default: // "cross-site", or "same-site": a sibling subdomain
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host // "null" has no host
}
