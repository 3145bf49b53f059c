//go:build !unix

package cloudtest

import (
	"os/exec"
	"sync"
)

// A group remembers the command added to it and kills it on close; its
// children, and the servers of a process that died, are left here.
type group struct {
	mu  sync.Mutex
	cmd *exec.Cmd
}

func startGroup() (*group, error) { return &group{}, nil }

func (g *group) add(cmd *exec.Cmd) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cmd = cmd
}

// terminate kills the command: there is no SIGTERM here.
func (g *group) terminate() { g.close() }

func (g *group) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd != nil && g.cmd.Process != nil {
		_ = g.cmd.Process.Kill()
	}
}
