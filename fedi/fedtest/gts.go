package fedtest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// gtsProcess is one GoToSocial server process.
type gtsProcess struct {
	bin, dir, config string
	addr             string // 127.0.0.1:port GoToSocial listens on
	cmd              *exec.Cmd
	exited           chan struct{}
	log              *os.File
}

// gtsConfig is the configuration of an instance whose public host is host
// (the front proxy's address) and which listens on 127.0.0.1:port.
//
// What federation on loopback needs:
//   - host with the port ("127.0.0.1:41234"): it is the account domain, so
//     accounts are alice@127.0.0.1:41234 and actor URIs
//     http://127.0.0.1:41234/users/alice. Two instances on one IP differ by
//     port only, and GoToSocial compares hosts with their port.
//   - protocol "http": the URIs it publishes are fetched over plain HTTP.
//     WebFinger is asked over https regardless (see front.go), hence
//     http-client.tls-insecure-skip-verify for the proxy's own certificate.
//   - http-client.allow-ips: GoToSocial refuses to dial loopback and other
//     reserved ranges unless allowed.
//   - trusted-proxies: the front proxy on 127.0.0.1 (also the default).
//   - rate limiting and throttling off: every request (both instances, the
//     test) comes from 127.0.0.1.
func gtsConfig(host, dir, web string, port int) string {
	return fmt.Sprintf(`host: "%s"
protocol: "http"
bind-address: "127.0.0.1"
port: %d
trusted-proxies: ["127.0.0.1/32", "::1"]
db-type: "sqlite"
db-address: "%s"
storage-local-base-path: "%s"
web-template-base-dir: "%s/template/"
web-asset-base-dir: "%s/assets/"
log-level: "info"
log-client-ip: false
instance-deliver-to-shared-inboxes: true
http-client:
  allow-ips: ["127.0.0.0/8", "::1/128"]
  tls-insecure-skip-verify: true
  timeout: "10s"
advanced-rate-limit-requests: 0
advanced-throttling-multiplier: 0
cache:
  memory-target: "64MiB"
`, host, port, filepath.Join(dir, "db.sqlite"), filepath.Join(dir, "storage"), web, web)
}

// startGTS creates the accounts and starts GoToSocial for the public host;
// once it listens, setBackend points the front proxy at it. It returns when
// /readyz answers 200 through the proxy.
func startGTS(bin, web, dir, host string, users []string, setBackend func(string)) (*gtsProcess, error) {
	g := &gtsProcess{bin: bin, dir: dir, config: filepath.Join(dir, "config.yaml")}
	// The free port is found before GoToSocial binds it; if something else
	// takes it meanwhile, start again on another one (3 tries at most).
	var err error
	for try := 0; try < 3; try++ {
		var port int
		if port, err = freePort(); err != nil {
			return g, err
		}
		g.addr = fmt.Sprintf("127.0.0.1:%d", port)
		if err = os.WriteFile(g.config, []byte(gtsConfig(host, dir, web, port)), 0o600); err != nil {
			return g, err
		}
		if try == 0 {
			// "admin account create" makes confirmed, approved accounts
			// (and the first command creates the database).
			for _, u := range users {
				if err := g.admin("account", "create", "--username", u, "--email", Email(u), "--password", Password); err != nil {
					return g, err
				}
			}
		}
		setBackend(g.addr)
		err = g.start(host)
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			return g, err
		}
	}
	return g, err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// command prepares a GoToSocial command with the instance's config.
//
// GoToSocial compiles its WebAssembly FFmpeg at every start (about 12 s
// here, more with two instances starting at once) unless
// GTS_WAZERO_COMPILATION_CACHE names a folder to keep the compiled code in:
// it goes to the Tributary cache, next to the binary's cache, and start-up
// takes about 2 s from the second run on. wazero writes the cache files
// atomically, so concurrent instances can share it.
func (g *gtsProcess) command(args ...string) *exec.Cmd {
	cmd := exec.Command(g.bin, append([]string{"--config-path", g.config}, args...)...)
	cmd.Env = os.Environ()
	if os.Getenv("GTS_WAZERO_COMPILATION_CACHE") == "" {
		if dir := wazeroCache(); dir != "" {
			cmd.Env = append(cmd.Env, "GTS_WAZERO_COMPILATION_CACHE="+dir)
		}
	}
	dieWithParent(cmd)
	return cmd
}

// wazeroCache is $TRIBUTARY_CACHE/gotosocial/wazero (default cache folder
// ~/.cache/tributary, as scripts/fixtures/gotosocial.sh), or "" if there is
// no usable cache folder.
func wazeroCache() string {
	base := os.Getenv("TRIBUTARY_CACHE")
	if base == "" {
		user, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(user, "tributary")
	}
	dir := filepath.Join(base, "gotosocial", "wazero")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return ""
	}
	return dir
}

func (g *gtsProcess) admin(args ...string) error {
	cmd := g.command(append([]string{"admin"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("gotosocial admin %s: %w: %s", strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	return nil
}

// start runs "server start" and waits for readiness through the proxy at host.
func (g *gtsProcess) start(host string) error {
	var err error
	if g.log != nil {
		g.log.Close()
	}
	g.log, err = os.OpenFile(filepath.Join(g.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	g.cmd = g.command("server", "start")
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	if err := g.cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	g.exited = exited
	cmd := g.cmd
	go func() { _ = cmd.Wait(); close(exited) }()

	// Poll the readiness endpoint: at most 240 tries over 120 s (two
	// instances start at once on few cores).
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(120 * time.Second)
	for i := 0; i < 240 && time.Now().Before(deadline); i++ {
		select {
		case <-exited:
			return fmt.Errorf("gotosocial exited during start-up; log: %s", g.tail(15))
		default:
		}
		resp, err := client.Get("http://" + host + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-time.After(500 * time.Millisecond):
		case <-exited:
		}
	}
	g.stop()
	return fmt.Errorf("gotosocial not ready within 120 s; log: %s", g.tail(15))
}

// stop ends the server: SIGTERM, then SIGKILL after 15 s.
func (g *gtsProcess) stop() {
	if g.cmd != nil && g.cmd.Process != nil && g.exited != nil {
		_ = g.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-g.exited:
		case <-time.After(15 * time.Second):
			_ = g.cmd.Process.Kill()
			<-g.exited
		}
	}
	if g.log != nil {
		g.log.Close()
		g.log = nil
	}
}

func (g *gtsProcess) tail(n int) string {
	b, _ := os.ReadFile(filepath.Join(g.dir, "server.log"))
	return lastLines(string(b), n)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
