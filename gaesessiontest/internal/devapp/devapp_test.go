package devapp

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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
	path, remove, err := Launcher("", 0)
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

// TestLauncherLogFailedStart: with a log file, a server that cannot start
// still says why on stderr (aetest shows it), and the log has it too.
func TestLauncherLogFailedStart(t *testing.T) {
	if _, err := Script(); errors.Is(err, ErrNoSDK) {
		t.Skip(err)
	}
	log := filepath.Join(t.TempDir(), "server.log")
	path, remove, err := Launcher(log, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	var stderr bytes.Buffer
	cmd := exec.Command(path, "--no_such_flag")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("dev_appserver.py --no_such_flag succeeded")
	}
	const want = "dev_appserver.py: error:"
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
	}
	if b, err := os.ReadFile(log); err != nil || !strings.Contains(string(b), want) {
		t.Errorf("log lacks %q (%v):\n%s", want, err, b)
	}
}
