package gaesession

import (
	"bufio"
	"net"
	"net/http"
	"sync/atomic"
)

// responseWriter notes when the response has started, so that a cookie set
// too late is reported instead of silently dropped.
type responseWriter struct {
	http.ResponseWriter
	wrote atomic.Bool
}

var (
	_ http.Flusher  = (*responseWriter)(nil)
	_ http.Hijacker = (*responseWriter)(nil)
)

func (w *responseWriter) started() bool { return w.wrote.Load() }

// WriteHeader implements http.ResponseWriter.
func (w *responseWriter) WriteHeader(code int) {
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.wrote.Store(true)
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *responseWriter) Write(b []byte) (int, error) {
	w.wrote.Store(true)
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher when the underlying writer can flush.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError flushes like Flush and returns the underlying writer's error
// (http.ResponseController calls it).
func (w *responseWriter) FlushError() error {
	w.wrote.Store(true)
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker when the underlying writer can hijack.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.wrote.Store(true)
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
