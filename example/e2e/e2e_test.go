// Package e2e drives the example app in headless Chromium. It is a module of
// its own so that the browser driver stays out of the library's go.mod.
package e2e

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/gaesession/gaesession/gaesessiontest"
)

// TestBrowser runs each example, the App Engine one on the development
// server (scripts/run-example) and the Cloud Run one with its own
// redis-server and Datastore emulator (`go run . -local` in
// example/cloudrun), and drives it with headless Chromium: login, the
// counter rising across reloads and in a second tab, the session cookie as
// the browser holds it, and logout; then "log out everywhere" with two
// browser contexts as two devices (see logOutEverywhere). Both serve the
// same app (example/app). It skips an example whose servers, or chromium,
// are missing, and fails instead when GAESESSION_REQUIRE_DEVSERVER is set.
func TestBrowser(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		missing(t, "chromium not found: install it (e.g. apt-get install chromium)")
	}
	t.Run("App Engine", func(t *testing.T) {
		if !haveDevAppserver() {
			missing(t, "dev_appserver.py not found: install the Google Cloud SDK with the App Engine Go component "+
				"(e.g. apt-get install google-cloud-cli-app-engine-go) or set APPENGINE_DEV_APPSERVER")
		}
		browse(t, browser, func(t *testing.T, ctx context.Context, tmp string) string {
			port, adminPort := freePort(t), freePort(t)
			cmd := exec.Command(filepath.Join("..", "..", "scripts", "run-example"),
				"--storage_path="+t.TempDir(),
				// Other edits in the module must not restart the app mid-test.
				"--automatic_restart=false",
			)
			cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "ADMIN_PORT="+strconv.Itoa(adminPort), "TMPDIR="+tmp)
			return startExample(t, ctx, cmd, port)
		})
	})
	t.Run("Cloud Run", func(t *testing.T) {
		browse(t, browser, func(t *testing.T, ctx context.Context, tmp string) string {
			port := freePort(t)
			cmd := exec.Command("go", "run", ".", "-local")
			cmd.Dir = filepath.Join("..", "cloudrun")
			cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "TMPDIR="+tmp,
				"PURGE_SECRET=", "SESSION_CACHE=", "REDIS_ADDR=", "DATASTORE_PROJECT_ID=")
			return startExample(t, ctx, cmd, port)
		})
	})
}

// browse starts an example with start, which returns its base URL, and
// runs the scenario against it in a fresh headless Chromium.
func browse(t *testing.T, browser string, start func(t *testing.T, ctx context.Context, tmp string) string) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The server's and the browser's temporary files go into a folder the
	// test removes.
	tmp := t.TempDir()
	base := start(t, ctx, tmp)

	// The browser lives as long as ctx: it is closed at the deadline at the
	// latest. Nothing is downloaded: ExecPath names the installed chromium.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Env("TMPDIR="+tmp),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	tab1, cancelTab1 := chromedp.NewContext(allocCtx)
	defer cancelTab1()

	t.Run("counter and logout", func(t *testing.T) { counterAndLogout(t, tab1, base) })
	t.Run("log out everywhere", func(t *testing.T) { logOutEverywhere(t, tab1, base) })
}

// counterAndLogout logs in, counts visits in two tabs of one browser, which
// share the cookie, and logs out. tab1 is the browser's first tab.
func counterAndLogout(t *testing.T, tab1 context.Context, base string) {
	// Logged out: the login form.
	do(t, tab1, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("username")))
	if n := countElems(t, tab1); n != 0 {
		t.Fatalf("counter shown before login")
	}

	// Log in: the redirect lands on the page with the counter at 1.
	do(t, tab1, chromedp.SendKeys(chromedp.ID("username"), "alice"))
	if _, err := chromedp.RunResponse(tab1, chromedp.Click(chromedp.ID("login"))); err != nil {
		t.Fatalf("login: %v", err)
	}
	if got := text(t, tab1, "user"); got != "alice" {
		t.Errorf("user after login = %q, want alice", got)
	}
	wantCount(t, tab1, 1)
	if got := flashes(t, tab1); got != "Welcome, alice." {
		t.Errorf("flash after login = %q, want Welcome, alice.", got)
	}

	// Each reload counts; the flash is gone.
	for want := 2; want <= 3; want++ {
		do(t, tab1, chromedp.Reload())
		wantCount(t, tab1, want)
	}
	if got := flashes(t, tab1); got != "" {
		t.Errorf("flash still shown after reloads: %q", got)
	}

	checkCookie(t, tab1)

	// A second tab of the same browser shares the cookie, so the session.
	tab2, cancelTab2 := chromedp.NewContext(tab1)
	defer cancelTab2()
	do(t, tab2, chromedp.Navigate(base+"/"))
	if got := text(t, tab2, "user"); got != "alice" {
		t.Errorf("user in second tab = %q, want alice", got)
	}
	wantCount(t, tab2, 4)
	do(t, tab1, chromedp.Reload())
	wantCount(t, tab1, 5)

	// Log out: back to the form, the cookie is gone, in both tabs.
	if _, err := chromedp.RunResponse(tab1, chromedp.Click(chromedp.ID("logout"))); err != nil {
		t.Fatalf("logout: %v", err)
	}
	do(t, tab1, chromedp.WaitVisible(chromedp.ID("username")))
	if n := countElems(t, tab1); n != 0 {
		t.Errorf("counter shown after logout")
	}
	if c := sessionCookie(t, tab1); c != nil {
		t.Errorf("session cookie still set after logout: %+v", c)
	}
	do(t, tab2, chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("username")))
	if n := countElems(t, tab2); n != 0 {
		t.Errorf("counter shown in second tab after logout")
	}
}

