package ui

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
)

// A real GoToSocial server (the fixture scripts/fixtures/gotosocial.sh
// builds it and exports TRIBUTARY_GTS_BIN and TRIBUTARY_GTS_WEB), with the
// accounts alice and bob, for the window test that signs in.

const gtsPassword = "Tributary-Window-Test-0815"

type gtsServer struct {
	bin, dir, config string
	host, base       string
	cmd              *exec.Cmd
	exited           chan struct{}
}

func startGTS(t *testing.T) *gtsServer {
	t.Helper()
	bin, web := os.Getenv("TRIBUTARY_GTS_BIN"), os.Getenv("TRIBUTARY_GTS_WEB")
	if bin == "" || web == "" {
		msg := "GoToSocial fixture missing: run `source scripts/fixtures/gotosocial.sh`"
		if os.Getenv("TRIBUTARY_REQUIRE_FIXTURES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	s := &gtsServer{bin: bin, dir: dir, config: filepath.Join(dir, "config.yaml"),
		host: fmt.Sprintf("127.0.0.1:%d", port), base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	cfg := fmt.Sprintf("host: %q\nprotocol: \"http\"\nbind-address: \"127.0.0.1\"\nport: %d\ndb-type: \"sqlite\"\n"+
		"db-address: %q\nstorage-local-base-path: %q\nweb-template-base-dir: %q\nweb-asset-base-dir: %q\nlog-level: \"warn\"\n",
		s.host, port, filepath.Join(dir, "db.sqlite"), filepath.Join(dir, "storage"), web+"/template/", web+"/assets/")
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		s.admin(t, "account", "create", "--username", u, "--email", u+"@example.org", "--password", gtsPassword)
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, "--config-path", s.config, "server", "start")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
		logf.Close()
	})
	client := &http.Client{Timeout: 2 * time.Second}
	for i := 0; ; i++ {
		select {
		case <-s.exited:
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("GoToSocial exited while starting: %s", b)
		default:
		}
		if resp, err := client.Get(s.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if i == 240 {
			t.Fatal("GoToSocial not ready within 120 s")
		}
		time.Sleep(500 * time.Millisecond) // polling readiness
	}
}

func (s *gtsServer) admin(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, s.bin, append([]string{"--config-path", s.config, "admin"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("gotosocial admin %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// playBrowser is the user's browser in the authorization-code flow: it opens
// authURL, signs in with email and password on GoToSocial's form, allows
// the app, and follows the redirect. It returns the URL it ended on.
func playBrowser(ctx context.Context, authURL, email, password string) (*url.URL, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	do := func(method, u string, form url.Values) (*http.Response, string, error) {
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, u, body)
		if err != nil {
			return nil, "", err
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
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
	if _, body, err := do(http.MethodGet, authURL, nil); err != nil || !strings.Contains(body, `action="/auth/sign_in"`) {
		return nil, fmt.Errorf("no sign-in form at %s: %v", authURL, err)
	}
	if _, body, err := do(http.MethodPost, origin+"/auth/sign_in", url.Values{"username": {email}, "password": {password}}); err != nil || !strings.Contains(body, `action="/oauth/authorize"`) {
		return nil, fmt.Errorf("sign-in form refused %s: %v", email, err)
	}
	resp, _, err := do(http.MethodPost, origin+"/oauth/authorize", url.Values{})
	if err != nil {
		return nil, fmt.Errorf("allow: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("allow: HTTP %d at %s", resp.StatusCode, resp.Request.URL)
	}
	return resp.Request.URL, nil
}

// token signs user in with its own app registration and returns a client
// holding an access token (to follow and accept follows in the test).
func (s *gtsServer) token(t *testing.T, ctx context.Context, user string) *mastodon.Client {
	t.Helper()
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer cb.Close()
	redirect := cb.URL + "/cb"
	app, err := mastodon.RegisterApp(ctx, &mastodon.AppConfig{Server: s.base, ClientName: "tributary-window-test", Scopes: "read write follow", RedirectURIs: redirect})
	if err != nil {
		t.Fatalf("register app: %v", err)
	}
	end, err := playBrowser(ctx, app.AuthURI, user+"@example.org", gtsPassword)
	if err != nil {
		t.Fatalf("browser for %s: %v", user, err)
	}
	c := mastodon.NewClient(&mastodon.Config{Server: s.base, ClientID: app.ClientID, ClientSecret: app.ClientSecret})
	if err := c.AuthenticateToken(ctx, end.Query().Get("code"), redirect); err != nil {
		t.Fatalf("token for %s: %v", user, err)
	}
	return c
}
