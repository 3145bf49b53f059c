package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// Tiers is what the requests of an app share: the two tiers with their
// options, and the background writes its stores started. Make one when the
// app starts (gaesession.Middleware does) and open a Store per request. It is
// safe for concurrent use.
type Tiers struct {
	o       Options
	names   [2]string    // of the Cache and the Durable tier, see Named
	cache   tier.Cache   // retrying
	durable *durableTier // sessions by ID, retrying; nil with OnlyMemcache
	rt      runtime
	bg      background
}

// runtime is how the store runs concurrent work and waits; the simulation
// tests replace it to choose every interleaving. Each function passes the
// work a context of its own.
type runtime struct {
	sleep func(ctx context.Context, d time.Duration) error
	// fork runs f beside the caller; join waits for it.
	fork func(ctx context.Context, f func(context.Context)) (join func())
	// spawn runs f in the background.
	spawn func(ctx context.Context, f func(context.Context))
}

var goRuntime = runtime{
	sleep: sleep,
	fork: func(ctx context.Context, f func(context.Context)) func() {
		done := make(chan struct{})
		go func() { defer close(done); f(ctx) }()
		return func() { <-done }
	},
	spawn: func(ctx context.Context, f func(context.Context)) { go f(ctx) },
}

// NewTiers returns the shared store for opts. It panics, with a message
// naming the fix, when opts.Cache is nil, when opts.Durable is nil without
// opts.OnlyMemcache, or when opts.Cache is a PrefixedCache whose prefix is
// not opts.KeyPrefix.
func NewTiers(opts Options) *Tiers {
	return newTiers(opts, goRuntime)
}

// checkTiers reports, with the fix, a pair of tiers that NewTiers refuses:
// no Cache, or no Durable without OnlyMemcache. It returns nil for a
// usable pair.
func checkTiers(opts Options) error {
	switch {
	case opts.Cache == nil && opts.Durable == nil:
		return errors.New("gaesession/store: Options.Cache and Options.Durable are nil: set both (aestore.Memcache() and aestore.Datastore(kind) on App Engine), or let gaesession.New fill them in")
	case opts.Cache == nil:
		return errors.New("gaesession/store: Options.Durable is set but Options.Cache is nil: set Cache too (aestore.Memcache() on App Engine, cloud.Redis or cloud.DatastoreCache elsewhere); a Durable tier alone is not supported")
	case opts.Durable == nil && !opts.OnlyMemcache:
		return errors.New("gaesession/store: Options.Cache is set but Options.Durable is nil: set Durable too (aestore.Datastore(kind) on App Engine, cloud.Datastore elsewhere), or set OnlyMemcache to keep sessions in the Cache only")
	}
	return nil
}

func newTiers(opts Options, rt runtime) *Tiers {
	if err := checkTiers(opts); err != nil {
		panic(err.Error())
	}
	o := opts.withDefaults()
	if c, ok := o.Cache.(tier.PrefixedCache); ok && c.KeyPrefix() != o.KeyPrefix {
		panic(fmt.Sprintf("gaesession/store: the Cache takes keys with the prefix %q but Options.KeyPrefix is %q: give both the same prefix", c.KeyPrefix(), o.KeyPrefix))
	}
	r := retrier{tries: o.Retries, sleep: rt.sleep}
	rc, rd := r, r
	rc.tier, rd.tier = tierCache, tierDurable
	t := &Tiers{o: o, cache: retryCache{o.Cache, rc}, rt: rt, names: [2]string{nameOf(o.Cache, "cache"), nameOf(o.Durable, "durable")}}
	if !o.OnlyMemcache {
		t.durable = &durableTier{o.Durable, rd}
	}
	t.bg.slots = make(chan struct{}, o.MaxBackground)
	return t
}

// Open returns a Store for one request, which makes its calls with ctx
// (on App Engine, appengine.NewContext(r)). Its failures, as *Error
// values, go to errf, and its logs (background failures, and at level
// Debug a line per load, save and removal) to log. A nil log means
// slog.Default(); a nil errf logs failures to log at level Error.
func (t *Tiers) Open(ctx context.Context, errf func(error), log *slog.Logger) *Store {
	if log == nil {
		log = slog.Default()
	}
	if errf == nil {
		errf = func(err error) { logFailure(log, err) }
	}
	return &Store{t: t, o: &t.o, ctx: ctx, errf: errf, log: log}
}

// Wait blocks until the background writes (AsyncDatastoreSave) in flight
// have finished, including those that start while it waits, or ctx ends.
// Call it at graceful shutdown, once the server takes no more requests,
// and in tests.
func (t *Tiers) Wait(ctx context.Context) error {
	return t.bg.wait(ctx)
}

// background counts the background writes of a Tiers and bounds them.
type background struct {
	slots chan struct{}
	mu    sync.Mutex
	n     int
	idle  chan struct{} // closed when n drops to 0
}

// start takes a slot, or reports false when all are taken.
func (b *background) start() bool {
	select {
	case b.slots <- struct{}{}:
	default:
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == 0 {
		b.idle = make(chan struct{})
	}
	b.n++
	return true
}

// finish gives the slot back.
func (b *background) finish() {
	b.mu.Lock()
	if b.n--; b.n == 0 {
		close(b.idle)
	}
	b.mu.Unlock()
	<-b.slots
}

func (b *background) wait(ctx context.Context) error {
	for {
		b.mu.Lock()
		n, idle := b.n, b.idle
		b.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-idle:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// New returns a Store for one request on Tiers of its own: the same as
// NewTiers(opts).Open(ctx, nil, nil), so its failures are logged to
// slog.Default(). Its background writes cannot be waited for; share a
// Tiers to do that, and to give its stores an error function or logger.
func New(ctx context.Context, opts Options) *Store {
	return NewTiers(opts).Open(ctx, nil, nil)
}

// name returns what errors and logs call a tier (tierCache, tierDurable,
// tierBoth): its backend's name.
func (t *Tiers) name(tier string) string {
	switch tier {
	case tierCache:
		return t.names[0]
	case tierDurable:
		return t.names[1]
	case tierBoth:
		return t.names[0] + "," + t.names[1]
	}
	return tier
}

// nameOf returns a backend's name (see Named), else def.
func nameOf(backend any, def string) string {
	if n, ok := backend.(tier.Named); ok && n.Name() != "" {
		return n.Name()
	}
	return def
}
