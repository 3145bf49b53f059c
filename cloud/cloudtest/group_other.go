//go:build !unix

package cloudtest

import "os/exec"

// ownGroup does nothing here: no process groups.
func ownGroup(*exec.Cmd) {}

// signalGroup kills cmd's process (its children may outlive it).
func signalGroup(cmd *exec.Cmd, _ bool) { _ = cmd.Process.Kill() }
