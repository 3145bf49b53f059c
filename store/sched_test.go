package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gaesession/gaesession/store"
)

// sched runs simulated tasks one step at a time. A task parks at every
// call to a tier and every sleep; when every task is parked or done, the
// scheduler picks one parked task, by its seeded generator, to go on. So a
// seed fixes the whole interleaving, and replays it.
type sched struct {
	rng *rand.Rand

	mu      sync.Mutex
	cond    *sync.Cond
	running int                      // tasks not parked, not waiting, not done
	live    int                      // tasks not done
	parked  map[string]chan struct{} // task ID to its release
	ops     map[string]string        // task ID to the step it parked at
	kids    map[string]int           // task ID to the number of tasks it started
	waiters map[chan struct{}]int    // tasks waiting for a task to be done
	perReq  map[string]int           // request (root task) to its tasks not done
	steps   int
	trace   []string
	onEnd   func(request string, live int) // called, unlocked, when a task ends
}

type taskKey struct{}

func newSched(seed uint64) *sched {
	s := &sched{
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		parked:  map[string]chan struct{}{},
		ops:     map[string]string{},
		kids:    map[string]int{},
		waiters: map[chan struct{}]int{},
		perReq:  map[string]int{},
	}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// taskOf returns the ID of the task running with ctx, "" outside tasks.
func taskOf(ctx context.Context) string {
	id, _ := ctx.Value(taskKey{}).(string)
	return id
}

// start runs f as a new task, child of the task of ctx (or a root task).
// It returns a channel closed when the task is done.
func (s *sched) start(ctx context.Context, name string, f func(context.Context)) (string, chan struct{}) {
	s.mu.Lock()
	parent := taskOf(ctx)
	s.kids[parent]++
	id := fmt.Sprintf("%s/%s%d", parent, name, s.kids[parent])
	s.running++
	s.live++
	root := rootOf(id)
	s.perReq[root]++
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer func() {
			s.mu.Lock()
			s.perReq[root]--
			if s.onEnd != nil {
				s.onEnd(root, s.perReq[root])
			}
			s.running += s.waiters[done] - 1 // its waiters go on
			delete(s.waiters, done)
			s.live--
			close(done)
			s.cond.Broadcast()
			s.mu.Unlock()
		}()
		f(context.WithValue(ctx, taskKey{}, id))
	}()
	return id, done
}

// requests returns the requests (root tasks) in progress.
func (s *sched) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var reqs []string
	for r, n := range s.perReq {
		if n > 0 {
			reqs = append(reqs, r)
		}
	}
	return reqs
}

// rootOf returns the root task (the request) of a task ID.
func rootOf(id string) string {
	if i := strings.IndexByte(id[1:], '/'); i >= 0 {
		return id[:i+1]
	}
	return id
}

// park stops the task of ctx at a step until the scheduler picks it.
// Outside tasks it does nothing.
func (s *sched) park(ctx context.Context, step string) {
	id := taskOf(ctx)
	if id == "" {
		return
	}
	release := make(chan struct{})
	s.mu.Lock()
	s.parked[id], s.ops[id] = release, step
	s.running--
	s.cond.Broadcast()
	s.mu.Unlock()
	<-release
}

// wait blocks the task of ctx until done is closed, not counting it as
// running meanwhile.
func (s *sched) wait(ctx context.Context, done chan struct{}) {
	s.mu.Lock()
	select {
	case <-done:
		s.mu.Unlock()
		return
	default:
	}
	s.running--
	s.waiters[done]++
	s.cond.Broadcast()
	s.mu.Unlock()
	<-done // the task counted this one as running again when it ended
}

// run lets the parked tasks go on, one at a time, until all are done.
// before is called with the lock free before each step, to evict or fail
// at random. run fails when tasks are left waiting on each other.
func (s *sched) run(maxSteps int, before func(step string)) error {
	for {
		s.mu.Lock()
		for s.running > 0 {
			s.cond.Wait()
		}
		if len(s.parked) == 0 {
			live := s.live
			s.mu.Unlock()
			if live > 0 {
				return fmt.Errorf("%d tasks blocked outside the scheduler", live)
			}
			return nil
		}
		ids := make([]string, 0, len(s.parked))
		for id := range s.parked {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		id := ids[s.rng.IntN(len(ids))]
		step := id + " " + s.ops[id]
		s.mu.Unlock()
		if s.steps++; s.steps > maxSteps {
			return fmt.Errorf("more than %d steps", maxSteps)
		}
		before(step)
		s.mu.Lock()
		s.trace = append(s.trace, step)
		release := s.parked[id]
		delete(s.parked, id)
		delete(s.ops, id)
		s.running++
		s.mu.Unlock()
		close(release)
	}
}

// hooks are the store's runtime hooks on this scheduler: sleeps are steps,
// forked and background work are tasks of their own.
func (s *sched) hooks() store.Hooks {
	return store.Hooks{
		Sleep: func(ctx context.Context, d time.Duration) error {
			s.park(ctx, "sleep")
			return ctx.Err()
		},
		Fork: func(ctx context.Context, f func(context.Context)) func() {
			_, done := s.start(ctx, "fork", f)
			return func() { s.wait(ctx, done) }
		},
		Spawn: func(ctx context.Context, f func(context.Context)) {
			s.start(ctx, "bg", f)
		},
	}
}
