package interop_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The browser peer is moq/interop/browser (@moq/net in headless Chromium),
// bundled by scripts/fixtures/browser.sh. It reports to this harness with a
// JSON POST to /result on a loopback HTTP server that also serves its page.

// browserResult is the JSON the page POSTs (moq/interop/browser/src/main.js).
type browserResult struct {
	Mode     string          `json:"mode"`
	Phase    string          `json:"phase"`
	OK       bool            `json:"ok"`
	Error    string          `json:"error"`
	Version  string          `json:"version"`
	Sent     []browserObject `json:"sent"`
	Received []browserObject `json:"received"`
	// TrackClosed is how a subscribed track ended: "clean" or the error.
	TrackClosed string `json:"trackClosed"`
	// Announced are the namespace events of mode "announced".
	Announced []struct {
		Path   string `json:"path"`
		Active bool   `json:"active"`
	} `json:"announced"`
	Logs []string `json:"logs"`
}

// browserObject is one object the page sent or received.
type browserObject struct {
	Group  uint64 `json:"group"`
	Object uint64 `json:"object"`
	Size   int    `json:"size"`
	Data   []byte `json:"data"` // base64 in JSON
	// TS and Scale are the timestamp @moq/net gives a received frame: from
	// its Timestamp property in Timescale units, or its arrival time.
	TS    float64 `json:"ts"`
	Scale float64 `json:"scale"`
}

// browserPeer is one running Chromium with the peer page.
type browserPeer struct {
	t       *testing.T
	results chan browserResult
	stderr  *boundedBuffer
	gate    chan struct{} // closed by open(): releases the page's GET /gate
}

// open releases the page waiting at its gate (query parameter gate=1).
func (p *browserPeer) open() { close(p.gate) }

// browserFixture returns the bundle and Chromium paths, skipping (or failing
// under TRIBUTARY_REQUIRE_FIXTURES=1) when the fixture is not prepared.
func browserFixture(t *testing.T) (bundle, chromium string) {
	t.Helper()
	bundle = os.Getenv("TRIBUTARY_BROWSER_BUNDLE")
	chromium = os.Getenv("TRIBUTARY_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	missing := ""
	if bundle == "" {
		missing = "TRIBUTARY_BROWSER_BUNDLE is not set"
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

const browserPage = `<!doctype html><html><head><meta charset="utf-8"><title>tributary interop peer</title></head>
<body><script type="module" src="/peer.js"></script></body></html>`

// startBrowser serves the peer page on loopback and opens it in headless
// Chromium with the given scenario parameters. Chromium is killed in
// t.Cleanup.
func startBrowser(t *testing.T, scenario url.Values) *browserPeer {
	t.Helper()
	bundlePath, chromium := browserFixture(t)
	bundle, err := os.ReadFile(bundlePath)
	if err != nil {
		t.Fatalf("read bundle: %v", err)
	}
	p := &browserPeer{t: t, results: make(chan browserResult, 8), stderr: &boundedBuffer{max: 256 << 10}, gate: make(chan struct{})}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, browserPage)
	})
	mux.HandleFunc("GET /peer.js", func(w http.ResponseWriter, r *http.Request) {
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
		var res browserResult
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<20)).Decode(&res); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case p.results <- res:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	page := "http://" + ln.Addr().String() + "/?" + scenario.Encode()
	profile := t.TempDir()
	cmd := exec.Command(chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--enable-logging=stderr", "--v=0",
		"--user-data-dir="+profile, page)
	cmd.Stdout = p.stderr
	cmd.Stderr = p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		// Chromium's helpers share its process group: end the group we started.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("chromium (pid %d) did not exit after SIGKILL", cmd.Process.Pid)
		}
	})
	return p
}

// wait returns the next result the page posts, failing the test after d.
func (p *browserPeer) wait(d time.Duration) browserResult {
	p.t.Helper()
	select {
	case res := <-p.results:
		return res
	case <-time.After(d):
		p.t.Fatalf("browser peer posted no result within %v; chromium output:\n%s", d, p.stderr.String())
		return browserResult{}
	}
}

// waitPhase returns the page's next result of the given phase, or its final
// result if that comes first, failing the test after d.
func (p *browserPeer) waitPhase(phase string, d time.Duration) browserResult {
	p.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case res := <-p.results:
			if res.Phase == phase || res.Phase == "done" {
				return res
			}
		case <-deadline:
			p.t.Fatalf("browser peer posted no %q result within %v; chromium output:\n%s", phase, d, p.stderr.String())
			return browserResult{}
		}
	}
}

// logNext waits up to d for the page's next result and logs it, for a test
// that is about to fail.
func (p *browserPeer) logNext(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case res := <-p.results:
			t.Logf("browser result: phase=%s ok=%v error=%q", res.Phase, res.OK, res.Error)
			res.logTo(t)
			if res.Phase == "done" {
				return
			}
		case <-deadline:
			t.Logf("browser posted no final result within %v", d)
			return
		}
	}
}

// logTo writes the page's console lines to the test log.
func (r browserResult) logTo(t *testing.T) {
	t.Helper()
	for _, l := range r.Logs {
		t.Logf("browser: %s", l)
	}
	if len(r.Received) > 0 {
		locs := make([]string, len(r.Received))
		for i, o := range r.Received {
			locs[i] = fmt.Sprintf("%d/%d(%dB)", o.Group, o.Object, len(o.Data))
		}
		t.Logf("browser received %d objects: %s", len(locs), strings.Join(locs, " "))
	}
}

// certHash is the hex SHA-256 of a DER certificate, as serverCertificateHashes wants.
func certHash(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// boundedBuffer keeps the first max bytes written to it.
type boundedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// payload is the deterministic object payload, the same function as payload()
// in moq/interop/browser/src/main.js (xorshift32 seeded from seed, g, o).
func payload(seed uint32, g, o uint64, size int) []byte {
	out := make([]byte, size)
	x := seed ^ uint32(g+1)*0x9e3779b1 ^ uint32(o+1)*0x85ebca6b
	if x == 0 {
		x = 1
	}
	for i := range out {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		out[i] = byte(x)
	}
	return out
}
