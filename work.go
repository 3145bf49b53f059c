package gaesession

import (
	"context"
	"net/http"

	"github.com/gaesession/gaesession/store"
)

// work returns the context of a request's session work and what to call
// when it is over (nil: nothing), from Options.WorkContext.
func (c *config) work(r *http.Request) (context.Context, func()) {
	if c.WorkContext == nil {
		return r.Context(), nil
	}
	return c.WorkContext(r.Context(), r)
}

// notify calls Options.Store.Observe, if set.
func (c *config) notify(ctx context.Context, ev store.Event, n int) {
	if c.Store.Observe != nil {
		c.Store.Observe(ctx, ev, n)
	}
}

// context returns the context of the request's session work, opening the
// store (which costs no call) if the request has not used it yet.
func (m *Manager) context() context.Context {
	m.store()
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ctx
}

// workDone ends the request's session work (Options.WorkContext), once.
func (m *Manager) workDone() {
	m.mu.Lock()
	f := m.finish
	m.finish = nil
	m.mu.Unlock()
	if f != nil {
		f()
	}
}
