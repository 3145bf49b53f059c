//go:build unix

package cloudtest

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// A group is a process group that dies with this process, however it ends
// (exit, panic, -timeout, SIGKILL), when no deferred Stop runs. A
// watchdog, /bin/sh, leads it: its stdin is a pipe whose only write end
// this process holds, and when that pipe closes (close, or the end of this
// process: the kernel closes its files) it reads end of file and sends
// SIGKILL to the whole group, itself included. A server joins the group as
// it starts, and its children (the emulator's start script forks Java)
// stay in it. Linux's Pdeathsig would reach neither those children nor,
// since it fires when the OS thread that started the process exits, be
// safe without a locked thread kept alive per server; this works on every
// Unix. The gaesessiontest package of the core module has the same
// (internal/reaper).
type group struct {
	cmd  *exec.Cmd
	w    *os.File // the pipe's write end: the watchdog's stdin
	done chan struct{}
	once sync.Once
}

// watchdog is the program of the group's leader. It ignores the signals
// that a terminal, or Stop's SIGTERM to the group, would end it with; it
// waits for end of file on stdin, then kills its process group.
const watchdog = `trap '' HUP INT TERM; while read -r _; do :; done; kill -s KILL 0`

// startGroup starts the watchdog of a new group.
func startGroup() (*group, error) {
	r, w, err := os.Pipe() // close-on-exec: no child inherits the write end
	if err != nil {
		return nil, fmt.Errorf("cloudtest: %w", err)
	}
	cmd := exec.Command("/bin/sh", "-c", watchdog)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("cloudtest: starting the watchdog: %w", err)
	}
	g := &group{cmd: cmd, w: w, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(g.done)
	}()
	return g, nil
}

// add makes cmd, not yet started, join the group when it starts.
func (g *group) add(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: g.cmd.Process.Pid}
}

// terminate sends SIGTERM to the group's processes but the watchdog.
func (g *group) terminate() {
	_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGTERM)
}

// close kills every process left in the group and waits for the watchdog.
// It may be called more than once.
func (g *group) close() {
	g.once.Do(func() {
		g.w.Close()
		<-g.done
	})
}
