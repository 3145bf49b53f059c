package purge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gaesession/gaesession/store"
	"github.com/gaesession/gaesession/store/tier"
)

// run deletes the records that expired before now (by Options.Now), from
// start (by the wall clock) until the deadline. One query is read to
// its end while the batches read so far are deleted by up to maxInFlight
// goroutines. The first error cancels everything; the deadline and the end
// of ctx stop the run without an error. run returns only when no goroutine
// it started is left. It logs each batch with log.
func (h *handler) run(parent context.Context, now, start time.Time, log *slog.Logger) result {
	ctx, cancel := h.withDeadline(parent, start.Add(h.deadline))
	defer cancel()
	r := &runState{h: h, ctx: ctx, cancel: cancel, now: now, start: start, log: log, sem: make(chan struct{}, maxInFlight)}
	err := h.durable.Expired(ctx, now, r.dispatch)
	if err != nil && !errors.Is(err, errStopped) {
		r.fail(fmt.Errorf("purge: querying expired sessions of kind %q: %w", h.kind, err))
	}
	r.wg.Wait()

	r.mu.Lock()
	defer r.mu.Unlock()
	return result{
		deleted:   r.deleted,
		completed: err == nil && r.firstErr == nil && r.deleted+r.kept == r.found,
		err:       r.firstErr,
	}
}

// errStopped ends the query when the run stops.
var errStopped = errors.New("stopped")

// runState is one run in progress.
type runState struct {
	h      *handler
	ctx    context.Context
	cancel context.CancelFunc
	now    time.Time // what expired before it goes (Options.Now)
	start  time.Time // by the wall clock, for the deadline and the rate
	log    *slog.Logger
	wg     sync.WaitGroup
	sem    chan struct{} // a slot per DeleteMulti in flight

	mu       sync.Mutex // guards what follows
	firstErr error
	found    int
	deleted  int
	kept     int // indexes of users with live sessions or recent logouts
}

// fail stops the run. err becomes its error unless the run was already
// stopping (then err is only a consequence of that).
func (r *runState) fail(err error) {
	r.mu.Lock()
	if r.firstErr == nil && r.ctx.Err() == nil {
		r.firstErr = err
	}
	r.mu.Unlock()
	r.cancel()
}

// keepGoing records a failure to end sessions that users' indexes keep
// listing (they stay, for the next run): the run goes on, and answers
// with the first such failure.
func (r *runState) keepGoing(err error) {
	if errors.Is(err, errNoCache) {
		err = errNoCache // the same for every index: say it once, plainly
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.firstErr == nil {
		r.firstErr = fmt.Errorf("purge: ending sessions before dropping them from users' indexes (kept for the next run): %w", err)
	}
}

// dispatch starts deleting a batch once a slot is free.
func (r *runState) dispatch(ids []string) error {
	select {
	case r.sem <- struct{}{}:
	case <-r.ctx.Done():
		return errStopped
	}
	if r.ctx.Err() != nil {
		<-r.sem
		return errStopped
	}
	r.mu.Lock()
	r.found += len(ids)
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() { <-r.sem }()
		r.delete(ids)
	}()
	return nil
}

// hidden returns the expired IDs to delete, each tombstone followed by the
// record it hid: a write that landed after the session ended, and would
// be read once its tombstone is gone.
func hidden(del []string) []string {
	keys := make([]string, 0, len(del))
	for _, id := range del {
		keys = append(keys, id)
		if rec, ok := strings.CutSuffix(id, tier.EndSuffix); ok {
			keys = append(keys, rec)
		}
	}
	return keys
}

// delete deletes a batch; Tiers.Sweep deletes the indexes of users left
// without live sessions itself, and keeps the others.
func (r *runState) delete(ids []string) {
	h := r.h
	del, swept, endErr, err := h.tiers.Sweep(r.ctx, r.now, ids)
	keys := hidden(del)
	for start := 0; err == nil && start < len(keys); start += tier.MaxBatch {
		err = h.durable.DeleteMulti(r.ctx, keys[start:min(start+tier.MaxBatch, len(keys))])
	}
	if endErr != nil {
		r.keepGoing(endErr)
	}
	if err != nil {
		r.fail(fmt.Errorf("purge: deleting %d expired sessions of kind %q: %w", len(ids), h.kind, err))
		return
	}
	if h.observe != nil {
		h.observe(r.ctx, store.EventPurged, len(del)+swept)
	}
	r.mu.Lock()
	r.deleted += len(del) + swept
	r.kept += len(ids) - len(del) - swept
	n := r.deleted
	r.mu.Unlock()
	r.log.InfoContext(r.ctx, "purge: batch deleted",
		"kind", h.kind, "batch", len(del)+swept, "deleted", n,
		"rate_per_s", rate(n, time.Since(r.start)))
}
