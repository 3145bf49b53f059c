package cloudtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// EmulatorEnv names the variable that the Datastore client reads to talk
// to an emulator: set it to Server.Addr.
const EmulatorEnv = "DATASTORE_EMULATOR_HOST"

// StartDatastore starts the Cloud Datastore emulator of the Google Cloud
// SDK on a free port of localhost, in memory and strongly consistent, and
// returns when it answers (about 10 seconds: it is a Java program). Point
// a client at it by setting EmulatorEnv to Server.Addr. It looks for the
// emulator at $CLOUD_DATASTORE_EMULATOR, else in the SDK of the gcloud on
// PATH, and returns an error wrapping ErrNotInstalled when it or Java is
// missing.
func StartDatastore(ctx context.Context) (*Server, error) {
	bin := emulatorPath()
	if bin == "" {
		return nil, fmt.Errorf("cloudtest: the Cloud Datastore emulator is %w (install the Google Cloud SDK and its cloud-datastore-emulator component, or set CLOUD_DATASTORE_EMULATOR)", ErrNotInstalled)
	}
	if _, err := exec.LookPath("java"); err != nil {
		return nil, fmt.Errorf("cloudtest: java, which the Datastore emulator needs, is %w", ErrNotInstalled)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "localhost:" + port
	// Nothing on disk: no data, no index configuration (WEB-INF/), and a
	// working directory of its own in case it writes anything else.
	dir, err := os.MkdirTemp("", "datastore-emulator-")
	if err != nil {
		return nil, fmt.Errorf("cloudtest: %w", err)
	}
	cmd := exec.Command(bin, "start", "--host=localhost", "--port="+port,
		"--store_on_disk=false", "--store_index_configuration_on_disk=false", "--consistency=1.0")
	cmd.Dir = dir
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	s, err := start(ctx, "the Datastore emulator", cmd, addr, emulatorOK)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s.cleanup = func() { os.RemoveAll(dir) }
	return s, nil
}

// emulatorPath returns the emulator's start script, or "".
func emulatorPath() string {
	if p := os.Getenv("CLOUD_DATASTORE_EMULATOR"); p != "" {
		return p
	}
	const rel = "platform/cloud-datastore-emulator/cloud_datastore_emulator"
	roots := []string{"/usr/lib/google-cloud-sdk"}
	if g, err := exec.LookPath("gcloud"); err == nil {
		if g, err = filepath.EvalSymlinks(g); err == nil {
			roots = append([]string{filepath.Dir(filepath.Dir(g))}, roots...)
		}
	}
	for _, r := range roots {
		if p := filepath.Join(r, rel); isFile(p) {
			return p
		}
	}
	return ""
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// emulatorOK reports whether the emulator at addr answers "Ok".
func emulatorOK(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	return resp.StatusCode == http.StatusOK && strings.TrimSpace(string(b)) == "Ok"
}
