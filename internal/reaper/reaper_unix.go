//go:build unix

package reaper

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// watchdog is the program of the group's leader. It ignores the signals
// that a terminal, or a Stop that sends SIGTERM to the group, would end it
// with; it waits for end of file on stdin, then kills its process group.
const watchdog = `trap '' HUP INT TERM; while read -r _; do :; done; kill -s KILL 0`

// A Group is a process group that dies with this process.
type Group struct {
	cmd  *exec.Cmd
	w    *os.File // the pipe's write end: the watchdog's stdin
	done chan struct{}
	once sync.Once
}

// Start starts the watchdog of a new Group.
func Start() (*Group, error) {
	r, w, err := os.Pipe() // close-on-exec: no child inherits the write end
	if err != nil {
		return nil, fmt.Errorf("reaper: %w", err)
	}
	cmd := exec.Command("/bin/sh", "-c", watchdog)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("reaper: starting the watchdog: %w", err)
	}
	g := &Group{cmd: cmd, w: w, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(g.done)
	}()
	return g, nil
}

// ID returns the group's process group ID. A process that other code
// starts joins the group by calling setpgid(0, ID) before it starts
// anything (see devapp.Launcher).
func (g *Group) ID() int { return g.cmd.Process.Pid }

// Add makes cmd, not yet started, join the group when it starts.
func (g *Group) Add(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pgid = g.ID()
}

// Signal sends sig to every process of the group. The watchdog ignores
// SIGHUP, SIGINT and SIGTERM.
func (g *Group) Signal(sig syscall.Signal) {
	_ = syscall.Kill(-g.ID(), sig)
}

// Close kills every process left in the group and waits for the watchdog
// to end. It may be called more than once.
func (g *Group) Close() {
	g.once.Do(func() {
		g.w.Close()
		<-g.done
	})
}
