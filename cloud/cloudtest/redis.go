package cloudtest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"
)

// StartRedis starts `redis-server` from PATH on a free port of localhost,
// keeping nothing on disk, and returns when it answers PING. It returns
// an error wrapping ErrNotInstalled when there is no redis-server (Debian
// and Ubuntu: apt-get install redis-server). A port taken between choosing
// and binding it is retried.
func StartRedis(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("cloudtest: redis-server %w (Debian/Ubuntu: apt-get install redis-server)", ErrNotInstalled)
	}
	for try := 0; ; try++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := startRedisOn(ctx, bin, "127.0.0.1:"+port)
		if err == nil || try == 2 || ctx.Err() != nil {
			return s, err
		}
	}
}

// RestartRedis starts `redis-server` again, empty, at the address of s,
// which must have stopped (Stop, or a SHUTDOWN): for tests of a Redis that
// goes down and comes back.
func RestartRedis(ctx context.Context, s *Server) (*Server, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("cloudtest: redis-server %w (Debian/Ubuntu: apt-get install redis-server)", ErrNotInstalled)
	}
	return startRedisOn(ctx, bin, s.Addr)
}

// startRedisOn starts redis-server at addr, keeping nothing on disk.
func startRedisOn(ctx context.Context, bin, addr string) (*Server, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	return start(ctx, "redis-server", cmd, addr, pingRedis)
}

// pingRedis reports whether a Redis server answers PING at addr.
func pingRedis(ctx context.Context, addr string) bool {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
