package purge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gaesession/gaesession"
	"google.golang.org/appengine/v2/datastore"
)

// Options configures Handler. The zero value means the defaults.
type Options struct {
	// DSEntityName is the Datastore kind of the session entities. It must
	// match the kind the session store writes.
	// Default: "sess_".
	DSEntityName string

	// Deadline bounds one run: when it is reached, the handler stops and
	// reports completed false; the next run goes on where this one stopped.
	// It must not be negative.
	// Default: 8 minutes (an App Engine cron request may run for 10).
	Deadline time.Duration

	// AllowNonCron lets requests without the header "X-Appengine-Cron: true"
	// start a purge. App Engine removes X-Appengine-* headers from outside
	// requests, so the header proves that the request comes from cron.
	// Default: false: such requests get 403 Forbidden with a JSON error.
	AllowNonCron bool

	// Logger receives a line per deleted batch and a summary line per run.
	// Session IDs are never logged.
	// Default: gaesession.DefaultLogger(r): on App Engine, JSON lines that
	// Cloud Logging shows under the cron request; elsewhere slog.Default().
	// (Mounted behind gaesession.Middleware, which it does not need, the
	// middleware's request logger.)
	Logger *slog.Logger
}

const (
	defaultDSEntityName = "sess_"
	defaultDeadline     = 8 * time.Minute

	// cronHeader is set by App Engine on cron requests only.
	cronHeader = "X-Appengine-Cron"

	// batchSize is the most keys Datastore takes in one DeleteMulti call
	// (the dev server accepts more, production does not). The query reads
	// keys in batches of the same size.
	batchSize = 500

	// maxInFlight bounds the DeleteMulti calls running at once.
	maxInFlight = 4
)

// Handler returns a handler that deletes the session entities of kind
// opts.DSEntityName whose "exp" property lies before the time of the request,
// and answers with the JSON report described in the package documentation.
// It is meant to be called by App Engine cron. It panics if opts.Deadline is
// negative.
func Handler(opts Options) http.Handler {
	if opts.Deadline < 0 {
		panic(fmt.Sprintf("purge: negative Options.Deadline %v", opts.Deadline))
	}
	h := &handler{
		kind:         opts.DSEntityName,
		deadline:     opts.Deadline,
		allowNonCron: opts.AllowNonCron,
		log:          opts.Logger,
	}
	if h.kind == "" {
		h.kind = defaultDSEntityName
	}
	if h.deadline == 0 {
		h.deadline = defaultDeadline
	}
	return h
}

// logger returns the logger for a request.
func (h *handler) logger(r *http.Request) *slog.Logger {
	if h.log != nil {
		return h.log
	}
	if m := gaesession.From(r.Context()); m != nil {
		return m.Logger()
	}
	return gaesession.DefaultLogger(r)
}

type handler struct {
	kind         string
	deadline     time.Duration
	allowNonCron bool
	log          *slog.Logger
}

// report is the JSON body of the answer.
type report struct {
	Completed  bool   `json:"completed"`
	Deleted    int    `json:"deleted"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

// errForbidden answers requests that are not from cron.
var errForbidden = errors.New("purge: forbidden: not an App Engine cron request (no " + cronHeader + ": true header)")

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.logger(r)
	if !h.allowNonCron && r.Header.Get(cronHeader) != "true" {
		log.WarnContext(r.Context(), "purge: refused request without cron header", "kind", h.kind)
		writeJSON(w, http.StatusForbidden, struct {
			Error string `json:"error"`
		}{errForbidden.Error()})
		return
	}

	start := time.Now()
	res := h.run(r.Context(), start, log)
	elapsed := time.Since(start)

	rep := report{Completed: res.completed, Deleted: res.deleted, DurationMS: elapsed.Milliseconds()}
	status := http.StatusOK
	level := slog.LevelInfo
	attrs := []slog.Attr{
		slog.String("kind", h.kind),
		slog.Bool("completed", res.completed),
		slog.Int("deleted", res.deleted),
		slog.Int64("duration_ms", rep.DurationMS),
		slog.Float64("rate_per_s", rate(res.deleted, elapsed)),
	}
	if res.err != nil {
		status = http.StatusInternalServerError
		level = slog.LevelError
		rep.Error = res.err.Error()
		attrs = append(attrs, slog.String("error", rep.Error))
	}
	log.LogAttrs(r.Context(), level, "purge: done", attrs...)
	writeJSON(w, status, rep)
}

// result is the outcome of one run.
type result struct {
	deleted   int
	completed bool
	err       error
}

// run deletes the entities that expired before now. One keys-only query is
// read to its end while the keys read so far are deleted by up to
// maxInFlight goroutines. The first Datastore error cancels everything; the
// deadline and the end of ctx stop the run without an error. run returns only
// when no goroutine it started is left. It logs each batch with log.
func (h *handler) run(parent context.Context, now time.Time, log *slog.Logger) result {
	ctx, cancel := context.WithDeadline(parent, now.Add(h.deadline))
	defer cancel()

	var (
		wg       sync.WaitGroup
		sem      = make(chan struct{}, maxInFlight)
		mu       sync.Mutex // guards firstErr and deleted
		firstErr error
		deleted  int
	)
	// fail stops the run. err becomes its error unless the run was already
	// stopping (then err is only a consequence of that).
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil && ctx.Err() == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	// dispatch starts deleting keys, once a slot is free. It reports false
	// if the run stopped before.
	dispatch := func(keys []*datastore.Key) bool {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		if ctx.Err() != nil {
			<-sem
			return false
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := datastore.DeleteMulti(ctx, keys); err != nil {
				fail(fmt.Errorf("purge: deleting %d expired sessions of kind %q: %w", len(keys), h.kind, err))
				return
			}
			mu.Lock()
			deleted += len(keys)
			n := deleted
			mu.Unlock()
			log.InfoContext(ctx, "purge: batch deleted",
				"kind", h.kind, "batch", len(keys), "deleted", n,
				"rate_per_s", rate(n, time.Since(now)))
		}()
		return true
	}

	q := datastore.NewQuery(h.kind).Filter("exp <", now).KeysOnly().BatchSize(batchSize)
	it := q.Run(ctx)
	found := 0 // keys read from the query
	atEnd := false
	batch := make([]*datastore.Key, 0, batchSize)
	for {
		k, err := it.Next(nil)
		if err == datastore.Done {
			atEnd = true
			break
		}
		if err != nil {
			fail(fmt.Errorf("purge: querying expired sessions of kind %q: %w", h.kind, err))
			break
		}
		found++
		batch = append(batch, k)
		if len(batch) == batchSize {
			if !dispatch(batch) {
				break
			}
			batch = make([]*datastore.Key, 0, batchSize)
		}
	}
	if atEnd && len(batch) > 0 {
		dispatch(batch)
	}
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	return result{
		deleted:   deleted,
		completed: atEnd && firstErr == nil && deleted == found,
		err:       firstErr,
	}
}

// rate returns n per second of d.
func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// The client is the cron service: nothing to do if it has gone.
	_ = json.NewEncoder(w).Encode(v)
}
