package main

import (
	"slices"
	"testing"
)

func TestArgs(t *testing.T) {
	got := args(8081, 8001, "app.yaml", []string{"--port=9000", "--storage_path=/tmp/x"})
	want := []string{"--port=8081", "--admin_port=8001", "--api_port=0", "--skip_sdk_update_check=true",
		"--port=9000", "--storage_path=/tmp/x", "app.yaml"}
	if !slices.Equal(got, want) {
		t.Errorf("args = %q, want %q", got, want)
	}
	// The user's flag wins, as in dev_appserver.py.
	if u := url(got, "--port="); u != "http://localhost:9000" {
		t.Errorf("url = %s", u)
	}
}
