//go:build !unix

package reaper

import (
	"os/exec"
	"sync"
	"syscall"
)

// A Group remembers the commands added to it and kills them on Close.
// Their children, and the processes of a Group whose owner died, are left.
type Group struct {
	mu   sync.Mutex
	cmds []*exec.Cmd
}

// Start returns a new Group.
func Start() (*Group, error) { return &Group{}, nil }

// ID returns 0: there are no process groups here.
func (g *Group) ID() int { return 0 }

// Add remembers cmd, to kill it on Close.
func (g *Group) Add(cmd *exec.Cmd) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cmds = append(g.cmds, cmd)
}

// Signal kills the added commands: only SIGKILL can be sent here.
func (g *Group) Signal(syscall.Signal) { g.Close() }

// Close kills the added commands that were started.
func (g *Group) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.cmds {
		if c.Process != nil {
			_ = c.Process.Kill()
		}
	}
}
