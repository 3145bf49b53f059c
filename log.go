package gaesession

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/gaesession/gaesession/store/aestore"
)

// traceKey is the field under which Cloud Logging groups log lines by
// request.
const traceKey = "logging.googleapis.com/trace"

// defaultLogger returns JSON lines for Cloud Logging on App Engine and
// slog.Default() elsewhere.
func defaultLogger() *slog.Logger {
	if !aestore.Standard() {
		return slog.Default()
	}
	return CloudLogger(os.Stdout)
}

// DefaultLogger returns the logger that Middleware uses for r when
// Options.Logger is nil: on App Engine (GAE_ENV=standard), JSON lines for
// Cloud Logging on stdout, under r's trace; elsewhere slog.Default().
// Handlers outside Middleware, such as purge.Handler, log with it.
func DefaultLogger(r *http.Request) *slog.Logger {
	return requestLogger(defaultLogger(), r)
}

// CloudLogger returns a logger that writes one JSON object per line with
// the fields Cloud Logging reads: severity, message and time. Middleware
// uses it by default on App Engine and adds each request's trace.
func CloudLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: cloudAttr}))
}

// cloudAttr renames slog's built-in fields to Cloud Logging's.
func cloudAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 {
		return a
	}
	switch a.Key {
	case slog.MessageKey:
		a.Key = "message"
	case slog.LevelKey:
		a.Key = "severity"
		if l, ok := a.Value.Any().(slog.Level); ok && l == slog.LevelWarn {
			a.Value = slog.StringValue("WARNING")
		}
	}
	return a
}

// requestLogger adds the request's Cloud Trace to log on App Engine, so that
// Cloud Logging groups the lines under the request.
func requestLogger(log *slog.Logger, r *http.Request) *slog.Logger {
	h := r.Header.Get("X-Cloud-Trace-Context")
	project := os.Getenv("GOOGLE_CLOUD_PROJECT")
	if h == "" || project == "" || !aestore.Standard() {
		return log
	}
	trace, _, _ := strings.Cut(h, "/")
	return log.With(traceKey, "projects/"+project+"/traces/"+trace)
}
