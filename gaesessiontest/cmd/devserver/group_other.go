//go:build !unix

package main

import "os/exec"

// ownGroup does nothing: process groups are a Unix feature.
func ownGroup(*exec.Cmd) {}

// killGroup kills cmd; its children are left to it.
func killGroup(cmd *exec.Cmd) { _ = cmd.Process.Kill() }
