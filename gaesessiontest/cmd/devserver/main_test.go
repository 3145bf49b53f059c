package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestArgs(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	got := args(8081, 8001, "app.yaml", []string{"--port=9000", "--storage_path=/tmp/x"})
	want := []string{"--port=8081", "--admin_port=8001", "--api_port=0", "--skip_sdk_update_check=true",
		"--port=9000", "--storage_path=/tmp/x", filepath.Join(wd, "app.yaml")}
	if !slices.Equal(got, want) {
		t.Errorf("args = %q, want %q", got, want)
	}
	// The user's flag wins, as in dev_appserver.py.
	if u := url(got, "--port="); u != "http://localhost:9000" {
		t.Errorf("url = %s", u)
	}
}

// TestArgsAbsolutePath: the configuration's path reaches dev_appserver.py
// absolute, whatever the working directory, so that the server can read it
// again when it changes.
func TestArgsAbsolutePath(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(t.TempDir(), "app.yaml")
	for _, tc := range []struct{ name, in, want string }{
		{"subfolder", filepath.Join("example", "app.yaml"), filepath.Join(wd, "example", "app.yaml")},
		{"parent", filepath.Join("..", "app", "app.yaml"), filepath.Join(filepath.Dir(wd), "app", "app.yaml")},
		{"absolute", abs, abs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := args(8080, 8000, tc.in, nil)
			if got := a[len(a)-1]; got != tc.want {
				t.Errorf("app.yaml %q reaches dev_appserver.py as %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
