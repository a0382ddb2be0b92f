package fedi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A real GoToSocial server for the integration tests: one per test binary,
// started on first use and stopped by TestMain.

const gtsPassword = "Tributary-Test-Pass-4711"

type gtsServer struct {
	bin, web, dir, config string
	port                  int
	base                  string // http://127.0.0.1:port
	host                  string // 127.0.0.1:port
	cmd                   *exec.Cmd
	exited                chan struct{}
	log                   *os.File
	startup               time.Duration // admin commands and start until ready
}

var (
	gtsOnce sync.Once
	gtsSrv  *gtsServer
	gtsErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if gtsSrv != nil {
		gtsSrv.stop()
	}
	os.Exit(code)
}

// gts returns the shared GoToSocial server, starting it on first use. Without
// the fixture the test is skipped, or fails under TRIBUTARY_REQUIRE_FIXTURES=1.
func gts(t *testing.T) *gtsServer {
	t.Helper()
	bin, web := os.Getenv("TRIBUTARY_GTS_BIN"), os.Getenv("TRIBUTARY_GTS_WEB")
	if bin == "" || web == "" {
		msg := "GoToSocial fixture missing: run `source scripts/fixtures/gotosocial.sh` (sets TRIBUTARY_GTS_BIN and TRIBUTARY_GTS_WEB)"
		if os.Getenv("TRIBUTARY_REQUIRE_FIXTURES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	gtsOnce.Do(func() {
		// The free port is found before GoToSocial binds it; if something
		// else took it meanwhile, start again on another (3 tries at most).
		for i := 0; i < 3; i++ {
			gtsSrv, gtsErr = startGTS(bin, web)
			if gtsErr == nil || !strings.Contains(gtsErr.Error(), "address already in use") {
				return
			}
		}
	})
	if gtsErr != nil {
		t.Fatalf("start GoToSocial: %v", gtsErr)
	}
	return gtsSrv
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startGTS(bin, web string) (*gtsServer, error) {
	begin := time.Now()
	dir, err := os.MkdirTemp("", "tributary-gts-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &gtsServer{bin: bin, web: web, dir: dir, port: port,
		host: fmt.Sprintf("127.0.0.1:%d", port), base: fmt.Sprintf("http://127.0.0.1:%d", port),
		config: filepath.Join(dir, "config.yaml")}
	cfg := fmt.Sprintf(`host: "%s"
protocol: "http"
bind-address: "127.0.0.1"
port: %d
db-type: "sqlite"
db-address: "%s"
storage-local-base-path: "%s"
web-template-base-dir: "%s/template/"
web-asset-base-dir: "%s/assets/"
log-level: "info"
log-client-ip: false
`, s.host, port, filepath.Join(dir, "db.sqlite"), filepath.Join(dir, "storage"), web, web)
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	// "admin account create" makes confirmed, approved accounts.
	for _, u := range []string{"alice", "bob", "carol", "admin"} {
		if err := s.admin("account", "create", "--username", u, "--email", u+"@example.org", "--password", gtsPassword); err != nil {
			return nil, err
		}
	}
	if err := s.admin("account", "promote", "--username", "admin"); err != nil {
		return nil, err
	}
	s.log, err = os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "--config-path", s.config, "server", "start")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	dieWithParent(s.cmd)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.exited = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	// Poll the readiness endpoint: at most 240 tries over 120 s (a busy CI
	// machine has been seen to need more than 60).
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(120 * time.Second)
	for i := 0; i < 240 && time.Now().Before(deadline); i++ {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("gotosocial exited during start-up; log: %s", s.tail())
		default:
		}
		resp, err := client.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.startup = time.Since(begin)
				return s, nil
			}
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-s.exited:
		}
	}
	s.stop()
	return nil, fmt.Errorf("gotosocial not ready within 120 s; log: %s", s.tail())
}

func (s *gtsServer) admin(args ...string) error {
	cmd := exec.Command(s.bin, append([]string{"--config-path", s.config, "admin"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("gotosocial admin %s: %w: %s", strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	return nil
}

func (s *gtsServer) tail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	return lastLines(string(b), 15)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (s *gtsServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.log != nil {
		s.log.Close()
	}
	_ = os.RemoveAll(s.dir)
}

// browser plays the user's browser for the authorization-code flow against
// GoToSocial's real sign-in and authorize forms: it opens the authorization
// URL, posts email and password, then allows the app; the server redirects
// to the app's loopback listener (or to its out-of-band page). It returns
// the final URL the browser landed on.
func browser(ctx context.Context, authURL, email, password string) (*url.URL, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	get := func(u string) (*http.Response, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, "", err
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp, string(b), nil
	}
	post := func(u string, form url.Values) (*http.Response, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, "", err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return resp, string(b), nil
	}
	au, err := url.Parse(authURL)
	if err != nil {
		return nil, err
	}
	origin := au.Scheme + "://" + au.Host
	resp, body, err := get(authURL)
	if err != nil {
		return nil, fmt.Errorf("open authorize page: %w", err)
	}
	if !strings.Contains(body, `action="/auth/sign_in"`) {
		return nil, fmt.Errorf("no sign-in form at %s (HTTP %d)", resp.Request.URL, resp.StatusCode)
	}
	resp, body, err = post(origin+"/auth/sign_in", url.Values{"username": {email}, "password": {password}})
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	if !strings.Contains(body, `action="/oauth/authorize"`) {
		return nil, &signInPageError{status: resp.StatusCode, text: pageText(body)}
	}
	resp, _, err = post(origin+"/oauth/authorize", url.Values{})
	if err != nil {
		return nil, fmt.Errorf("allow: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("allow: HTTP %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return resp.Request.URL, nil
}

// signInPageError is the server's answer to a failed sign-in form.
type signInPageError struct {
	status int
	text   string
}

func (e *signInPageError) Error() string {
	return fmt.Sprintf("sign-in form: HTTP %d: %s", e.status, e.text)
}

// pageText is a short plain-text rendering of an HTML page for messages.
func pageText(body string) string {
	var b strings.Builder
	in := false
	for _, r := range body {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// openWith returns an OpenURL that plays the browser in the background
// and reports its outcome on done.
func openWith(email, password string, done chan<- error) func(string) error {
	return func(authURL string) error {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := browser(ctx, authURL, email, password)
			done <- err
		}()
		return nil
	}
}

var errNoCode = errors.New("no code on the out-of-band page")
