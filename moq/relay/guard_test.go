package relay

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// serveWellKnown serves wk as /.well-known/moq on a loopback HTTPS server
// and returns the origin (host:port) and the server (whose Client trusts it).
func serveWellKnown(t *testing.T, wk WellKnown) (string, *httptest.Server) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/.well-known/moq" {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(wk)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String(), srv
}

// silentUDP opens a UDP socket that never answers, standing in for a
// service on the relay's network; it is closed in t.Cleanup.
func silentUDP(t *testing.T, network, addr string) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenPacket(network, addr)
	if err != nil {
		t.Skipf("no %s socket on %s: %v", network, addr, err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.(*net.UDPConn)
}

// received reports whether a packet is waiting on pc. It is called after the
// relay answered the request, so every dial has already sent its packets,
// which loopback delivers at once: the deadline only bounds the read.
func received(t *testing.T, pc *net.UDPConn) bool {
	t.Helper()
	if err := pc.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, _, err := pc.ReadFrom(make([]byte, 2048))
	return err == nil
}

// refusal subscribes to name through r and returns the REQUEST_ERROR.
func refusal(t *testing.T, r *Relay, name wire.FullTrackName) *moq.RequestError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub, err := dialRelay(t, r, nil).Subscribe(ctx, name, nil)
	if err == nil {
		sub.Close()
		t.Fatalf("subscribe %s succeeded", namespacePath(name.Namespace))
	}
	var re *moq.RequestError
	if !errors.As(err, &re) {
		t.Fatalf("subscribe %s: %v, want a REQUEST_ERROR", namespacePath(name.Namespace), err)
	}
	return re
}

// TestWellKnownEndpointsAreGuarded: a well-known document (fetched with the
// test's own client) lists endpoints on loopback, private, link-local,
// CGNAT and benchmarking addresses, by IP and by name; without
// AllowPrivateUpstreams the relay dials none of them (no packet reaches the
// loopback listeners) and the REQUEST_ERROR says only that the origin is
// unreachable.
func TestWellKnownEndpointsAreGuarded(t *testing.T) {
	quic4 := silentUDP(t, "udp4", "127.0.0.1:0")
	wt4 := silentUDP(t, "udp4", "127.0.0.1:0")
	named := silentUDP(t, "udp4", "127.0.0.1:0")
	_, namedPort, _ := net.SplitHostPort(named.LocalAddr().String())
	listeners := map[string]*net.UDPConn{"moqt 127.0.0.1": quic4, "webtransport 127.0.0.1": wt4, "relay localhost": named}
	wk := WellKnown{
		MoQT: []string{
			"moqt://" + quic4.LocalAddr().String(),
			"moqt://10.0.0.1:443", "moqt://169.254.169.254:443", "moqt://198.18.0.1:443",
			"moqt://100.64.0.1:443", "moqt://[64:ff9b::a00:1]:443", "moqt://0.0.0.0:443",
		},
		WebTransport: []string{"https://" + wt4.LocalAddr().String() + "/moq"},
		Relays:       []string{"moqt://localhost:" + namedPort},
	}
	if pc, err := net.ListenPacket("udp6", "[::1]:0"); err == nil {
		t.Cleanup(func() { pc.Close() })
		listeners["moqt ::1"] = pc.(*net.UDPConn)
		wk.MoQT = append(wk.MoQT, "moqt://"+pc.LocalAddr().String())
	}
	origin, srv := serveWellKnown(t, wk)
	r := startRelay(t, "127.0.0.1", func(c *Config) {
		c.AllowPrivateUpstreams = false
		c.HTTPClient = srv.Client()
	})
	start := time.Now()
	re := refusal(t, r, testName(origin))
	t.Logf("refused after %s: %v", time.Since(start).Round(time.Millisecond), re)
	if re.Code != wire.RequestDoesNotExist || re.Reason != "origin "+origin+" unreachable" {
		t.Errorf("REQUEST_ERROR %v %q, want DOES_NOT_EXIST %q", re.Code, re.Reason, "origin "+origin+" unreachable")
	}
	for what, pc := range listeners {
		if received(t, pc) {
			t.Errorf("the relay sent a packet to the %s endpoint the document listed", what)
		}
	}
}

// TestUpstreamDialErrorsStayInTheLog: with AllowPrivateUpstreams (the guard
// off) the relay does dial the listed loopback endpoints (so the listeners
// of TestWellKnownEndpointsAreGuarded would notice), and their timeouts do
// not reach the requester: the reason is the same as for any other
// unreachable origin.
func TestUpstreamDialErrorsStayInTheLog(t *testing.T) {
	quic4 := silentUDP(t, "udp4", "127.0.0.1:0")
	origin, srv := serveWellKnown(t, WellKnown{MoQT: []string{"moqt://" + quic4.LocalAddr().String()}})
	r := startRelay(t, "127.0.0.1", func(c *Config) { c.HTTPClient = srv.Client() })
	re := refusal(t, r, testName(origin))
	if re.Code != wire.RequestDoesNotExist || re.Reason != "origin "+origin+" unreachable" {
		t.Errorf("REQUEST_ERROR %v %q, want DOES_NOT_EXIST %q", re.Code, re.Reason, "origin "+origin+" unreachable")
	}
	if !received(t, quic4) {
		t.Error("the relay did not dial the listed endpoint with AllowPrivateUpstreams")
	}

	// A failed well-known fetch says as little: here nothing listens on
	// the origin's TCP port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	if re := refusal(t, r, testName(closed)); re.Reason != "origin "+closed+" unreachable" {
		t.Errorf("well-known fetch from a closed port: reason %q", re.Reason)
	}
}

// TestConfiguredUpstreamsAreTrusted: upstreams the administrator configured
// are dialled on loopback even without AllowPrivateUpstreams; a
// well-known document naming the same URL does not get to share that
// session.
func TestConfiguredUpstreamsAreTrusted(t *testing.T) {
	o := startRelay(t, "127.0.0.1", nil)
	const configured = "configured.test"
	p := startPublisher(t, testName(configured), 10, 100, 5*time.Millisecond)
	o.Publish(p.track)
	origin, srv := serveWellKnown(t, WellKnown{MoQT: []string{"moqt://" + o.Addr().String()}})
	// o would serve the stranger's namespace too, were it asked.
	p2 := startPublisher(t, testName(origin), 10, 100, 5*time.Millisecond)
	o.Publish(p2.track)

	b := startRelay(t, "127.0.0.1", func(c *Config) {
		c.AllowPrivateUpstreams = false
		c.HTTPClient = srv.Client()
		c.Upstreams = map[string][]string{configured: {"moqt://" + o.Addr().String()}}
		c.UpstreamCertHashes = []string{pin(o)}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v := dialRelay(t, b, nil)
	sub, err := v.Subscribe(ctx, testName(configured), &moq.SubscribeOptions{JoinGroup: true})
	if err != nil {
		t.Fatalf("subscribe through a configured loopback upstream: %v", err)
	}
	defer sub.Close()
	if _, err := readN(ctx, sub, 3); err != nil {
		t.Fatal(err)
	}
	re := refusal(t, b, testName(origin))
	if !strings.Contains(re.Reason, "unreachable") {
		t.Errorf("well-known endpoint on the configured upstream's URL: %v", re)
	}
}
