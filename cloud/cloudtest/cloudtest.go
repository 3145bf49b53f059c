// Package cloudtest starts local servers for tests and local runs of apps
// on package cloud: a redis-server, a Redis Cluster of three nodes and the
// Cloud Datastore emulator of the Google Cloud SDK, each on free ports of
// localhost, each stopped with everything it started by its Stop method,
// or when the test binary that started it ends without Stop (killed, a
// panic, -timeout).
//
//	rs, err := cloudtest.StartRedis(ctx)
//	if errors.Is(err, cloudtest.ErrNotInstalled) { ... skip ... }
//	defer rs.Stop()
//	rc := redis.NewClient(&redis.Options{Addr: rs.Addr})
//
//	rcs, err := cloudtest.StartRedisCluster(ctx)
//	...
//	defer rcs.Stop()
//	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rcs.Addrs})
package cloudtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gaesession/gaesession/internal/reaper"
)

// ErrNotInstalled is returned (wrapped, with what to install) when a
// server's program is not on this machine.
var ErrNotInstalled = errors.New("not installed")

// Server is a running local server.
type Server struct {
	// Addr is the server's host:port.
	Addr string

	group *reaper.Group // the process group of the server and its children
	out   *tail
	done  chan struct{} // closed when the process has exited
	err   error         // Wait's error, set before done closes
	once  sync.Once
	// cleanup, if set, runs after the process has exited.
	cleanup func()
}

// start runs cmd for a server at addr, in a process group that dies with
// this process (see internal/reaper), and waits until ready says it serves, the
// process exits, or ctx ends.
func start(ctx context.Context, name string, cmd *exec.Cmd, addr string, ready func(context.Context, string) bool) (*Server, error) {
	g, err := reaper.Start()
	if err != nil {
		return nil, fmt.Errorf("cloudtest: %w", err)
	}
	s := &Server{Addr: addr, group: g, out: &tail{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	g.Add(cmd)
	if err := cmd.Start(); err != nil {
		g.Close()
		return nil, fmt.Errorf("cloudtest: starting %s: %w", name, err)
	}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	for {
		if ready(ctx, addr) {
			return s, nil
		}
		select {
		case <-s.done:
			g.Close() // its children, if any
			return nil, fmt.Errorf("cloudtest: %s exited (%v) before serving; its output ends:\n%s", name, s.err, s.out)
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("cloudtest: %s not serving on %s: %w; its output ends:\n%s", name, addr, ctx.Err(), s.out)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop ends the server and every process it started, and waits for it:
// SIGTERM to its process group, SIGKILL after 10 seconds. It may be called
// more than once. A test binary that ends without calling it (killed, or a
// panic) takes the server with it all the same.
func (s *Server) Stop() {
	s.once.Do(func() {
		s.group.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
		s.group.Close() // SIGKILL to what is left: children that outlived the server
		<-s.done
		if s.cleanup != nil {
			s.cleanup()
		}
	})
}

// freePort returns a port of localhost that was free a moment ago.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("cloudtest: finding a free port: %w", err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// tail keeps the last 4 KiB written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailLen = 4 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if n := len(t.buf); n > tailLen {
		t.buf = append(t.buf[:0], t.buf[n-tailLen:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
