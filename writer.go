package gaesession

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
)

// responseWriter notes when the response has started, so that a cookie set
// too late is reported instead of silently dropped, and adds "Vary: Cookie"
// to the response of a request that read or wrote a session.
type responseWriter struct {
	http.ResponseWriter
	wrote  atomic.Bool
	cookie atomic.Bool // the response depends on the session cookie
}

var (
	_ http.Flusher  = (*responseWriter)(nil)
	_ http.Hijacker = (*responseWriter)(nil)
)

func (w *responseWriter) started() bool { return w.wrote.Load() }

// start marks the response started; before the headers go out, it adds
// "Vary: Cookie" if the response depends on the session cookie.
func (w *responseWriter) start() {
	if !w.wrote.Swap(true) && w.cookie.Load() {
		varyCookie(w.Header())
	}
}

// varyCookie adds "Cookie" to h's Vary header unless it names it (or "*")
// already, so that a shared cache never serves one user's page to another.
func varyCookie(h http.Header) {
	for _, v := range h.Values("Vary") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Cookie") {
				return
			}
		}
	}
	h.Add("Vary", "Cookie")
}

// WriteHeader implements http.ResponseWriter.
func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.start()
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(b []byte) (int, error) {
	w.start()
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher when the underlying writer can flush.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError flushes like Flush and returns the underlying writer's error
// (http.ResponseController calls it).
func (w *responseWriter) FlushError() error {
	w.start()
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker when the underlying writer can hijack.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.start()
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
