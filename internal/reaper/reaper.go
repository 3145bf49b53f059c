// Package reaper ties the servers a test binary starts to the life of that
// binary: they die with it however it ends, by exit, panic, -timeout or
// SIGKILL, when no deferred cleanup runs.
//
// On Unix a Group is a process group led by a watchdog, /bin/sh, whose
// stdin is a pipe whose only write end this process holds. When that pipe
// closes (Close, or the end of this process: the kernel closes its files)
// the watchdog reads end of file and sends SIGKILL to its whole group,
// itself included. The servers join the group as they start, so their
// children, which stay in their parent's group, are in it too.
//
// Why not Pdeathsig (Linux): it does not reach the children of the process
// it is set on (the Datastore emulator's start script forks Java,
// dev_appserver.py starts the app's instances), it cannot be set on a
// process that other code execs (aetest execs dev_appserver.py), and it
// fires when the OS thread that started the process exits, not the
// process, which would need a locked thread kept alive for each server.
// The watchdog has none of these limits and works on every Unix.
//
// Elsewhere a Group only remembers the commands added to it and kills them
// on Close.
package reaper
