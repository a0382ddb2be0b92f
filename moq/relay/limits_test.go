package relay

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// wellKnownGate is an http.RoundTripper standing in for every origin's
// /.well-known/moq: it records each fetch and holds it until released,
// then answers 404.
type wellKnownGate struct {
	started chan string // the host of each fetch, as it starts
	release chan struct{}

	mu    sync.Mutex
	hosts []string
}

func newWellKnownGate() *wellKnownGate {
	return &wellKnownGate{started: make(chan string, 1024), release: make(chan struct{})}
}

func (g *wellKnownGate) RoundTrip(req *http.Request) (*http.Response, error) {
	g.mu.Lock()
	g.hosts = append(g.hosts, req.URL.Host)
	g.mu.Unlock()
	g.started <- req.URL.Host
	select {
	case <-g.release:
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
	return &http.Response{StatusCode: http.StatusNotFound, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

func (g *wellKnownGate) fetches() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.hosts...)
}

// TestOutgoingWorkBounded: requests for made-up origins make the relay fetch
// at most MaxOutgoing well-known documents at once; the request beyond is
// refused at once with EXCESSIVE_LOAD (not queued), requests for an origin
// being fetched wait for that one fetch, and the failures stay cached.
func TestOutgoingWorkBounded(t *testing.T) {
	gate := newWellKnownGate()
	r := startRelay(t, "127.0.0.1", func(c *Config) {
		c.MaxOutgoing = 3
		c.HTTPClient = &http.Client{Transport: gate}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := dialRelay(t, r, nil)
	results := make(chan error, 8)
	subscribe := func(origin, track string) {
		n := wire.FullTrackName{Namespace: wire.NewNamespace(origin, "alice", "live"), Name: []byte(track)}
		sub, err := s.Subscribe(ctx, n, nil)
		if err == nil {
			sub.Close()
		}
		results <- err
	}
	// Three origins take the three places; a second track of the first
	// origin waits for its fetch instead of starting another.
	for i := 1; i <= 3; i++ {
		go subscribe(fmt.Sprintf("made-up-%d.test", i), "video")
	}
	go subscribe("made-up-1.test", "audio")
	for i := 0; i < 3; i++ {
		select {
		case <-gate.started:
		case <-ctx.Done():
			t.Fatal("the three fetches did not start")
		}
	}
	n4 := wire.FullTrackName{Namespace: wire.NewNamespace("made-up-4.test", "alice", "live"), Name: []byte("video")}
	_, err := s.Subscribe(ctx, n4, nil)
	if code, ok := requestCode(err); !ok || code != wire.RequestExcessiveLoad {
		t.Fatalf("a fourth origin while three are fetched: %v, want EXCESSIVE_LOAD at once", err)
	}
	// A relay proof needs its issuer's well-known document too: with no
	// place free, the session is refused as an over-limit one (not as a
	// forger), at once.
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	proved := dialRelay(t, r, &moq.Config{MoreAuthTokens: [][]byte{mintProof(key, "proved.example", r.Name(), time.Now())}})
	_, err = proved.Subscribe(ctx, testName("made-up-5.test"), nil)
	if code, ok := requestCode(err); !ok || code != wire.RequestExcessiveLoad || !strings.Contains(err.Error(), "relay proof") {
		t.Errorf("a relay proof while the places are taken: %v, want EXCESSIVE_LOAD", err)
	}
	if got := gate.fetches(); len(got) != 3 {
		t.Errorf("fetches under way %v, want 3", got)
	}
	close(gate.release)
	for i := 0; i < 4; i++ {
		if code, ok := requestCode(<-results); !ok || code != wire.RequestDoesNotExist {
			t.Errorf("made-up origin: got %v, want DOES_NOT_EXIST", code)
		}
	}
	// The places are free again, and the failures are cached: asking
	// again fetches nothing.
	_, err = s.Subscribe(ctx, testName("made-up-2.test"), nil)
	if code, ok := requestCode(err); !ok || code != wire.RequestDoesNotExist {
		t.Errorf("made-up origin again: %v, want DOES_NOT_EXIST", err)
	}
	if got := gate.fetches(); len(got) != 3 {
		t.Errorf("fetches %v, want the 3 of the first requests only", got)
	}
	if n := r.Stats().Refused["EXCESSIVE_LOAD"]; n != 2 {
		t.Errorf("EXCESSIVE_LOAD counted %d times, want 2", n)
	}
}

// TestOutgoingPlaces: the bounds of outgoing work, overall and per origin.
func TestOutgoingPlaces(t *testing.T) {
	o := outgoing{max: 6, perOrigin: 4, byOrigin: make(map[string]int)}
	var rel []func()
	for i := 0; i < 4; i++ {
		f, err := o.acquire("a.example")
		if err != nil {
			t.Fatalf("place %d of a.example: %v", i, err)
		}
		rel = append(rel, f)
	}
	if _, err := o.acquire("A.example"); err != errBusy {
		t.Errorf("fifth place of one origin: %v, want errBusy", err)
	}
	for i := 0; i < 2; i++ {
		if _, err := o.acquire("b.example"); err != nil {
			t.Fatalf("place %d of b.example: %v", i, err)
		}
	}
	if _, err := o.acquire("c.example"); err != errBusy {
		t.Errorf("seventh place: %v, want errBusy", err)
	}
	rel[0]()
	rel[0]() // releasing twice frees one place only
	if _, err := o.acquire("c.example"); err != nil {
		t.Errorf("a place after a release: %v", err)
	}
	if _, err := o.acquire("c.example"); err != errBusy {
		t.Errorf("a second place after one release: %v, want errBusy", err)
	}
}

// drain reads what is waiting on pc and reports whether anything was.
func drain(t *testing.T, pc *net.UDPConn) bool {
	t.Helper()
	got := false
	for received(t, pc) {
		got = true
	}
	return got
}

// TestDialFailuresCached: when no endpoint an origin's well-known document
// lists answers, the origin's failure is cached like a failed fetch: the
// next request is refused without dialling again. Configured upstreams
// are dialled again on the next request.
func TestDialFailuresCached(t *testing.T) {
	quic4 := silentUDP(t, "udp4", "127.0.0.1:0")
	dead := "moqt://" + quic4.LocalAddr().String()
	origin, srv := serveWellKnown(t, WellKnown{MoQT: []string{dead}})
	r := startRelay(t, "127.0.0.1", func(c *Config) {
		c.HTTPClient = srv.Client()
		c.Upstreams = map[string][]string{"configured.test": {dead}}
	})
	unreachable := "origin " + origin + " unreachable"
	re := refusal(t, r, testName(origin))
	if re.Code != wire.RequestDoesNotExist || re.Reason != unreachable {
		t.Errorf("first request: %v %q", re.Code, re.Reason)
	}
	if !drain(t, quic4) {
		t.Fatal("the relay did not dial the listed endpoint")
	}
	start := time.Now()
	other := wire.FullTrackName{Namespace: wire.NewNamespace(origin, "bob", "live"), Name: []byte("video")}
	re = refusal(t, r, other)
	if re.Code != wire.RequestDoesNotExist || re.Reason != unreachable {
		t.Errorf("second request: %v %q", re.Code, re.Reason)
	}
	if drain(t, quic4) {
		t.Error("the relay dialled the dead endpoint again within the failure's lifetime")
	}
	t.Logf("cached refusal in %v", time.Since(start).Round(time.Millisecond))

	for i := 0; i < 2; i++ {
		refusal(t, r, testName("configured.test"))
		if !drain(t, quic4) {
			t.Errorf("request %d for a configured upstream did not dial it", i)
		}
	}
	// A new upstream map forgets the failures.
	if err := r.SetUpstreams(nil, nil); err != nil {
		t.Fatal(err)
	}
	refusal(t, r, testName(origin))
	if !drain(t, quic4) {
		t.Error("SetUpstreams did not forget the cached dial failure")
	}
}

// countingTransport answers every well-known fetch with 404 and counts them.
type countingTransport struct {
	mu sync.Mutex
	n  int
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return &http.Response{StatusCode: http.StatusNotFound, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

func (c *countingTransport) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestCommunityFederatesForTrustedOnly: a community relay reaches out to
// other origins only for the sessions it serves (a watch grant, a relay
// token, a proved relay); an anonymous request is refused before any fetch.
func TestCommunityFederatesForTrustedOnly(t *testing.T) {
	tr := &countingTransport{}
	r := startRelay(t, "127.0.0.1", func(c *Config) {
		c.Watch = WatchCommunity
		c.Secret = secret
		c.HTTPClient = &http.Client{Transport: tr}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, cfg := range []*moq.Config{nil, {Implementation: implPrefix + "declared.example"}, {AuthToken: mint(t, Claims{Subject: "pub", Publish: []string{"*"}})}} {
		_, err := dialRelay(t, r, cfg).Subscribe(ctx, testName(fmt.Sprintf("stranger-%d.test", i)), nil)
		if code, ok := requestCode(err); !ok || code != wire.RequestUnauthorized {
			t.Errorf("untrusted session %d: %v, want UNAUTHORIZED", i, err)
		}
	}
	if n := tr.count(); n != 0 {
		t.Fatalf("the relay fetched %d well-known documents for untrusted sessions", n)
	}
	for i, tok := range [][]byte{mint(t, Claims{Subject: "bob", Watch: true}), mint(t, Claims{Subject: "peer.example", Relay: true})} {
		_, err := dialRelay(t, r, &moq.Config{AuthToken: tok}).Subscribe(ctx, testName(fmt.Sprintf("friend-%d.test", i)), nil)
		if code, ok := requestCode(err); !ok || code != wire.RequestDoesNotExist {
			t.Errorf("trusted session %d: %v, want DOES_NOT_EXIST", i, err)
		}
	}
	if n := tr.count(); n != 2 {
		t.Errorf("the relay fetched %d well-known documents for trusted sessions, want 2", n)
	}
}

// TestConnectionsPerIP: sessions from one address beyond the limit get
// EXCESSIVE_LOAD and are closed; they take no place, so the address gets
// one again when a session leaves.
func TestConnectionsPerIP(t *testing.T) {
	r := startRelay(t, "127.0.0.1", func(c *Config) { c.MaxConnectionsPerIP = 2; c.LocalOrigins = []string{origin} })
	p := startPublisher(t, testName(origin), 10, 100, 5*time.Millisecond)
	r.Publish(p.track)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var first *moq.Session
	for i := 0; i < 2; i++ {
		s := dialRelay(t, r, nil)
		sub, err := s.Subscribe(ctx, testName(origin), nil)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		defer sub.Close()
		if first == nil {
			first = s
		}
	}
	third := dialRelay(t, r, nil)
	_, err := third.Subscribe(ctx, testName(origin), nil)
	if code, ok := requestCode(err); !ok || code != wire.RequestExcessiveLoad || !strings.Contains(err.Error(), "from one address") {
		t.Fatalf("third session from one address: %v, want EXCESSIVE_LOAD", err)
	}
	select {
	case <-third.Context().Done():
	case <-ctx.Done():
		t.Fatal("the session over the limit was not closed")
	}
	first.Close()
	waitFor(t, 10*time.Second, "the relay to forget the closed sessions", func() bool { return r.Stats().Sessions == 1 })
	sub, err := dialRelay(t, r, nil).Subscribe(ctx, testName(origin), nil)
	if err != nil {
		t.Fatalf("a session after one left: %v", err)
	}
	sub.Close()
}

// TestLimitDefaults: the connection and outgoing limits have safe
// defaults; a negative value turns one off.
func TestLimitDefaults(t *testing.T) {
	c, err := (&Config{Listen: "127.0.0.1:0"}).withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxConnections != 10000 || c.MaxConnectionsPerIP != 64 || c.MaxOutgoing != 64 || c.MaxOutgoingPerOrigin != 4 {
		t.Errorf("defaults: %d connections, %d per IP, %d outgoing, %d per origin", c.MaxConnections, c.MaxConnectionsPerIP, c.MaxOutgoing, c.MaxOutgoingPerOrigin)
	}
	c, _ = (&Config{Listen: "127.0.0.1:0", MaxConnections: -1, MaxConnectionsPerIP: -1, MaxOutgoing: -1, MaxOutgoingPerOrigin: -1}).withDefaults()
	if c.MaxConnections >= 0 || c.MaxConnectionsPerIP >= 0 || c.MaxOutgoing >= 0 || c.MaxOutgoingPerOrigin >= 0 {
		t.Errorf("negative limits became %+v", c)
	}
	for _, tc := range []struct{ addr, want string }{
		{"192.0.2.1:443", "192.0.2.1"},
		{"[::ffff:192.0.2.1]:443", "192.0.2.1"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:443", "fe80::/64"},
	} {
		a, err := net.ResolveUDPAddr("udp", tc.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := ipKey(a); got != tc.want {
			t.Errorf("ipKey(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// TestStatusNeedsAdmin: public /status.json and /metrics show aggregates
// only; each viewer's address, user and start time need the admin token
// (compared in constant time, never logged) or a request from loopback.
func TestStatusNeedsAdmin(t *testing.T) {
	const adminToken = "admin-token-0123456789abcdef"
	var logs bytes.Buffer
	var logMu sync.Mutex
	r := startRelay(t, "127.0.0.1", func(c *Config) {
		c.LocalOrigins = []string{origin}
		c.Secret = secret
		c.AdminToken = adminToken
		c.Logger = slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
			logMu.Lock()
			defer logMu.Unlock()
			return logs.Write(b)
		}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	p := startPublisher(t, testName(origin), 10, 100, 5*time.Millisecond)
	r.Publish(p.track)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := dialRelay(t, r, &moq.Config{AuthToken: mint(t, Claims{Subject: "viewer-bob", Watch: true})}).Subscribe(ctx, testName(origin), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	st := r.Stats()
	if len(st.LocalViewers) != 1 {
		t.Fatalf("local viewers %+v", st.LocalViewers)
	}
	viewerAddr := st.LocalViewers[0].Addr

	h := r.httpHandler()
	fetch := func(path, remote, auth string) string {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.RemoteAddr = remote
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
		return rec.Body.String()
	}
	for _, tc := range []struct {
		what, remote, auth string
		detail             bool
	}{
		{"public", "203.0.113.7:5555", "", false},
		{"wrong token", "203.0.113.7:5555", "Bearer admin-token-0123456789abcdeX", false},
		{"token without Bearer", "203.0.113.7:5555", adminToken, false},
		{"admin token", "203.0.113.7:5555", "Bearer " + adminToken, true},
		{"loopback", "127.0.0.1:40000", "", true},
		{"IPv6 loopback", "[::1]:40000", "", true},
	} {
		body := fetch("/status.json", tc.remote, tc.auth)
		var got Stats
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatalf("%s: status.json: %v", tc.what, err)
		}
		if got.Sessions != 1 || got.Viewers != 1 || len(got.Broadcasts) != 1 {
			t.Errorf("%s: aggregates missing: %d sessions, %d viewers, %d broadcasts", tc.what, got.Sessions, got.Viewers, len(got.Broadcasts))
		}
		shows := strings.Contains(body, viewerAddr) || strings.Contains(body, "viewer-bob")
		if shows != tc.detail || (len(got.LocalViewers) == 1) != tc.detail {
			t.Errorf("%s: status.json shows the viewer: %v, want %v\n%s", tc.what, shows, tc.detail, body)
		}
		if m := fetch("/metrics", tc.remote, tc.auth); !strings.Contains(m, "tributary_relay_viewers 1") || strings.Contains(m, viewerAddr) {
			t.Errorf("%s: metrics:\n%s", tc.what, m)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if strings.Contains(logs.String(), adminToken) {
		t.Error("the admin token is in the logs")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// TestRelayLabelsBounded: 200 downstream relays with made-up names (100
// declared only, 100 holding relay tokens of as many names) do not become
// 200 labels: /metrics and /status.json name at most maxLabels relays plus
// "other" and "unverified", while they are connected and after they left,
// and a label idle for an hour is forgotten.
func TestRelayLabelsBounded(t *testing.T) {
	r := startRelay(t, "127.0.0.1", func(c *Config) { c.Secret = secret; c.MaxConnectionsPerIP = -1 })
	const n = 200
	sessions := make([]*moq.Session, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			cfg := &moq.Config{Implementation: fmt.Sprintf("%smade-up-%d.example", implPrefix, i)}
			if i%2 == 0 {
				cfg.AuthToken = mint(t, Claims{Subject: fmt.Sprintf("relay-%d.example", i), Relay: true})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			s, err := moq.Dial(ctx, r.URL(), cfg, &moq.DialOptions{CertHashes: [][]byte{r.CertHash()}})
			if err != nil {
				t.Errorf("dial %d: %v", i, err)
				return
			}
			sessions[i] = s
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, s := range sessions {
			if s != nil {
				s.Close()
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	waitFor(t, 20*time.Second, "the relay to know every session", func() bool { return r.Stats().Sessions == n })
	check := func(when string) {
		t.Helper()
		st := r.Stats()
		names := map[string]bool{}
		for _, d := range st.Downstreams {
			names[d.Name] = true
			if strings.Contains(d.Name, "made-up") {
				t.Errorf("%s: a declared name became a label: %q", when, d.Name)
			}
		}
		if len(st.Downstreams) > maxLabels+1 || !names[otherLabel] || !names["unverified"] {
			t.Errorf("%s: %d downstream labels (other %v, unverified %v), want at most %d", when, len(st.Downstreams), names[otherLabel], names["unverified"], maxLabels+1)
		}
		var m strings.Builder
		st.WriteMetrics(&m)
		if c := strings.Count(m.String(), "tributary_relay_downstream_out_bytes_total{"); c > maxLabels+1 {
			t.Errorf("%s: %d downstream series in /metrics", when, c)
		}
	}
	check("connected")
	for _, s := range sessions {
		s.Close()
	}
	waitFor(t, 20*time.Second, "the sessions to end", func() bool { return r.Stats().Sessions == 0 })
	check("after they left")
	r.totals.perRelay.prune(time.Now().Add(labelIdle + time.Minute))
	if d := r.Stats().Downstreams; len(d) != 0 {
		t.Errorf("labels idle for an hour kept: %+v", d)
	}
}

// TestLabelTotals: more than maxLabels names share "other"; a name keeps
// its label while in use and loses it after an hour idle.
func TestLabelTotals(t *testing.T) {
	l := newLabelTotals()
	now := time.Now()
	for i := 0; i < 200; i++ {
		name := fmt.Sprintf("https://u%d.example/", i)
		l.add(l.assign(name, now), 10, now)
	}
	snap := l.snapshot()
	if len(snap) != maxLabels+1 || snap[otherLabel] != 10*(200-maxLabels) || snap["https://u0.example/"] != 10 {
		t.Errorf("%d labels, other %d", len(snap), snap[otherLabel])
	}
	if got := l.assign("https://u1.example/", now); got != "https://u1.example/" {
		t.Errorf("a known name got %q", got)
	}
	later := now.Add(labelIdle / 2)
	l.touch(later, "https://u1.example/")
	l.prune(now.Add(labelIdle + time.Minute))
	if snap := l.snapshot(); len(snap) != 1 || snap["https://u1.example/"] != 10 {
		t.Errorf("after an idle hour: %v", snap)
	}
	if got := l.assign("https://new.example/", now); got != "https://new.example/" {
		t.Errorf("a new name after pruning got %q", got)
	}
}

// TestPublishTokenInRequest: a publish grant sent as the AUTHORIZATION
// TOKEN parameter of PUBLISH_NAMESPACE or PUBLISH counts as one sent in
// SETUP; a forged or expired one is refused with MALFORMED_AUTH_TOKEN or
// EXPIRED_AUTH_TOKEN, as in a SUBSCRIBE.
func TestPublishTokenInRequest(t *testing.T) {
	r := startRelay(t, "127.0.0.1", func(c *Config) { c.Secret = secret; c.LocalOrigins = []string{origin} })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := dialRelay(t, r, nil) // no token in SETUP
	grant := mint(t, Claims{Subject: "alice", Publish: []string{origin + "/alice"}})
	forged := append([]byte(nil), grant...)
	forged[len(forged)-2] ^= 1
	expired := mint(t, Claims{Subject: "alice", Publish: []string{origin + "/alice"}, Expires: time.Now().Add(-time.Minute).Unix()})
	ns := wire.NewNamespace(origin, "alice", "live")

	announce := func(ns wire.Namespace, tok []byte) error {
		a, err := s.PublishNamespace(ctx, ns, tok)
		if err == nil {
			t.Cleanup(a.Close)
		}
		return err
	}
	publish := func(ns wire.Namespace, tok []byte) error {
		tr, w := moq.NewTrack(wire.FullTrackName{Namespace: ns, Name: []byte("video")}, nil)
		t.Cleanup(func() { w.Close(nil) })
		p, err := s.Publish(ctx, tr, &moq.PublishOptions{AuthToken: tok})
		if err == nil {
			t.Cleanup(func() { p.Close() })
		}
		return err
	}
	for _, tc := range []struct {
		what string
		ns   wire.Namespace
		tok  []byte
		want wire.RequestErrorCode // 0: accepted
	}{
		{"grant", ns, grant, 0},
		{"no token", wire.NewNamespace(origin, "alice", "other"), nil, wire.RequestUnauthorized},
		{"grant outside its prefix", wire.NewNamespace(origin, "bob", "live"), grant, wire.RequestUnauthorized},
		{"forged", wire.NewNamespace(origin, "alice", "forged"), forged, wire.RequestMalformedAuth},
		{"expired", wire.NewNamespace(origin, "alice", "expired"), expired, wire.RequestExpiredAuth},
	} {
		for _, req := range []struct {
			kind string
			do   func(wire.Namespace, []byte) error
		}{{"PUBLISH_NAMESPACE", announce}, {"PUBLISH", publish}} {
			ns := append(wire.Namespace(nil), tc.ns...)
			if req.kind == "PUBLISH" {
				ns = append(ns, []byte("pushed"))
			}
			err := req.do(ns, tc.tok)
			code, _ := requestCode(err)
			switch {
			case tc.want == 0 && err != nil:
				t.Errorf("%s with %s: %v, want it accepted", req.kind, tc.what, err)
			case tc.want != 0 && code != tc.want:
				t.Errorf("%s with %s: %v, want %v", req.kind, tc.what, err, tc.want)
			}
		}
	}
}
