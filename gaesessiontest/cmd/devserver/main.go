// Command devserver serves an App Engine app on the local development
// server, dev_appserver.py, run by a Python that can run it: the first
// python3 on PATH may be one whose certifi breaks the SDK, and the script's
// shebang asks for "python", which Debian lacks. From the app's module:
//
//	go run github.com/gaesession/gaesession/gaesessiontest/cmd/devserver app.yaml
//
// Usage:
//
//	devserver [-port 8080] [-admin_port 8000] app.yaml [dev_appserver.py flags]
//
// It prints the app's URL, passes the server's logs through, and on Ctrl-C
// (SIGINT) or SIGTERM stops the server and every process it started. The API
// server takes a free port, so several apps can be served at once. Flags
// after app.yaml go to dev_appserver.py, e.g. --storage_path=DIR for a
// Datastore of its own.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/gaesession/gaesession/gaesessiontest/internal/devapp"
)

// grace is how long the server may take to shut down before it is killed.
const grace = 10 * time.Second

func main() {
	port := flag.Int("port", 8080, "port of the app")
	adminPort := flag.Int("admin_port", 8000, "port of the admin console")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: devserver [-port N] [-admin_port N] app.yaml [dev_appserver.py flags]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(args(*port, *adminPort, flag.Arg(0), flag.Args()[1:])))
}

// args returns dev_appserver.py's arguments: the ports, then the user's
// flags (which may override them), then the app's configuration as an
// absolute path: dev_appserver.py builds the app from the app's folder
// (it changes its working directory while it builds), and a check of the
// configuration meanwhile would not find a relative path such as
// example/app.yaml ("Configuration is not valid").
func args(port, adminPort int, appYAML string, extra []string) []string {
	if abs, err := filepath.Abs(appYAML); err == nil {
		appYAML = abs
	}
	a := []string{
		"--port=" + strconv.Itoa(port),
		"--admin_port=" + strconv.Itoa(adminPort),
		"--api_port=0",
		"--skip_sdk_update_check=true",
	}
	return append(append(a, extra...), appYAML)
}

// run serves until the server exits or a signal stops it, and returns the
// exit code.
func run(args []string) int {
	cmd, err := devapp.Command(args...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		return 1
	}
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	ownGroup(cmd)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		return 1
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fmt.Fprintf(os.Stderr, "devserver: serving %s at %s (admin console %s); Ctrl-C stops it\n",
		args[len(args)-1], url(args, "--port="), url(args, "--admin_port="))

	select {
	case err := <-exited:
		killGroup(cmd) // children it left behind
		if err != nil {
			fmt.Fprintln(os.Stderr, "devserver: dev_appserver.py:", err)
			return 1
		}
		return 0
	case sig := <-sigs:
		fmt.Fprintf(os.Stderr, "devserver: %v: stopping the server\n", sig)
		_ = cmd.Process.Signal(syscall.SIGTERM) // it stops what it started
		select {
		case <-exited:
		case <-sigs:
			fmt.Fprintln(os.Stderr, "devserver: killing the server")
		case <-time.After(grace):
			fmt.Fprintln(os.Stderr, "devserver: the server did not stop in time: killing it")
		}
		killGroup(cmd)
		return 0
	}
}

// url returns the local URL for the last port flag with prefix in args.
func url(args []string, prefix string) string {
	port := ""
	for _, a := range args {
		if len(a) > len(prefix) && a[:len(prefix)] == prefix {
			port = a[len(prefix):]
		}
	}
	return "http://localhost:" + port
}
