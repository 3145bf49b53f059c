package store

import (
	"context"
	"errors"
	"time"

	"github.com/gaesession/gaesession/store/tier"
)

// retrier retries calls that fail with a service error, backing off in
// between: Retries tries in all, 10 ms, 20 ms, ... apart.
type retrier struct {
	tries int
	sleep func(context.Context, time.Duration) error
	tier  string // tierCache or tierDurable: failures are tagged with it
}

// retry calls f until it succeeds, fails with an answer rather than a
// service error, or has been tried r.tries times.
func retry[T any](ctx context.Context, r retrier, f func() (T, error)) (T, error) {
	var (
		v   T
		err error
	)
	for i := range r.tries {
		if i > 0 {
			if r.sleep(ctx, 10*time.Millisecond<<(i-1)) != nil {
				return v, r.tag(err)
			}
		}
		if v, err = f(); !transient(err) {
			return v, r.tag(err)
		}
	}
	return v, r.tag(err)
}

// tag marks a failure (not an answer such as ErrCacheMiss) with the tier
// that failed, for errTier.
func (r retrier) tag(err error) error {
	if err == nil || r.tier == "" {
		return err
	}
	var te *tierError
	switch {
	case errors.As(err, &te),
		errors.Is(err, tier.ErrCacheMiss), errors.Is(err, tier.ErrNotStored), errors.Is(err, tier.ErrCASConflict),
		errors.Is(err, tier.ErrNotFound), errors.Is(err, errUnchanged), endedUnder(err):
		return err
	}
	return &tierError{r.tier, err}
}

// transient reports whether err is worth another try.
func transient(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, tier.ErrCacheMiss),
		errors.Is(err, tier.ErrNotStored),
		errors.Is(err, tier.ErrCASConflict),
		errors.Is(err, tier.ErrNotFound),
		errors.Is(err, ErrCorrupt),
		errors.Is(err, tier.ErrContention), // Durable.Update tries again itself, after a pause
		errors.Is(err, errUnchanged),
		errors.Is(err, context.Canceled),
		errors.Is(err, context.DeadlineExceeded):
		return false
	}
	return true
}

// retryCache is a Cache whose calls are retried.
type retryCache struct {
	c tier.Cache
	r retrier
}

func (c retryCache) Get(ctx context.Context, key string) (*tier.Item, error) {
	return retry(ctx, c.r, func() (*tier.Item, error) { return c.c.Get(ctx, key) })
}

func (c retryCache) Add(ctx context.Context, it *tier.Item) error {
	return c.do(ctx, func() error { return c.c.Add(ctx, it) })
}

func (c retryCache) CompareAndSwap(ctx context.Context, it *tier.Item) error {
	return c.do(ctx, func() error { return c.c.CompareAndSwap(ctx, it) })
}

func (c retryCache) Set(ctx context.Context, it *tier.Item) error {
	return c.do(ctx, func() error { return c.c.Set(ctx, it) })
}

func (c retryCache) SetMulti(ctx context.Context, items []*tier.Item) error {
	return c.do(ctx, func() error { return c.c.SetMulti(ctx, items) })
}

func (c retryCache) Delete(ctx context.Context, key string) error {
	return c.do(ctx, func() error { return c.c.Delete(ctx, key) })
}

func (c retryCache) do(ctx context.Context, f func() error) error {
	return do(ctx, c.r, f)
}

// do is retry for calls without a result.
func do(ctx context.Context, r retrier, f func() error) error {
	_, err := retry(ctx, r, func() (struct{}, error) { return struct{}{}, f() })
	return err
}
