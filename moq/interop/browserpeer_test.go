package interop_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq/interop/browsertest"
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
	t *testing.T
	*browsertest.Peer
	results chan browserResult // the page's posts, decoded
}

// open releases the page waiting at its gate (query parameter gate=1).
func (p *browserPeer) open() { p.Open() }

// output is what Chromium printed, for a failing test.
func (p *browserPeer) output() string { return p.Output() }

// startBrowser opens the @moq/net peer page (moq/interop/browser/src/main.js)
// in headless Chromium with the given scenario parameters.
func startBrowser(t *testing.T, scenario url.Values) *browserPeer {
	t.Helper()
	bundle, chromium := browsertest.Fixture(t, browsertest.EnvPeerBundle)
	p := &browserPeer{t: t, Peer: browsertest.Start(t, browsertest.Options{Bundle: bundle, Chromium: chromium, Query: scenario}),
		results: make(chan browserResult, 8)}
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		for {
			select {
			case raw := <-p.Results():
				var res browserResult
				if err := json.Unmarshal(raw, &res); err != nil {
					res = browserResult{Phase: "done", Error: "undecodable result: " + err.Error()}
				}
				select {
				case p.results <- res:
				case <-done:
					return
				}
			case <-done:
				return
			}
		}
	}()
	return p
}

// next decodes the page's next result, or reports false after d.
func (p *browserPeer) next(d time.Duration) (browserResult, bool) {
	select {
	case res := <-p.results:
		return res, true
	case <-time.After(d):
		return browserResult{}, false
	}
}

// waitPhase returns the page's next result of the given phase, or its final
// result if that comes first, failing the test after d.
func (p *browserPeer) waitPhase(phase string, d time.Duration) browserResult {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		res, ok := p.next(time.Until(deadline))
		if !ok {
			p.t.Fatalf("browser peer posted no %q result within %v; chromium output:\n%s", phase, d, p.output())
		}
		if res.Phase == phase || res.Phase == "done" {
			return res
		}
	}
}

// logNext waits up to d for the page's next results and logs them, for a
// test that is about to fail.
func (p *browserPeer) logNext(t *testing.T, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		res, ok := p.next(time.Until(deadline))
		if !ok {
			t.Logf("browser posted no final result within %v", d)
			return
		}
		t.Logf("browser result: phase=%s ok=%v error=%q", res.Phase, res.OK, res.Error)
		res.logTo(t)
		if res.Phase == "done" {
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
