// Package safehttp builds the HTTP clients the fedi package uses: HTTPS
// only (plain http only to loopback when a test allows it), an optional
// guard against fetching private and internal addresses that is checked
// when a connection is dialled (so it also covers redirects and DNS
// rebinding), response size limits, timeouts, and 429 Retry-After handling.
package safehttp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tributary-live/tributary/moq/netguard"
)

// Policy says what a client may connect to.
type Policy struct {
	// AllowLoopbackHTTP permits plain http (and ws) to loopback hosts and,
	// for a guarded client, dialling loopback addresses. Tests only.
	AllowLoopbackHTTP bool
	// Guard refuses connections to private, loopback, link-local and other
	// non-public addresses. Used for URLs named by post content.
	Guard bool
	// MaxBody is the largest response body read; more is an error.
	MaxBody int64
	// Timeout bounds a whole request, body included (0: 30 s).
	Timeout time.Duration
	// MaxRetryWait is the longest Retry-After that is waited for before
	// retrying a 429 answer; longer ones return a *RateLimitError (0: 10 s).
	MaxRetryWait time.Duration
	// UserAgent is sent with every request.
	UserAgent string
	// RootCAs, when set, replaces the system roots (tests add their CA);
	// certificate verification is never turned off.
	RootCAs *x509.CertPool
}

// TLSConfig is the TLS configuration of the policy's clients.
func (p Policy) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: p.RootCAs, MinVersion: tls.VersionTLS12}
}

// ErrBlockedAddress is returned (wrapped) when a guarded client would
// connect to a non-public address; it is netguard.ErrBlocked.
var ErrBlockedAddress = netguard.ErrBlocked

// ErrInsecureScheme is returned for a URL that is not https (or allowed
// plain http to loopback).
var ErrInsecureScheme = errors.New("only https URLs are allowed")

// ErrTooLarge is returned when a response body is larger than the limit.
var ErrTooLarge = errors.New("response is too large")

// RateLimitError is returned when a server answered 429 and asked to wait
// longer than the client is willing to, or kept answering 429.
type RateLimitError struct {
	// RetryAfter is how long the server asked to wait (0 if it did not say).
	RetryAfter time.Duration
	// Host is the server that limited the request.
	Host string
}

// Error implements error.
func (e *RateLimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%s is rate limiting requests: retry after %s", e.Host, e.RetryAfter.Round(time.Second))
	}
	return fmt.Sprintf("%s is rate limiting requests", e.Host)
}

// Dialer returns a net.Dialer whose Control refuses blocked addresses
// under the policy.
func (p Policy) Dialer() *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if p.Guard {
		d.Control = p.guard().Control
	}
	return d
}

// CheckAddress checks a dialled "ip:port" against the guard (moq/netguard).
func (p Policy) CheckAddress(address string) error {
	if !p.Guard {
		return nil
	}
	return p.guard().CheckAddress(address)
}

// guard is the address guard of a guarded client: public addresses, and
// loopback when plain http to loopback is allowed (tests).
func (p Policy) guard() netguard.Guard {
	return netguard.Guard{AllowLoopback: p.AllowLoopbackHTTP}
}

// IsLoopbackHost reports whether a URL host names the loopback interface.
func IsLoopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Unmap().IsLoopback()
}

// CheckURLScheme enforces https (wss), or http (ws) to loopback when allowed.
func (p Policy) CheckURLScheme(scheme, host string) error {
	switch strings.ToLower(scheme) {
	case "https", "wss":
		return nil
	case "http", "ws":
		if p.AllowLoopbackHTTP && IsLoopbackHost(host) {
			return nil
		}
	}
	return fmt.Errorf("%s://%s: %w", scheme, host, ErrInsecureScheme)
}

// Client returns an http.Client under the policy.
func (p Policy) Client() *http.Client {
	if p.Timeout == 0 {
		p.Timeout = 30 * time.Second
	}
	if p.MaxRetryWait == 0 {
		p.MaxRetryWait = 10 * time.Second
	}
	if p.MaxBody == 0 {
		p.MaxBody = 4 << 20
	}
	tr := &http.Transport{
		DialContext:            p.Dialer().DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           16,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  20 * time.Second,
		ExpectContinueTimeout:  time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	if !p.Guard {
		// A guarded client must not go through a proxy: the guard would
		// check the proxy's address instead of the target's.
		tr.Proxy = http.ProxyFromEnvironment
	}
	tr.TLSClientConfig = p.TLSConfig()
	return &http.Client{
		Timeout:   p.Timeout,
		Transport: &transport{base: tr, p: p},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("stopped after 5 redirects")
			}
			return p.CheckURLScheme(req.URL.Scheme, req.URL.Host)
		},
	}
}

// transport enforces the scheme rule, limits bodies and handles 429.
type transport struct {
	base http.RoundTripper
	p    Policy
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.p.CheckURLScheme(req.URL.Scheme, req.URL.Host); err != nil {
		return nil, err
	}
	if t.p.UserAgent != "" && req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.p.UserAgent)
	}
	for attempt := 0; ; attempt++ {
		resp, err := t.base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			resp.Body = &limitedBody{rc: resp.Body, left: t.p.MaxBody}
			if resp.ContentLength > t.p.MaxBody {
				resp.Body.Close()
				return nil, fmt.Errorf("%s: %d bytes: %w", req.URL.Host, resp.ContentLength, ErrTooLarge)
			}
			return resp, nil
		}
		wait := RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		rl := &RateLimitError{RetryAfter: wait, Host: req.URL.Host}
		if wait > t.p.MaxRetryWait || attempt >= 2 {
			return nil, rl
		}
		if wait <= 0 {
			wait = time.Second << attempt
		}
		if req.Body != nil && req.Body != http.NoBody {
			if req.GetBody == nil {
				return nil, rl
			}
			body, err := req.GetBody()
			if err != nil {
				return nil, rl
			}
			req = req.Clone(req.Context())
			req.Body = body
		}
		if err := sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RetryAfter parses a Retry-After value (delay seconds or an HTTP date,
// RFC 9110 section 10.2.3) relative to now; 0 when absent or invalid.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0
		}
		if n > 86400 {
			n = 86400
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			return 0
		}
		if d > 24*time.Hour {
			d = 24 * time.Hour
		}
		return d.Round(time.Second)
	}
	return 0
}

// limitedBody fails a read once more than left bytes were read.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

// Read implements io.Reader.
func (l *limitedBody) Read(b []byte) (int, error) {
	if l.left < 0 {
		return 0, ErrTooLarge
	}
	if int64(len(b)) > l.left+1 {
		b = b[:l.left+1]
	}
	n, err := l.rc.Read(b)
	l.left -= int64(n)
	if l.left < 0 {
		return n, ErrTooLarge
	}
	return n, err
}

// Close implements io.Closer.
func (l *limitedBody) Close() error { return l.rc.Close() }

// ReadAll reads a whole body up to max bytes.
func ReadAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, ErrTooLarge
	}
	return b, nil
}
