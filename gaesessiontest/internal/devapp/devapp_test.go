package devapp

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestLauncherIsRemoved: the launcher names a working Python and
// dev_appserver.py, and remove leaves nothing in the temp folder.
func TestLauncherIsRemoved(t *testing.T) {
	if _, err := Script(); errors.Is(err, ErrNoSDK) {
		t.Skip(err)
	}
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	path, remove, err := Launcher()
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "python3") || !strings.Contains(string(body), "dev_appserver.py") {
		t.Errorf("launcher:\n%s", body)
	}
	remove()
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in the temp folder: %v", left)
	}
}
