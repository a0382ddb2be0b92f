package fedi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tributary-live/tributary/fedi/internal/safehttp"
	"github.com/tributary-live/tributary/fedi/livepost"
)

// The home relay (docs/RELAY.md, "Instance relays"): the relay an account's
// own server names in https://<server>/.well-known/moq. It is the only relay
// that ever sees the account's access token, and only at the grant URL that
// document names: the token is exchanged there for a short-lived relay
// grant, and the grant is what travels in MoQ sessions. A relay named in a
// post never gets a token.

// HomeRelay is the relay an account's server names.
type HomeRelay struct {
	// Server is the base URL of the account's server the document came from.
	Server string
	// Info is the server's /.well-known/moq document.
	Info *RelayInfo
}

// URL is the home relay's preferred MoQ URL (native QUIC, else WebTransport).
func (h *HomeRelay) URL() string {
	if len(h.Info.MoQT) > 0 {
		return h.Info.MoQT[0]
	}
	return h.Info.WebTransport[0]
}

// Host is the home relay's host:port.
func (h *HomeRelay) Host() string { return hostOf(h.URL()) }

// Grant is a relay grant: an AUTHORIZATION TOKEN of the home relay.
type Grant struct {
	// Token is the grant itself (sent in MoQ SETUP).
	Token string
	// Subject is who the relay says the holder is (user@domain).
	Subject string
	// Publish are the namespace prefixes it may publish under (a/b paths).
	Publish []string
	// Expires is when the relay stops accepting it.
	Expires time.Time
}

// Valid reports whether the grant is still good for at least d.
func (g *Grant) Valid(d time.Duration) bool {
	return g != nil && g.Token != "" && time.Until(g.Expires) > d
}

// HomeRelayOptions are the transport settings of DiscoverHomeRelay and
// ExchangeGrant.
type HomeRelayOptions struct {
	// AllowLoopbackHTTP permits plain http to a loopback server (tests).
	AllowLoopbackHTTP bool
	// RootCAs replaces the system roots (tests).
	RootCAs *x509.CertPool
	// UserAgent is sent with each request.
	UserAgent string
}

func (o HomeRelayOptions) policy() safehttp.Policy {
	return safehttp.Policy{AllowLoopbackHTTP: o.AllowLoopbackHTTP, RootCAs: o.RootCAs, UserAgent: o.UserAgent,
		MaxBody: livepost.MaxSmallJSON, Timeout: 10 * time.Second}
}

// maxGrantBytes bounds a grant answer.
const maxGrantBytes = 16 << 10

// ErrNoHomeRelay is wrapped when the account's server names no relay.
var ErrNoHomeRelay = errors.New("the server names no MoQ relay")

