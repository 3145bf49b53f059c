package cloud_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gaesession/gaesession"
	"github.com/icza/session"
)

// The middleware's behaviour on the cloud backend: the same requests as on
// App Engine, with Redis (a server, and a Redis Cluster) and the Datastore
// emulator behind them.

// eachRedis runs test as a parallel subtest on each of redisEnvs, named
// after it, with an env of opts.
func eachRedis(t *testing.T, opts gaesession.Options, test func(t *testing.T, e *env)) {
	for _, r := range redisEnvs {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			test(t, r.env(t, opts))
		})
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	eachRedis(t, gaesession.Options{}, func(t *testing.T, e *env) {
		for _, step := range []struct{ target, want string }{
			{"/?op=new&a=1", "a=1"},
			{"/", "a=1"},
			{"/?op=set&b=2", "a=1,b=2"},
			{"/", "a=1,b=2"},
		} {
			if got := e.get(step.target); got != step.want {
				t.Fatalf("GET %s = %q, want %q", step.target, got, step.want)
			}
		}
		if c, d := e.tiers(e.id()); c != "a=1,b=2" || d != "a=1,b=2" {
			t.Errorf("Redis holds %s, Datastore %s", c, d)
		}
	})
}

// TestCallsPerRequest counts the backend calls of each kind of request:
// those of the App Engine backend, a Redis command for each Memcache call.
func TestCallsPerRequest(t *testing.T) {
	t.Parallel()
	eachRedis(t, gaesession.Options{}, func(t *testing.T, e *env) {
		for _, step := range []struct {
			target string
			want   []string
		}{
			{"/?op=new&a=1", []string{"datastore.Put", "redis.evalsha"}},
			{"/", []string{"redis.get"}},
			{"/?op=set&b=2", []string{"datastore.Put", "redis.evalsha", "redis.get"}},
		} {
			e.get(step.target)
			got := e.calls.take()
			slices.Sort(got)
			if !slices.Equal(got, step.want) {
				t.Errorf("GET %s made calls %q, want %q", step.target, got, step.want)
			}
		}
		e.setID("no-such-session-0123456789")
		e.get("/")
		got := e.calls.take()
		slices.Sort(got)
		// One Datastore call reads its record and its tombstone record.
		if want := []string{"datastore.Get", "redis.get"}; !slices.Equal(got, want) {
			t.Errorf("an unknown session made calls %q, want %q", got, want)
		}
	})
}

func TestConcurrentWritersMerged(t *testing.T) {
	t.Parallel()
	eachRedis(t, gaesession.Options{}, func(t *testing.T, e *env) {
		e.get("/?op=new&base=0")
		const n = 20
		var wg sync.WaitGroup
		for i := range n {
			goRun(&wg, func() { e.get(fmt.Sprintf("/?op=set&k%02d=%d", i, i)) })
		}
		wg.Wait()
		want := []string{"base=0"}
		for i := range n {
			want = append(want, fmt.Sprintf("k%02d=%d", i, i))
		}
		if c, d := e.tiers(e.id()); c != strings.Join(want, ",") || d != c {
			t.Errorf("after %d concurrent writers Redis holds %s, Datastore %s", n, c, d)
		}
	})
}

// TestLogoutIsFinal: a request that loaded the session before the logout
// and writes after it cannot bring it back.
func TestLogoutIsFinal(t *testing.T) {
	t.Parallel()
	eachRedis(t, gaesession.Options{}, func(t *testing.T, e *env) {
		e.get("/?op=new&user=gopher")
		id := e.id()
		finish := e.hold(func(_ *gaesession.Manager, sess session.Session, _ http.ResponseWriter) {
			sess.SetAttr("late", "write")
		})
		e.get("/?op=remove")
		finish()
		if c, d := e.tiers(id); c != "tombstone" || d != "gone" {
			t.Errorf("after logout and a late write, Redis holds %s, Datastore %s", c, d)
		}
		e.setID(id)
		if got := e.get("/"); got != "none" {
			t.Errorf("logged-out session readable: %q", got)
		}
		// Without the tombstone (evicted), the Datastore still has nothing.
		if err := e.rdb.Del(context.Background(), e.opts.Store.KeyPrefix+id).Err(); err != nil {
			t.Fatal(err)
		}
		if got := e.get("/"); got != "none" {
			t.Errorf("logged-out session readable after eviction: %q", got)
		}
	})
}

func TestRenew(t *testing.T) {
	t.Parallel()
	eachRedis(t, gaesession.Options{}, func(t *testing.T, e *env) {
		e.get("/?op=new&user=gopher")
		old := e.id()
		if got := e.get("/?op=renew&n=1"); got != "n=1,user=gopher" {
			t.Fatalf("renew: %q", got)
		}
		fresh := e.id()
		if fresh == old {
			t.Fatal("Renew kept the ID")
		}
		if c, d := e.tiers(fresh); c != "n=1,user=gopher" || d != c {
			t.Errorf("new ID: Redis holds %s, Datastore %s", c, d)
		}
		if c, d := e.tiers(old); c != "tombstone" || d != "gone" {
			t.Errorf("old ID: Redis holds %s, Datastore %s", c, d)
		}
		e.setID(old)
		if got := e.get("/"); got != "none" {
			t.Errorf("old ID readable: %q", got)
		}
	})
}

// TestEviction: when Redis loses the session, it comes back from the
// Datastore, and is put back into Redis.
func TestEviction(t *testing.T) {
	t.Parallel()
	eachRedis(t, gaesession.Options{}, func(t *testing.T, e *env) {
		e.get("/?op=new&a=1")
		id := e.id()
		for i, target := range []string{"/", "/?op=set&b=2"} {
			if err := e.rdb.Del(context.Background(), e.opts.Store.KeyPrefix+id).Err(); err != nil {
				t.Fatal(err)
			}
			want := []string{"a=1", "a=1,b=2"}[i]
			if got := e.get(target); got != want {
				t.Fatalf("GET %s after eviction = %q, want %q", target, got, want)
			}
			if c, d := e.tiers(id); c != want || d != want {
				t.Errorf("after GET %s: Redis holds %s, Datastore %s", target, c, d)
			}
		}
	})
}