// logOutEverywhere drives the page of a user's devices with two browser
// contexts of the browser, which share no cookies: two devices of one
// user. Device A sees B in its list of sessions, ends B's session, and B's
// next page is logged out; B logs in again, and "log out everywhere" from
// A logs out both. browser is a context of the running browser.
func logOutEverywhere(t *testing.T, browser context.Context, base string) {
	a, cancelA := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancelA()
	b, cancelB := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancelB()
	logIn(t, a, base, "bob", false)
	logIn(t, b, base, "bob", false)

	// Each device is current in its own list, and the other one in it.
	rowsB := sessionRows(t, b, base)
	rowsA := sessionRows(t, a, base)
	if len(rowsA) != 2 || len(rowsB) != 2 {
		t.Fatalf("sessions listed: %d on A, %d on B; want 2", len(rowsA), len(rowsB))
	}
	curA, otherA := split(t, rowsA)
	curB, otherB := split(t, rowsB)
	if otherA != curB || otherB != curA {
		t.Errorf("A lists %q (current) and %q, B lists %q (current) and %q: want each the other's", curA, otherA, curB, otherB)
	}
	if n := evalInt(t, a, `document.querySelectorAll("button.revoke").length`); n != 1 {
		t.Errorf("A's page has %d revoke buttons, want 1 (for B)", n)
	}

	// A ends B's session: B is logged out at its next page.
	if _, err := chromedp.RunResponse(a, chromedp.Click(chromedp.CSS("button.revoke"))); err != nil {
		t.Fatalf("revoking B: %v", err)
	}
	if got := flashes(t, a); got != "Session ended." {
		t.Errorf("flash after revoking = %q, want Session ended.", got)
	}
	if rows := sessionRows(t, a, base); len(rows) != 1 || !rows[0].Current {
		t.Errorf("A's sessions after revoking B: %+v, want A's only", rows)
	}
	wantLoggedOut(t, b, base)

	// B logs in again, with "remember me": a cookie that outlives the
	// browser. Then A logs out everywhere, itself included.
	logIn(t, b, base, "bob", true)
	if c := sessionCookie(t, b); c == nil || c.Session || c.Expires < float64(time.Now().Add(24*time.Hour).Unix()) {
		t.Errorf("cookie after login with remember me: %+v, want one that expires in days", c)
	}
	if rows := sessionRows(t, a, base); len(rows) != 2 {
		t.Fatalf("A lists %d sessions after B logged in again, want 2", len(rows))
	}
	if _, err := chromedp.RunResponse(a, chromedp.Click(chromedp.ID("logout-everywhere"))); err != nil {
		t.Fatalf("logging out everywhere: %v", err)
	}
	if n := evalInt(t, a, `document.querySelectorAll("#username").length`); n != 1 {
		t.Errorf("A shows no login form after logging out everywhere")
	}
	if c := sessionCookie(t, a); c != nil {
		t.Errorf("session cookie still set on A after logging out everywhere: %+v", c)
	}
	wantLoggedOut(t, a, base)
	wantLoggedOut(t, b, base)
}

// logIn logs in as user with the form on the home page, ticking "remember
// me" if asked to.
func logIn(t *testing.T, ctx context.Context, base, user string, remember bool) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), user))
	if remember {
		do(t, ctx, chromedp.Click(chromedp.ID("remember")))
	}
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("login"))); err != nil {
		t.Fatalf("login: %v", err)
	}
	if got := text(t, ctx, "user"); got != user {
		t.Fatalf("user after login = %q, want %s", got, user)
	}
}

// sessionRow is a session in the list that GET /sessions shows.
type sessionRow struct {
	Handle  string `json:"handle"`
	Current bool   `json:"current"`
}

// sessionRows opens the list of sessions and returns its rows.
func sessionRows(t *testing.T, ctx context.Context, base string) []sessionRow {
	t.Helper()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/sessions"))
	if err != nil {
		t.Fatalf("opening /sessions: %v", err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("GET /sessions: %d, want 200", res.Status)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]sessionRow](`Array.from(document.querySelectorAll("tr.session"),
		e => ({handle: e.dataset.handle, current: e.classList.contains("current")}))`))
	if err != nil {
		t.Fatalf("reading the sessions: %v", err)
	}
	return rows
}

