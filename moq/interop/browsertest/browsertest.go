// Package browsertest runs a page of the browser fixture
// (moq/interop/browser, bundled by scripts/fixtures/browser.sh) in Debian's
// headless Chromium for tests: the MoQ clients nobody here wrote (@moq/net,
// @moq/publish) against Tributary's servers, relays and players.
//
// The page reports to the test with JSON POSTs to /result on a loopback HTTP
// server that also serves it; a page may wait at GET /gate until the test
// calls Open. It is a test helper: it takes a testing.TB and ends the test on
// set-up failures.
package browsertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Environment variables the fixture script exports.
const (
	// EnvPeerBundle is the @moq/net peer page (src/main.js).
	EnvPeerBundle = "TRIBUTARY_BROWSER_BUNDLE"
	// EnvPublishBundle is the @moq/publish page (src/publish.js).
	EnvPublishBundle = "TRIBUTARY_BROWSER_PUBLISH_BUNDLE"
	// EnvChromium overrides the Chromium binary (default /usr/bin/chromium).
	EnvChromium = "TRIBUTARY_CHROMIUM"
)

// FakeMedia are the Chromium flags that give getUserMedia its synthetic
// camera (a green picture with a turning disc) and microphone (a beep),
// without a permission prompt.
var FakeMedia = []string{"--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"}

// Fixture returns the bundle named by the environment variable env and the
// Chromium binary. When either is missing it skips the test, or fails it
// under TRIBUTARY_REQUIRE_FIXTURES=1 (make test), naming the script to run.
func Fixture(t testing.TB, env string) (bundle, chromium string) {
	t.Helper()
	bundle = os.Getenv(env)
	chromium = os.Getenv(EnvChromium)
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	missing := ""
	if bundle == "" {
		missing = env + " is not set"
	} else if _, err := os.Stat(bundle); err != nil {
		missing = fmt.Sprintf("bundle %s: %v", bundle, err)
	} else if _, err := os.Stat(chromium); err != nil {
		missing = fmt.Sprintf("chromium %s: %v", chromium, err)
	}
	if missing != "" {
		msg := "browser fixture missing (" + missing + "): run `source scripts/fixtures/browser.sh` first"
		if os.Getenv("TRIBUTARY_REQUIRE_FIXTURES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bundle, chromium
}

// Options configure one browser run.
type Options struct {
	// Bundle is the path of the page's JavaScript (from Fixture).
	Bundle string
	// Chromium is the browser binary (from Fixture).
	Chromium string
	// Query is the page's query string: its scenario.
	Query url.Values
	// Flags are extra Chromium flags (e.g. FakeMedia).
	Flags []string
}

// Peer is one running Chromium with its page. Chromium is killed in the
// test's cleanup.
type Peer struct {
	t       testing.TB
	results chan json.RawMessage
	out     *boundedBuffer
	gate    chan struct{}
	once    sync.Once
}

const page = `<!doctype html><html><head><meta charset="utf-8"><title>tributary browser test</title></head>
<body><script type="module" src="/page.js"></script></body></html>`

// Start serves the page on loopback and opens it in headless Chromium.
func Start(t testing.TB, o Options) *Peer {
	t.Helper()
	bundle, err := os.ReadFile(o.Bundle)
	if err != nil {
		t.Fatalf("browsertest: read bundle: %v", err)
	}
	p := &Peer{t: t, results: make(chan json.RawMessage, 32), out: &boundedBuffer{max: 256 << 10}, gate: make(chan struct{})}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	})
	mux.HandleFunc("GET /page.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(bundle)
	})
	mux.HandleFunc("GET /gate", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-p.gate:
			w.WriteHeader(http.StatusNoContent)
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
			http.Error(w, "gate not opened within 30s", http.StatusGatewayTimeout)
		}
	})
	mux.HandleFunc("POST /result", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<20))
		if err != nil || !json.Valid(body) {
			http.Error(w, "a JSON body of at most 64 MiB", http.StatusBadRequest)
			return
		}
		select {
		case p.results <- json.RawMessage(body):
		default: // the test is not reading: drop rather than block the page
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("browsertest: listen: %v", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	pageURL := "http://" + ln.Addr().String() + "/?" + o.Query.Encode()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--enable-logging=stderr", "--v=0",
		"--user-data-dir=" + t.TempDir(),
	}
	args = append(args, o.Flags...)
	args = append(args, pageURL)
	cmd := exec.Command(o.Chromium, args...)
	cmd.Stdout = p.out
	cmd.Stderr = p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("browsertest: start chromium: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// Chromium's helpers share its process group: end the group we started.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("browsertest: chromium (pid %d) did not exit after SIGKILL", cmd.Process.Pid)
		}
	})
	return p
}

// Open releases a page waiting at GET /gate.
func (p *Peer) Open() { p.once.Do(func() { close(p.gate) }) }

// Next returns the next result the page posts, or false after d.
func (p *Peer) Next(d time.Duration) (json.RawMessage, bool) {
	select {
	case r := <-p.results:
		return r, true
	case <-time.After(d):
		return nil, false
	}
}

// Results is the channel of the page's posted results, for a select.
func (p *Peer) Results() <-chan json.RawMessage { return p.results }

// Output is the first 256 KiB Chromium wrote to stdout and stderr.
func (p *Peer) Output() string { return p.out.String() }

// boundedBuffer keeps the first max bytes written to it.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			p = p[:room]
		}
		b.buf.Write(p)
	}
	return n, nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
