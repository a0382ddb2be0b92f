package relay

import (
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Watch policies: who may subscribe through the relay.
const (
	// WatchOpen serves anyone (minus denied relays and origins).
	WatchOpen = "open"
	// WatchCommunity serves only holders of a token of this relay with the
	// watch right, and peer relays holding a relay token.
	WatchCommunity = "community"
)

// Config configures a Relay. The zero value of every field has a working
// default; Listen and a certificate (TLS, Certificate or DevCert) are needed.
type Config struct {
	// Listen is host:port; MoQ is served on UDP and HTTPS on TCP of that
	// port (port 0 picks a free port for both).
	Listen string
	// PublicAddr is host:port as clients reach it (the URLs of
	// /.well-known/moq and /watch pages); default: the bound address.
	PublicAddr string
	// Name identifies this relay to peers and in loop detection (a host name
	// is a good choice); default: PublicAddr.
	Name string

	// TLS holds the server certificate. If nil, Certificate is used, or a
	// development certificate when DevCert is set.
	TLS *tls.Config
	// DevCert makes a self-signed certificate for the listen host; its hash
	// is published in /.well-known/moq and returned by CertHash.
	DevCert bool

	// Secret signs and verifies tokens (at least 16 bytes). Empty: a random
	// secret for this run (tokens minted by MintToken work until restart).
	Secret []byte
	// Watch is WatchOpen or WatchCommunity (default WatchOpen).
	Watch string
	// OpenPublish lets anyone publish any namespace (development and interop
	// runs only); by default publishing needs a token whose Publish claims
	// cover the namespace.
	OpenPublish bool
	// AllowRelays, if not empty, are the only peer relays (by name) served;
	// DenyRelays are never served. Names are what peers declare: see
	// docs/RELAY.md for what a relay token adds.
	AllowRelays, DenyRelays []string
	// AllowOrigins, if not empty, are the only origin hosts this relay
	// pulls broadcasts of; DenyOrigins are never pulled or served.
	AllowOrigins, DenyOrigins []string
	// LocalOrigins are the origin host names whose broadcasts are published
	// on this relay itself: never pulled from elsewhere (default: the host
	// of PublicAddr and Name).
	LocalOrigins []string

	// Upstreams maps an origin host (a namespace's first field) to the
	// relays to pull its broadcasts from, in order of preference
	// (moqt:// or https:// URLs). "*" applies to every origin not listed.
	Upstreams map[string][]string
	// UpstreamCertHashes pins certificates of upstream relays (hex SHA-256),
	// for relays running with development certificates.
	UpstreamCertHashes []string
	// UpstreamTLS is the client TLS base configuration for upstreams
	// (e.g. RootCAs); nil uses the system roots.
	UpstreamTLS *tls.Config
	// UpstreamToken is sent in SETUP to upstream relays (a relay token
	// those relays issued to this one).
	UpstreamToken string
	// WellKnown enables resolving an origin's upstreams from
	// https://<origin>/.well-known/moq when it is not in Upstreams
	// (default true; set DisableWellKnown to turn it off).
	DisableWellKnown bool
	// HTTPClient fetches /.well-known/moq documents; nil uses a client with
	// a 5 s timeout that refuses private and loopback addresses.
	HTTPClient *http.Client
	// AllowPrivateUpstreams allows resolving and dialing origins on
	// loopback and private addresses (tests, LANs).
	AllowPrivateUpstreams bool
	// AdvertiseRelays are other relays carrying this relay's broadcasts,
	// listed as "relays" in /.well-known/moq for failover.
	AdvertiseRelays []string

	// Instance ties the relay to one Mastodon-API server, given by its base
	// URL ("https://social.example"): the server's members exchange their
	// account's access token for a grant at /auth/grant, checked against
	// the server's verify_credentials (docs/RELAY.md, "Instance relays").
	Instance string
	// InstanceDomain is the instance's domain as it appears in handles and
	// namespaces (members publish under <domain>/<username>); default: the
	// host of Instance. It is also the identity this relay proves to
	// upstream relays with RelayKey.
	InstanceDomain string
	// InstanceClient checks account tokens at Instance; nil uses a client
	// with a 5 s timeout that verifies TLS against the system roots.
	InstanceClient *http.Client
	// GrantTTL is how long a grant minted at /auth/grant lasts (default
	// 15 min; clients exchange their account token again when it runs out).
	GrantTTL time.Duration
	// RelayKey signs this relay's proofs of its instance to upstream
	// relays; its public half is published as relay_key in
	// /.well-known/moq, which the instance serves on its own domain.
	// Nil: a new key for this run.
	RelayKey ed25519.PrivateKey

	// GracePeriod is how long an upstream subscription outlives its last
	// local reader (default 30 s).
	GracePeriod time.Duration
	// UpstreamIdleTimeout bounds how long a silent upstream connection is
	// trusted: QUIC idle timeout of upstream connections (default 1.5 s,
	// with keep-alives every third of it), so a dead upstream is noticed
	// within the 2 s failover budget.
	UpstreamIdleTimeout time.Duration
	// FailoverGiveUp is how long the relay keeps trying upstreams after
	// the one in use died before it ends the local track (default 10 s).
	FailoverGiveUp time.Duration

	// MaxConnections bounds concurrent sessions (default
	// DefaultMaxConnections; negative: unlimited). A session over it, or
	// over MaxConnectionsPerIP, gets EXCESSIVE_LOAD on every request and is
	// closed after a few seconds; it takes no place.
	MaxConnections int
	// MaxConnectionsPerIP bounds concurrent sessions from one IPv4 address
	// or IPv6 /64 (default DefaultMaxConnectionsPerIP; negative: unlimited).
	MaxConnectionsPerIP int
	// MaxOutgoing bounds the relay's outgoing work at once: fetches of
	// /.well-known/moq (origins' and relay proofs') and upstream dials
	// (default DefaultMaxOutgoing; negative: unlimited). A request that
	// needs more is refused at once with EXCESSIVE_LOAD.
	MaxOutgoing int
	// MaxOutgoingPerOrigin bounds that work for one origin host (default
	// DefaultMaxOutgoingPerOrigin; negative: unlimited).
	MaxOutgoingPerOrigin int
	// MaxSubscriptions bounds concurrent downstream subscriptions in total
	// (0: unlimited).
	MaxSubscriptions int
	// MaxSubscriptionsPerSession bounds one session's subscriptions
	// (default 128).
	MaxSubscriptionsPerSession int
	// MaxViewerBitrate bounds one session's egress in bit/s: a subscription
	// that would exceed it is refused (0: unlimited).
	MaxViewerBitrate int64
	// MaxTotalBitrate bounds total egress in bit/s (0: unlimited).
	MaxTotalBitrate int64
	// CacheGroups is how many groups each carried track caches (default 4:
	// publishers send groups on parallel streams, and a group still arriving
	// must not be evicted by the two after it).
	CacheGroups int
	// DrainPeriod bounds Shutdown's wait for sessions after GOAWAY
	// (default 10 s).
	DrainPeriod time.Duration

	// AdminToken, if set, lets a request to /status.json or /metrics that
	// sends it as "Authorization: Bearer <token>" see the figures of each
	// viewer, downstream relay and upstream; others see aggregates only
	// (requests from loopback see everything).
	AdminToken string

	// Logger receives structured logs; nil uses slog.Default.
	Logger *slog.Logger
}

// Defaults of the connection and outgoing-work limits (Config).
const (
	DefaultMaxConnections       = 10000
	DefaultMaxConnectionsPerIP  = 64
	DefaultMaxOutgoing          = 64
	DefaultMaxOutgoingPerOrigin = 4
)

func (c *Config) withDefaults() (Config, error) {
	out := *c
	if out.Listen == "" {
		return out, errors.New("relay: Config.Listen is empty")
	}
	if out.Watch == "" {
		out.Watch = WatchOpen
	}
	if out.Watch != WatchOpen && out.Watch != WatchCommunity {
		return out, fmt.Errorf("relay: unknown watch policy %q (want %q or %q)", out.Watch, WatchOpen, WatchCommunity)
	}
	if len(out.Secret) > 0 && len(out.Secret) < 16 {
		return out, errors.New("relay: Config.Secret must be at least 16 bytes")
	}
	if out.GracePeriod <= 0 {
		out.GracePeriod = 30 * time.Second
	}
	if out.UpstreamIdleTimeout <= 0 {
		out.UpstreamIdleTimeout = 1500 * time.Millisecond
	}
	if out.FailoverGiveUp <= 0 {
		out.FailoverGiveUp = 10 * time.Second
	}
	for _, d := range []struct {
		v   *int
		def int
	}{
		{&out.MaxConnections, DefaultMaxConnections}, {&out.MaxConnectionsPerIP, DefaultMaxConnectionsPerIP},
		{&out.MaxOutgoing, DefaultMaxOutgoing}, {&out.MaxOutgoingPerOrigin, DefaultMaxOutgoingPerOrigin},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if out.MaxSubscriptionsPerSession <= 0 {
		out.MaxSubscriptionsPerSession = 128
	}
	if out.CacheGroups <= 0 {
		out.CacheGroups = 4
	}
	if out.DrainPeriod <= 0 {
		out.DrainPeriod = 10 * time.Second
	}
	if out.GrantTTL <= 0 {
		out.GrantTTL = 15 * time.Minute
	}
	if out.Instance != "" {
		u, err := url.Parse(out.Instance)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil {
			return out, fmt.Errorf("relay: instance %q is not an https:// URL", out.Instance)
		}
		if u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
			return out, fmt.Errorf("relay: instance %q: plain http only to a loopback host (tests)", out.Instance)
		}
		out.Instance = u.Scheme + "://" + u.Host
		if out.InstanceDomain == "" {
			out.InstanceDomain = u.Host
		}
	}
	out.InstanceDomain = strings.ToLower(out.InstanceDomain)
	if out.InstanceDomain != "" && !looksLikeHost(out.InstanceDomain) {
		return out, fmt.Errorf("relay: instance domain %q is not a host name", out.InstanceDomain)
	}
	if out.RelayKey != nil && len(out.RelayKey) != ed25519.PrivateKeySize {
		return out, errors.New("relay: Config.RelayKey is not an Ed25519 private key")
	}
	if out.Logger == nil {
		out.Logger = slog.Default()
	}
	for _, h := range out.UpstreamCertHashes {
		if _, err := parseHash(h); err != nil {
			return out, err
		}
	}
	return out, nil
}

// hostMatch reports whether host is in list (case-insensitive; an entry
// without a port matches any port; "*.example" matches subdomains).
func hostMatch(list []string, host string) bool {
	host = strings.ToLower(host)
	bare := host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		bare = host[:i]
	}
	for _, e := range list {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == host || e == bare:
			return true
		case strings.HasPrefix(e, "*.") && (strings.HasSuffix(bare, e[1:]) || bare == e[2:]):
			return true
		}
	}
	return false
}

// isLoopbackHost reports whether host is "localhost" or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
