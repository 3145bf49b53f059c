package cloudtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cluster is a running local Redis Cluster of three masters without
// replicas.
type Cluster struct {
	// Addrs are the nodes' host:port, for redis.ClusterOptions.Addrs.
	Addrs []string

	nodes []*Server
	once  sync.Once
}

// StartRedisCluster starts three `redis-server --cluster-enabled yes` from
// PATH on free ports of localhost (each with its cluster bus port, the port
// + 10000, free too, and its nodes.conf in a temporary directory of its
// own), keeping no data on disk, joins them with `redis-cli --cluster
// create` and returns when every node reports cluster_state:ok. It returns
// an error wrapping ErrNotInstalled when redis-server or redis-cli is
// missing (Debian and Ubuntu: apt-get install redis-server).
func StartRedisCluster(ctx context.Context) (*Cluster, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("cloudtest: redis-server %w (Debian/Ubuntu: apt-get install redis-server)", ErrNotInstalled)
	}
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("cloudtest: redis-cli %w (Debian/Ubuntu: apt-get install redis-tools)", ErrNotInstalled)
	}
	// A generous bound that only turns a hang into a failure: the cluster
	// is usually up in about a second.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c := &Cluster{}
	for range 3 {
		s, err := startClusterNode(ctx, bin)
		if err != nil {
			c.Stop()
			return nil, err
		}
		c.nodes = append(c.nodes, s)
		c.Addrs = append(c.Addrs, s.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("cloudtest: redis-cli --cluster create: %w; its output ends:\n%s", err, lastBytes(out))
	}
	for _, addr := range c.Addrs {
		if err := waitClusterOK(ctx, addr); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Stop ends the three nodes, waits for them and removes their
// directories. It may be called more than once.
func (c *Cluster) Stop() {
	c.once.Do(func() {
		var wg sync.WaitGroup
		for _, s := range c.nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.Stop()
			}()
		}
		wg.Wait()
	})
}

// startClusterNode starts one cluster-enabled redis-server, retrying when
// its ports were taken between choosing and binding them.
func startClusterNode(ctx context.Context, bin string) (*Server, error) {
	for try := 0; ; try++ {
		port, err := freeClusterPort()
		if err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp("", "redis-cluster-node-")
		if err != nil {
			return nil, fmt.Errorf("cloudtest: %w", err)
		}
		cmd := exec.Command(bin, "--port", port, "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--dir", dir,
			"--save", "", "--appendonly", "no")
		cmd.Dir = dir
		s, err := start(ctx, "redis-server (cluster node)", cmd, "127.0.0.1:"+port, pingRedis)
		if err == nil {
			s.cleanup = func() { os.RemoveAll(dir) }
			return s, nil
		}
		os.RemoveAll(dir)
		if try == 2 || ctx.Err() != nil {
			return nil, err
		}
	}
}

// freeClusterPort returns a port of localhost that was free a moment ago,
// and whose cluster bus port (+10000) was free too.
func freeClusterPort() (string, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("cloudtest: finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		l.Close()
		if err != nil {
			continue
		}
		bus.Close()
		return strconv.Itoa(port), nil
	}
	return "", errors.New("cloudtest: no free port whose port + 10000 is free too")
}

// waitClusterOK polls CLUSTER INFO at addr until it says cluster_state:ok
// or ctx ends.
func waitClusterOK(ctx context.Context, addr string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		info, err := redisBulk(ctx, addr, "CLUSTER INFO")
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cloudtest: the Redis Cluster node at %s is not ok: %w (last CLUSTER INFO: %q, %v)", addr, ctx.Err(), info, err)
		case <-tick.C:
		}
	}
}

// redisBulk sends an inline command to the Redis server at addr and
// returns its bulk-string reply.
func redisBulk(ctx context.Context, addr, command string) (string, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := c.Write([]byte(command + "\r\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "$") {
		return "", fmt.Errorf("%s: reply %q", command, line)
	}
	n, err := strconv.Atoi(line[1:])
	if err != nil || n < 0 {
		return "", fmt.Errorf("%s: reply %q", command, line)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}

// lastBytes returns the end of a command's output, as much as tail keeps.
func lastBytes(out []byte) string {
	t := &tail{}
	t.Write(out)
	return t.String()
}
