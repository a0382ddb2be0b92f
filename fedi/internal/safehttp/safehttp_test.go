package safehttp

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func tlsServer(t *testing.T, h http.Handler) (*httptest.Server, *x509.CertPool) {
	t.Helper()
	s := httptest.NewTLSServer(h)
	t.Cleanup(s.Close)
	pool := x509.NewCertPool()
	pool.AddCert(s.Certificate())
	return s, pool
}

// TestCheckAddress: a guarded policy refuses what moq/netguard refuses
// (its tests hold the full table), loopback only when allowed.
func TestCheckAddress(t *testing.T) {
	for addr, want := range map[string]bool{
		"8.8.8.8:443": true, "[2606:4700::1111]:443": true,
		"127.0.0.1:443": false, "10.1.2.3:443": false, "100.64.0.1:443": false, "198.18.0.1:443": false,
		"169.254.169.254:80": false, "[::1]:443": false, "[::ffff:127.0.0.1]:443": false, "[64:ff9b::a00:1]:443": false,
	} {
		if err := (Policy{Guard: true}).CheckAddress(addr); (err == nil) != want || (err != nil && !errors.Is(err, ErrBlockedAddress)) {
			t.Errorf("CheckAddress(%s) = %v", addr, err)
		}
	}
	if err := (Policy{Guard: true, AllowLoopbackHTTP: true}).CheckAddress("127.0.0.1:443"); err != nil {
		t.Errorf("loopback allowed for tests: %v", err)
	}
	if err := (Policy{}).CheckAddress("10.1.2.3:443"); err != nil {
		t.Errorf("unguarded policy: %v", err)
	}
}

func TestGuardRefusesLoopbackAndPrivate(t *testing.T) {
	s, pool := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	c := Policy{Guard: true, RootCAs: pool}.Client()
	// A loopback IP, and a name that resolves to loopback (what DNS rebinding
	// would give): both refused when the connection is dialled.
	for _, u := range []string{s.URL, strings.Replace(s.URL, "127.0.0.1", "localhost", 1)} {
		_, err := c.Get(u)
		if !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("GET %s: %v, want ErrBlockedAddress", u, err)
		}
	}
	// The same server is reachable when loopback is allowed (tests).
	c = Policy{Guard: true, AllowLoopbackHTTP: true, RootCAs: pool}.Client()
	resp, err := c.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestGuardCoversRedirects(t *testing.T) {
	s, pool := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/meta":
			http.Redirect(w, r, "https://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/private":
			http.Redirect(w, r, "https://10.255.255.1/", http.StatusFound)
		case "/http":
			http.Redirect(w, r, "http://example.org/", http.StatusFound)
		}
	}))
	c := Policy{Guard: true, AllowLoopbackHTTP: true, RootCAs: pool}.Client()
	for path, want := range map[string]error{"/meta": ErrBlockedAddress, "/private": ErrBlockedAddress, "/http": ErrInsecureScheme} {
		_, err := c.Get(s.URL + path)
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", path, err, want)
		}
	}
}

func TestSchemePolicy(t *testing.T) {
	p := Policy{}
	if err := p.CheckURLScheme("http", "127.0.0.1:80"); !errors.Is(err, ErrInsecureScheme) {
		t.Fatal("plain http allowed without the option")
	}
	p.AllowLoopbackHTTP = true
	for _, h := range []string{"127.0.0.1:8080", "[::1]:80", "localhost"} {
		if err := p.CheckURLScheme("http", h); err != nil {
			t.Errorf("%s: %v", h, err)
		}
	}
	if err := p.CheckURLScheme("http", "example.org"); !errors.Is(err, ErrInsecureScheme) {
		t.Fatal("plain http to a public host allowed")
	}
	if err := p.CheckURLScheme("file", ""); !errors.Is(err, ErrInsecureScheme) {
		t.Fatal("file scheme allowed")
	}
}

func TestBodyLimit(t *testing.T) {
	big := strings.Repeat("x", 3000)
	s, pool := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush() // no Content-Length
		} else {
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		}
		fmt.Fprint(w, big)
	}))
	c := Policy{AllowLoopbackHTTP: true, MaxBody: 1000, RootCAs: pool}.Client()
	if _, err := c.Get(s.URL + "/"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("declared length: %v", err)
	}
	resp, err := c.Get(s.URL + "/chunked")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, ErrTooLarge) {
		t.Errorf("streamed body: %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "5": 5 * time.Second, "-1": 0, "x": 0, "999999999": 24 * time.Hour,
		"Mon, 23 Nov 2026 12:00:30 GMT": 30 * time.Second, "Mon, 23 Nov 2026 11:00:00 GMT": 0,
	} {
		if got := RetryAfter(v, now); got != want {
			t.Errorf("RetryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestHonours429(t *testing.T) {
	var n atomic.Int32
	var first atomic.Int64
	s, pool := tlsServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/once":
			if n.Add(1) == 1 {
				first.Store(time.Now().UnixNano())
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "ok %s", b)
		case "/long":
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	c := Policy{AllowLoopbackHTTP: true, RootCAs: pool}.Client()
	resp, err := c.Post(s.URL+"/once", "text/plain", strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok body" {
		t.Fatalf("retried request got %q", b)
	}
	if waited := time.Since(time.Unix(0, first.Load())); waited < time.Second {
		t.Fatalf("retried after %s, before Retry-After", waited)
	}
	start := time.Now()
	_, err = c.Get(s.URL + "/long")
	var rl *RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Hour {
		t.Fatalf("long Retry-After: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("waited for a Retry-After longer than the limit")
	}
	// A cancelled context ends the wait.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/long", nil)
	if _, err := c.Do(req); err == nil {
		t.Fatal("cancelled request succeeded")
	}
}