// split returns the handles of the current session and the other one of
// two rows.
func split(t *testing.T, rows []sessionRow) (current, other string) {
	t.Helper()
	for _, r := range rows {
		if r.Handle == "" {
			t.Errorf("session without a handle: %+v", rows)
		}
		if r.Current {
			if current != "" {
				t.Errorf("two current sessions: %+v", rows)
			}
			current = r.Handle
		} else {
			other = r.Handle
		}
	}
	if current == "" || other == "" {
		t.Errorf("want one current session and one other: %+v", rows)
	}
	return current, other
}

// wantLoggedOut checks that the home page shows the login form and that the
// list of sessions answers 401.
func wantLoggedOut(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(base+"/")) // waits for the page to load
	if n := evalInt(t, ctx, `document.querySelectorAll("#username").length`); n != 1 {
		t.Errorf("no login form when logged out")
	}
	if n := countElems(t, ctx); n != 0 {
		t.Errorf("counter shown when logged out")
	}
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(base+"/sessions"))
	if err != nil {
		t.Fatalf("opening /sessions: %v", err)
	}
	if res.Status != http.StatusUnauthorized {
		t.Errorf("GET /sessions when logged out: %d, want 401", res.Status)
	}
}

// evalInt evaluates a JavaScript expression whose value is a number.
func evalInt(t *testing.T, ctx context.Context, expr string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return n
}

// missing skips the test, or fails it when the environment requires the
// dev server and the browser.
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv(gaesessiontest.RequireEnv) != "" {
		t.Fatalf("%s (%s is set)", why, gaesessiontest.RequireEnv)
	}
	t.Skip(why)
}

// haveDevAppserver reports whether dev_appserver.py is installed.
func haveDevAppserver() bool {
	if os.Getenv("APPENGINE_DEV_APPSERVER") != "" {
		return true
	}
	_, err := exec.LookPath("dev_appserver.py")
	return err == nil
}

// findChromium returns the path of chromium, or "" when it is not installed.
func findChromium() string {
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// startExample starts cmd, an example that serves on port, in a process
// group of its own, waits until the app answers, and returns its base URL.
// The process group is stopped when the test ends; its output is logged if
// the test failed. A Cloud Run example that ends for want of its servers
// ("not installed") skips the test (see missing).
func startExample(t *testing.T, ctx context.Context, cmd *exec.Cmd, port int) string {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "server.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() // the server has its own copy
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		stopGroup(t, cmd.Process.Pid, exited)
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("server output:\n%s", b)
		}
	})

	base := "http://localhost:" + strconv.Itoa(port)
	waitCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(waitCtx, http.MethodGet, base+"/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		select {
		case err := <-exited:
			exited <- err // for stopGroup
			if b, _ := os.ReadFile(logPath); strings.Contains(string(b), "not installed") {
				missing(t, "the example's servers are missing:\n"+string(b))
			}
			t.Fatalf("%s exited before the app answered: %v", cmd, err)
		case <-waitCtx.Done():
			t.Fatalf("the app did not answer on %s: %v", base, waitCtx.Err())
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// stopGroup stops an example as Ctrl-C does: SIGINT to its process group,
// where go run waits while the app stops what it started (the devserver
// command dev_appserver.py, the Cloud Run example its redis-server and
// Datastore emulator). SIGKILL ends whatever is left
// after half a minute.
func stopGroup(t *testing.T, pgid int, exited <-chan error) {
	t.Helper()
	_ = syscall.Kill(-pgid, syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(30 * time.Second): // longer than devserver's own grace
		t.Log("the example ignored SIGINT; killing it")
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		t.Errorf("killing the example's process group: %v", err)
	}
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// do runs browser actions, failing the test on error.
func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// text returns the text of the element with the given id.
func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("reading #%s: %v", id, err)
	}
	return strings.TrimSpace(s)
}

// wantCount checks the visit counter on the page.
func wantCount(t *testing.T, ctx context.Context, want int) {
	t.Helper()
	if got := text(t, ctx, "count"); got != strconv.Itoa(want) {
		t.Errorf("count = %s, want %d", got, want)
	}
}

// countElems returns how many counter elements the page has (0 or 1).
func countElems(t *testing.T, ctx context.Context) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#count").length`))
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return n
}

// flashes returns the text of the page's flash messages.
func flashes(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll(".flash"), e => e.textContent).join("|")`))
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return s
}

// checkCookie checks the session cookie's attributes as the browser holds
// them.
func checkCookie(t *testing.T, ctx context.Context) {
	t.Helper()
	c := sessionCookie(t, ctx)
	if c == nil {
		t.Fatal("no sessid cookie in the browser after login")
	}
	if c.Value == "" || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != "/" {
		t.Errorf("sessid cookie: value %q, HttpOnly %v, SameSite %q, Path %q; want a value, HttpOnly, Lax, /",
			c.Value, c.HTTPOnly, c.SameSite, c.Path)
	}
	// Run locally, the examples allow the cookie over http://.
	if c.Secure {
		t.Error("sessid cookie is Secure locally")
	}
}

// sessionCookie returns the browser's sessid cookie for the current page, or
// nil.
func sessionCookie(t *testing.T, ctx context.Context) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatalf("getting cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == "sessid" {
			return c
		}
	}
	return nil
}
