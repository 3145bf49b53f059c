package purge

import (
	"context"
	"net/http"
	"time"
)

// SetWithDeadline makes h, a Handler, start each run's context with f
// instead of context.WithDeadline, so that a test decides when the
// deadline passes.
func SetWithDeadline(h http.Handler, f func(context.Context, time.Time) (context.Context, context.CancelFunc)) {
	h.(*handler).withDeadline = f
}