// DiscoverHomeRelay reads <server>/.well-known/moq from the account's own
// server (server is its base URL, https://social.example). Redirects are
// not followed: the document must come from the server itself.
func DiscoverHomeRelay(ctx context.Context, server string, o HomeRelayOptions) (*HomeRelay, error) {
	u, err := url.Parse(server)
	if err != nil || u.Host == "" {
		return nil, newError(KindInvalid, "find home relay", server, fmt.Errorf("bad server URL %q", server))
	}
	p := o.policy()
	if err := p.CheckURLScheme(u.Scheme, u.Host); err != nil {
		return nil, newError(KindInsecure, "find home relay", u.Host, err)
	}
	c := p.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.Scheme+"://"+u.Host+livepost.WellKnownPath, nil)
	if err != nil {
		return nil, newError(KindInvalid, "find home relay", u.Host, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, wrap("find home relay", u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, newError(KindNotFound, "find home relay", u.Host, ErrNoHomeRelay)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, newError(KindServer, "find home relay", u.Host, fmt.Errorf("%s: HTTP %d", livepost.WellKnownPath, resp.StatusCode))
	}
	body, err := safehttp.ReadAll(resp.Body, livepost.MaxSmallJSON)
	if err != nil {
		return nil, wrap("find home relay", u.Host, err)
	}
	info, err := livepost.ParseWellKnown(body)
	if err != nil {
		return nil, newError(KindServer, "find home relay", u.Host, err)
	}
	return &HomeRelay{Server: u.Scheme + "://" + u.Host, Info: info}, nil
}

// ExchangeGrant sends accountToken to the grant URL of the home relay's
// document (and nowhere else) and returns the relay's grant. The relay's
// certificate must verify, or match a hash the server's document pins.
func ExchangeGrant(ctx context.Context, home *HomeRelay, accountToken string, o HomeRelayOptions) (*Grant, error) {
	if home == nil || home.Info == nil || home.Info.Grant == "" {
		return nil, newError(KindNotFound, "sign in to relay", "", errors.New("the home relay offers no account sign-in (no grant URL)"))
	}
	gu, ok := livepost.EndpointURL(home.Info.Grant, "https")
	if !ok {
		return nil, newError(KindInsecure, "sign in to relay", "", fmt.Errorf("grant URL %q is not https", home.Info.Grant))
	}
	p := o.policy()
	tr := &http.Transport{TLSClientConfig: pinnedTLS(p.TLSConfig(), home.Info.CertHashes), ForceAttemptHTTP2: true,
		TLSHandshakeTimeout: 10 * time.Second, MaxResponseHeaderBytes: 16 << 10}
	c := &http.Client{Timeout: 15 * time.Second, Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, gu.String(), nil)
	if err != nil {
		return nil, newError(KindInvalid, "sign in to relay", gu.Host, err)
	}
	req.Header.Set("Authorization", "Bearer "+accountToken)
	req.Header.Set("Accept", "application/json")
	if o.UserAgent != "" {
		req.Header.Set("User-Agent", o.UserAgent)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, wrap("sign in to relay", gu.Host, stripURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxGrantBytes+1))
	if err != nil || len(body) > maxGrantBytes {
		return nil, newError(KindServer, "sign in to relay", gu.Host, errors.New("unreadable answer"))
	}
	var ans struct {
		Token   string   `json:"token"`
		Subject string   `json:"subject"`
		Publish []string `json:"publish"`
		Expires int64    `json:"expires"`
		Error   string   `json:"error"`
	}
	_ = json.Unmarshal(body, &ans)
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, newError(KindUnauthorized, "sign in to relay", gu.Host, fmt.Errorf("relay refused the account: %s", clipText(ans.Error)))
	case resp.StatusCode == http.StatusServiceUnavailable:
		return nil, newError(KindUnreachable, "sign in to relay", gu.Host, fmt.Errorf("relay cannot check accounts now: %s", clipText(ans.Error)))
	case resp.StatusCode != http.StatusOK:
		return nil, newError(KindServer, "sign in to relay", gu.Host, fmt.Errorf("HTTP %d: %s", resp.StatusCode, clipText(ans.Error)))
	}
	if ans.Token == "" || len(ans.Token) > 4096 || ans.Expires <= 0 {
		return nil, newError(KindServer, "sign in to relay", gu.Host, errors.New("the answer holds no grant"))
	}
	if len(ans.Publish) > 16 {
		ans.Publish = ans.Publish[:16]
	}
	return &Grant{Token: ans.Token, Subject: clipText(ans.Subject), Publish: ans.Publish, Expires: time.Unix(ans.Expires, 0)}, nil
}

// pinnedTLS verifies the peer against the roots of base, or accepts a leaf
// certificate whose SHA-256 is one of the pinned hex hashes.
func pinnedTLS(base *tls.Config, pins []string) *tls.Config {
	if len(pins) == 0 {
		return base
	}
	conf := base.Clone()
	roots := conf.RootCAs
	conf.InsecureSkipVerify = true // VerifyConnection below does the check
	conf.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("no certificate")
		}
		sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
		for _, p := range pins {
			if b, err := hex.DecodeString(p); err == nil && bytes.Equal(b, sum[:]) {
				return nil
			}
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{DNSName: cs.ServerName, Roots: roots, Intermediates: inter})
		return err
	}
	return conf
}

// stripURLError keeps a transport error's cause without the request URL.
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func clipText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// HomeRelay returns the relay the session's server names (cached 5 min).
func (s *Session) HomeRelay(ctx context.Context) (*HomeRelay, error) {
	s.mu.Lock()
	h, at := s.home, s.homeAt
	s.mu.Unlock()
	if h != nil && time.Since(at) < 5*time.Minute {
		return h, nil
	}
	h, err := DiscoverHomeRelay(ctx, s.Account().Server, s.c.homeOptions())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.home, s.homeAt = h, time.Now()
	s.mu.Unlock()
	return h, nil
}

// RelayGrant returns a grant of the session's home relay, exchanging the
// account's token for a new one when the last one has less than a minute
// left. The account token goes only to the grant URL of the server's own
// document.
func (s *Session) RelayGrant(ctx context.Context) (*Grant, *HomeRelay, error) {
	h, err := s.HomeRelay(ctx)
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	g := s.grant
	s.mu.Unlock()
	if g.Valid(time.Minute) {
		return g, h, nil
	}
	g, err = ExchangeGrant(ctx, h, s.token, s.c.homeOptions())
	if err != nil {
		return nil, h, err
	}
	s.mu.Lock()
	s.grant = g
	s.mu.Unlock()
	return g, h, nil
}

func (c *Client) homeOptions() HomeRelayOptions {
	return HomeRelayOptions{AllowLoopbackHTTP: c.cfg.AllowLoopbackHTTP, RootCAs: c.cfg.RootCAs, UserAgent: c.cfg.UserAgent}
}
