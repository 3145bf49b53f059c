package purge

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/aestore"
	"github.com/gaesession/gaesession/store/tier"
)

// Options configures Handler. The zero value means the defaults.
type Options struct {
	// DSEntityName is the Datastore kind of the session records, for the
	// default Durable tier. It must match store.Options.DSEntityName.
	// Default: tier.DefaultKind, "sess_".
	DSEntityName string

	// Durable is the tier to purge; it must be the store's.
	// Default: aestore.Datastore(DSEntityName), App Engine's Datastore.
	Durable tier.Durable

	// Cache is the store's Cache tier: before it drops a session from a
	// user's index (revoked, logged out, or expired: any bound session in
	// time), purge ends the session in both tiers. Default, with the
	// default Durable: aestore.Memcache(); with a Durable of your own,
	// none: then such entries stay, and every run that finds one goes on
	// but answers with an error naming this field (a kind without users'
	// indexes, such as cloud.DatastoreCache's, needs none).
	Cache tier.Cache

	// KeyPrefix must be the store's store.Options.KeyPrefix: the Cache
	// keys purge ends sessions under. Default: "".
	KeyPrefix string

	// HashIDs must be the store's store.Options.HashIDs: with it, an index
	// entry still naming a raw ID stands for the session's hash too, which
	// purge checks and ends as well. Default: false.
	HashIDs bool

	// Deadline bounds one run: when it is reached, the handler stops and
	// reports completed false; the next run goes on where this one stopped.
	// It must not be negative.
	// Default: 8 minutes (an App Engine cron request may run for 10).
	Deadline time.Duration

	// Secret, when set, is the only way in, whatever AllowNonCron says: a
	// request must carry it in the header X-Gaesession-Purge-Secret
	// (compared in constant time). Use it off App Engine, for example from a
	// Cloud Scheduler job on Cloud Run. Default: "": requests must carry
	// "X-Appengine-Cron: true", which App Engine sets on cron requests and
	// strips from outside ones; that header is honoured only on App Engine
	// (GAE_ENV=standard): elsewhere (Cloud Run, GKE, a VM, the development
	// server) anyone can send it.
	Secret string

	// AllowNonCron lets any request start a purge when Secret is not set.
	// For local development. Default: false: other requests get 403
	// Forbidden with a JSON error.
	AllowNonCron bool

	// Logger receives a line per deleted batch and a summary line per run.
	// Session IDs are never logged. Default: slog.Default().
	Logger *slog.Logger

	// Now is the clock that decides what has expired; give it the store's
	// (store.Options.Now) when tests move that one. Default: time.Now.
	Now func() time.Time

	// Observe, when set, is called once per deleted batch with
	// store.EventPurged and the number of records deleted, and with the
	// events of the store purge opens (see store.Options.Observe). For
	// metrics (the gaesession/otel module). Default: nil.
	Observe func(ctx context.Context, ev store.Event, n int)
}

const (
	defaultDeadline = 8 * time.Minute

	// cronHeader is set by App Engine on cron requests only.
	cronHeader = "X-Appengine-Cron"
	// SecretHeader carries Options.Secret.
	SecretHeader = "X-Gaesession-Purge-Secret"

	// maxInFlight bounds the DeleteMulti calls running at once.
	maxInFlight = 4
)

// Handler returns a handler that deletes the session records that expired
// before Options.Now, read when the run starts, and answers with the JSON
// report described in the package documentation. It is meant to be called
// by App Engine cron (or, with Options.Secret, by a scheduler of your own).
// It panics if opts.Deadline is negative.
func Handler(opts Options) http.Handler {
	if opts.Deadline < 0 {
		panic(fmt.Sprintf("purge: negative Options.Deadline %v", opts.Deadline))
	}
	h := &handler{
		durable:  opts.Durable,
		kind:     opts.DSEntityName,
		deadline: opts.Deadline,
		secret:   opts.Secret,
		allowAll: opts.AllowNonCron,
		log:      opts.Logger,
		now:      opts.Now,
		observe:  opts.Observe,

		withDeadline: context.WithDeadline,
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.kind == "" {
		h.kind = tier.DefaultKind
	}
	cache := opts.Cache
	if h.durable == nil {
		h.durable = aestore.Datastore(h.kind)
		if cache == nil {
			cache = aestore.Memcache()
		}
	}
	if cache == nil {
		cache = noCache{}
	}
	// Retries 1: purge's calls are not retried, as before it swept with
	// the Cache (the next run tries again).
	h.tiers = store.NewTiers(store.Options{Cache: cache, Durable: h.durable, KeyPrefix: opts.KeyPrefix, HashIDs: opts.HashIDs, Now: h.now, Retries: 1, Observe: opts.Observe})
	if h.deadline == 0 {
		h.deadline = defaultDeadline
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	return h
}

type handler struct {
	durable  tier.Durable
	tiers    *store.Tiers // the Cache and Durable, for Sweep
	kind     string       // for logs
	deadline time.Duration
	secret   string
	allowAll bool
	log      *slog.Logger
	now      func() time.Time
	observe  func(ctx context.Context, ev store.Event, n int) // nil: none

	// withDeadline makes a run's context; tests replace it to decide when
	// the deadline passes.
	withDeadline func(context.Context, time.Time) (context.Context, context.CancelFunc)
}

// allowed reports whether r may start a purge, or why not.
func (h *handler) allowed(r *http.Request) error {
	switch {
	case h.secret != "":
		got := r.Header.Get(SecretHeader)
		if subtle.ConstantTimeCompare([]byte(got), []byte(h.secret)) == 1 {
			return nil
		}
		return errors.New("purge: forbidden: missing or wrong " + SecretHeader + " header")
	case h.allowAll:
		return nil
	case !aestore.Standard():
		return errors.New("purge: forbidden: off App Engine (GAE_ENV is not standard) anyone can send " + cronHeader + ": set Options.Secret")
	case r.Header.Get(cronHeader) != "true":
		return errors.New("purge: forbidden: not an App Engine cron request (no " + cronHeader + ": true header)")
	}
	return nil
}

// report is the JSON body of the answer.
type report struct {
	Completed  bool   `json:"completed"`
	Deleted    int    `json:"deleted"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.log
	if err := h.allowed(r); err != nil {
		log.WarnContext(r.Context(), "purge: refused request", "kind", h.kind, "err", err)
		writeJSON(w, http.StatusForbidden, struct {
			Error string `json:"error"`
		}{err.Error()})
		return
	}

	start := time.Now()
	res := h.run(r.Context(), h.now(), start, log)
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

// errNoCache fails the Cache calls of a purge without Options.Cache.
var errNoCache = errors.New("purge: Options.Cache is not set: give purge the store's Cache and KeyPrefix, so that it can end sessions in both tiers before it drops them from users' indexes")

// noCache is the Cache of a purge without Options.Cache: every call fails.
type noCache struct{}

func (noCache) Get(context.Context, string) (*tier.Item, error)  { return nil, errNoCache }
func (noCache) Add(context.Context, *tier.Item) error            { return errNoCache }
func (noCache) CompareAndSwap(context.Context, *tier.Item) error { return errNoCache }
func (noCache) Set(context.Context, *tier.Item) error            { return errNoCache }
func (noCache) SetMulti(context.Context, []*tier.Item) error     { return errNoCache }
func (noCache) Delete(context.Context, string) error             { return errNoCache }
