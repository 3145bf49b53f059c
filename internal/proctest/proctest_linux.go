// Package proctest checks that the servers a test binary starts die with
// it: it runs a helper test in a child test binary, ends that binary
// without cleanup and waits until none of the processes it started is
// left. Linux only: it reads /proc.
package proctest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Env names the variable that makes a helper test run; its value is the
// helper's name: a helper test returns at once unless
// os.Getenv(Env) == t.Name().
const Env = "GAESESSION_HELPER"

// proc is a process, named by its id and its start time, which a reused id
// does not share.
type proc struct {
	pid   int
	start string
	pgid  int
	cmd   string
}

func (p proc) String() string { return fmt.Sprintf("%d (%s)", p.pid, p.cmd) }

// stat reads a process's state, parent, group and start time from
// /proc/PID/stat.
func stat(pid int) (state string, ppid, pgid int, start string, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", 0, 0, "", false
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold anything
	if i < 0 {
		return "", 0, 0, "", false
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 of proc(5)
	if len(f) < 20 {
		return "", 0, 0, "", false
	}
	ppid, _ = strconv.Atoi(f[1])
	pgid, _ = strconv.Atoi(f[2])
	return f[0], ppid, pgid, f[19], true
}

// procs returns every process there is.
func procs() []proc {
	ents, _ := os.ReadDir("/proc")
	var ps []proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, _, pgid, start, ok := stat(pid)
		if !ok || state == "Z" {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		ps = append(ps, proc{pid: pid, start: start, pgid: pgid, cmd: strings.TrimSpace(strings.ReplaceAll(string(cmd), "\x00", " "))})
	}
	return ps
}

// descendants returns the processes below root.
func descendants(root int) []proc {
	children := map[int][]int{}
	byPid := map[int]proc{}
	for _, p := range procs() {
		if _, ppid, _, _, ok := stat(p.pid); ok {
			children[ppid] = append(children[ppid], p.pid)
			byPid[p.pid] = p
		}
	}
	var out []proc
	todo := children[root]
	for len(todo) > 0 {
		pid := todo[0]
		todo = todo[1:]
		if p, ok := byPid[pid]; ok {
			out = append(out, p)
		}
		todo = append(todo, children[pid]...)
	}
	return out
}

// left returns the processes of ps that still run (a zombie, which holds
// nothing but its id, does not), and the processes in any of their groups.
func left(ps []proc) []proc {
	groups := map[int]bool{}
	same := map[int]string{}
	for _, p := range ps {
		groups[p.pgid] = true
		same[p.pid] = p.start
	}
	var out []proc
	for _, p := range procs() {
		if start, ok := same[p.pid]; ok && start == p.start || groups[p.pgid] {
			out = append(out, p)
		}
	}
	return out
}

// Helper runs the test named by name in a child test binary of its own
// process group, with Env set to name, and returns it once it has
// printed "ready", with its stdin to write to. It skips t when the helper
// prints "skip: reason" instead, and fails t when the helper ends first.
func Helper(t *testing.T, name string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.timeout=0")
	// Its temp folder is ours, removed after it: no cleanup of its own runs.
	cmd.Env = append(os.Environ(), Env+"="+name, "TMPDIR="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A pipe of our own, drained to its end: the servers inherit it, and
	// one that wrote to it after the helper died must not die of SIGPIPE.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	lines := make(chan string)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(r)
		for s.Scan() {
			lines <- s.Text()
		}
		io.Copy(io.Discard, r)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		r.Close() // ends the reader, even if a server left running holds w
	})
	var out []string
	for line := range lines {
		switch {
		case line == "ready":
			go func() {
				for range lines {
				}
			}()
			return cmd, stdin
		case strings.HasPrefix(line, "skip: "):
			t.Skip(strings.TrimPrefix(line, "skip: "))
		}
		out = append(out, line)
	}
	t.Fatalf("the helper ended before it was ready; its output:\n%s", strings.Join(out, "\n"))
	return nil, nil
}

// CheckNothingLeft ends the helper as how says, with SIGKILL ("kill") or a
// panic of one of its goroutines, as -timeout ends a test binary ("panic"),
// and waits until none of the processes it started is left, nor any process
// in their groups; want are words of which each must be in the command
// line of one of those processes, so that the test checks the servers it
// means to.
func CheckNothingLeft(t *testing.T, cmd *exec.Cmd, stdin io.Writer, how string, want ...string) {
	t.Helper()
	started := descendants(cmd.Process.Pid)
	for _, w := range want {
		found := false
		for _, p := range started {
			found = found || strings.Contains(p.cmd, w)
		}
		if !found {
			t.Fatalf("no %q among the helper's processes: %v", w, started)
		}
	}
	self := proc{pid: cmd.Process.Pid, pgid: cmd.Process.Pid}
	if _, _, _, start, ok := stat(self.pid); ok {
		self.start = start
	}
	switch how {
	case "kill":
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
	case "panic":
		if _, err := io.WriteString(stdin, "panic\n"); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Wait(); err == nil {
		t.Fatalf("the helper (%s) exited 0", how)
	}
	// Dying takes no time to speak of; the bound only turns a process that
	// stays into a failure instead of a hang.
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		l := left(append(started, self))
		if len(l) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, p := range l {
				syscall.Kill(p.pid, syscall.SIGKILL)
			}
			t.Fatalf("left running after the test binary died (%s), now killed: %v", how, l)
		}
		<-tick.C
	}
}

// Wait makes a helper wait for a line on stdin: "panic" panics in a
// goroutine of its own, the way -timeout ends a test binary, with no
// deferred call or cleanup run; end of file returns.
func Wait() {
	line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
	if strings.TrimSpace(line) == "panic" {
		done := make(chan struct{})
		go func() {
			defer close(done)
			panic("the helper panics, as -timeout does")
		}()
		<-done
	}
}
