// Package relay is Tributary's MoQ relay: policy and fan-out over the moq
// package's sessions and publisher model, with no protocol code of its own
// (draft-ietf-moq-transport-18 §8 "Relays" {#relays-moq}).
//
// A Relay is a moq.Server whose Config.Tracks resolves a requested track:
// a track it already carries gets one more reader (one upstream subscription
// however many viewers); a track published on this relay (PUBLISH_NAMESPACE,
// PUBLISH, or Publish in process) is subscribed on its publisher; anything
// else is federated: the namespace's first field names the origin host, the
// relay finds upstream relays for it (configuration or the origin's
// /.well-known/moq), subscribes once and serves every local viewer from that
// subscription, failing over to the next upstream when one dies. See
// docs/RELAY.md.
package relay

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// implPrefix starts the MOQT IMPLEMENTATION setup option (draft-18
// §9.2.1.5) of Tributary relays; the relay's name follows. Peers use it to
// tell relays from viewers and to learn the name (the "Hop ID" of
// draft-lcurley-moq-cluster) of the relay at the other end of a session.
const implPrefix = "tributary-relay/"

// Relay is a running (or ready to run) MoQ relay.
type Relay struct {
	cfg  Config
	log  *slog.Logger
	name string

	srv      *moq.Server
	httpSrv  *http.Server
	tcp      net.Listener
	addr     *net.UDPAddr
	certHash []byte
	tlsConf  *tls.Config
	secret   []byte
	relayKey ed25519.PrivateKey          // signs relay proofs (Config.RelayKey)
	accounts *accountChecker             // checks account tokens at the instance (Config.Instance)
	ups      atomic.Pointer[upstreamSet] // the upstream map and pins (SetUpstreams)
	client   atomic.Pointer[http.Client] // well-known fetches (rebuilt by SetUpstreams)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	start  time.Time

	mu         sync.Mutex
	tracks     map[string]*entry // by full track name
	announces  []*announce
	peers      map[*moq.Session]*peer
	broadcasts map[string]*broadcast // by namespace path
	info       map[string]BroadcastInfo
	localNS    map[string]*localNS
	nsWatchers []*nsWatcher
	totals     totals
	refused    map[string]uint64
	admitted   int            // sessions within the connection limits
	perIP      map[string]int // admitted sessions by remote address (ipKey)
	lastSample time.Time
	egressBps  float64

	upMu      sync.Mutex
	upstreams map[string]*upstream
	dialing   map[string]*call // dials under way, by endpoint
	fetching  map[string]*call // well-known fetches under way, by origin
	wkCache   map[string]wkEntry
	out       outgoing // bounds dials and fetches (Config.MaxOutgoing)

	closeOnce sync.Once
	draining  atomic.Bool
}

// announce is a namespace a local publisher announced.
type announce struct {
	ns   wire.Namespace
	sess *moq.Session
	ctx  context.Context
}

// New checks cfg and prepares a relay; Start binds and serves.
func New(cfg Config) (*Relay, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r := &Relay{
		cfg: c, log: c.Logger,
		tracks: make(map[string]*entry), peers: make(map[*moq.Session]*peer),
		broadcasts: make(map[string]*broadcast), info: make(map[string]BroadcastInfo), localNS: make(map[string]*localNS),
		refused: make(map[string]uint64), totals: totals{perUpstream: newLabelTotals(), perRelay: newLabelTotals()},
		perIP:     make(map[string]int),
		upstreams: make(map[string]*upstream), dialing: make(map[string]*call), fetching: make(map[string]*call), wkCache: make(map[string]wkEntry),
		out: outgoing{max: c.MaxOutgoing, perOrigin: c.MaxOutgoingPerOrigin, byOrigin: make(map[string]int)},
	}
	r.secret = c.Secret
	if len(r.secret) == 0 {
		r.secret = make([]byte, 32)
		rand.Read(r.secret)
	}
	r.relayKey = c.RelayKey
	if r.relayKey == nil {
		_, r.relayKey, _ = ed25519.GenerateKey(rand.Reader)
	}
	if c.Instance != "" {
		r.accounts = newAccountChecker(c.Instance, c.InstanceClient)
	}
	r.ups.Store(newUpstreamSet(c.Upstreams, c.UpstreamCertHashes))
	if c.HTTPClient != nil {
		r.client.Store(c.HTTPClient)
	} else {
		r.client.Store(r.defaultHTTPClient())
	}
	return r, nil
}

func parseHash(s string) ([]byte, error) {
	b, err := moq.ParseCertHash(s)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	return b, nil
}

// Start binds UDP (MoQ) and TCP (HTTPS) on the same port and serves until
// Close or Shutdown. ctx bounds only the start.
func (r *Relay) Start(ctx context.Context) error {
	host, port, err := net.SplitHostPort(r.cfg.Listen)
	if err != nil {
		return fmt.Errorf("relay: listen address %q: %w", r.cfg.Listen, err)
	}
	if err := r.setupTLS(host); err != nil {
		return err
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.start = time.Now()
	// TCP first, then UDP on the same port; with port 0 a port free for
	// TCP may be taken on UDP: try a few.
	mux := r.httpHandler()
	var lastErr error
	// Everything the sessions read (the public address, the name) is set
	// before the server starts serving: sessions arrive at once.
	defaultPublic := r.cfg.PublicAddr == ""
	for attempt := 0; attempt < 8; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			return fmt.Errorf("relay: listen tcp %s: %w", r.cfg.Listen, err)
		}
		bound := net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		if defaultPublic {
			r.cfg.PublicAddr = ""
		}
		if r.cfg.PublicAddr == "" {
			r.name = r.cfg.Name
			if r.name == "" {
				r.name = bound
			}
		} else if r.name = r.cfg.Name; r.name == "" {
			r.name = r.cfg.PublicAddr
		}
		if defaultPublic {
			r.cfg.PublicAddr = bound
		}
		srv := &moq.Server{TLSConfig: r.tlsConf, Config: r.moqConfig(), HTTPHandler: mux}
		a, err := srv.Listen(bound)
		if err != nil {
			ln.Close()
			lastErr = err
			if port != "0" {
				return fmt.Errorf("relay: %w", err)
			}
			continue
		}
		r.srv, r.tcp, r.addr = srv, ln, a.(*net.UDPAddr)
		break
	}
	if r.tcp == nil {
		return fmt.Errorf("relay: no port free for both UDP and TCP: %w", lastErr)
	}
	httpTLS := r.tlsConf.Clone()
	httpTLS.NextProtos = []string{"h2", "http/1.1"}
	r.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second,
		ErrorLog: slog.NewLogLogger(r.log.Handler(), slog.LevelDebug)}
	tlsLn := tls.NewListener(r.tcp, httpTLS)
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		if err := r.httpSrv.Serve(tlsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Warn("relay: https server stopped", "err", err)
		}
	}()
	go func() {
		defer r.wg.Done()
		r.sampleLoop()
	}()
	r.log.Info("relay: serving", "name", r.name, "udp", r.addr.String(), "tcp", r.tcp.Addr().String(),
		"watch", r.cfg.Watch, "cert_sha256", hex.EncodeToString(r.certHash))
	return nil
}

func (r *Relay) setupTLS(host string) error {
	switch {
	case r.cfg.TLS != nil:
		r.tlsConf = r.cfg.TLS.Clone()
		if len(r.tlsConf.Certificates) > 0 && len(r.tlsConf.Certificates[0].Certificate) > 0 {
			r.certHash = moq.CertHash(r.tlsConf.Certificates[0].Certificate[0])
		}
	case r.cfg.DevCert:
		hosts := []string{"localhost", "127.0.0.1", "::1"}
		if host != "" && host != "0.0.0.0" && host != "::" {
			hosts = append([]string{host}, hosts...)
		}
		if h, _, err := net.SplitHostPort(r.cfg.PublicAddr); err == nil && h != "" {
			hosts = append([]string{h}, hosts...)
		}
		cert, hash, err := moq.DevCert(hosts...)
		if err != nil {
			return fmt.Errorf("relay: development certificate: %w", err)
		}
		r.tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}}
		r.certHash = hash
	default:
		return errors.New("relay: no certificate: set Config.TLS or Config.DevCert")
	}
	return nil
}

func (r *Relay) moqConfig() *moq.Config {
	lim := moq.DefaultLimits()
	lim.MaxSubscriptions = r.cfg.MaxSubscriptionsPerSession
	return &moq.Config{
		Limits:               lim,
		Implementation:       implPrefix + r.name,
		Logger:               r.log,
		Accept:               r.accept,
		Tracks:               moq.TrackSourceFunc(r.resolve),
		OnPublishNamespace:   r.onPublishNamespace,
		OnPublish:            r.onPublish,
		OnSubscribeNamespace: r.onSubscribeNamespace,
	}
}

// Addr returns the UDP address MoQ is served on (the HTTPS TCP port is the same).
func (r *Relay) Addr() *net.UDPAddr { return r.addr }

// Name returns the relay's name (its hop ID in relay paths).
func (r *Relay) Name() string { return r.name }

// URL returns the relay's native QUIC URL, moqt://host:port.
func (r *Relay) URL() string { return "moqt://" + r.cfg.PublicAddr }

// WebTransportURL returns the relay's WebTransport URL, https://host:port/.
func (r *Relay) WebTransportURL() string { return "https://" + r.cfg.PublicAddr + "/" }

// CertHash returns the SHA-256 of the relay's certificate (pin it for a
// development certificate).
func (r *Relay) CertHash() []byte { return r.certHash }

// SetUpstreams replaces the upstream map and the pinned certificate hashes
// of Config.Upstreams and Config.UpstreamCertHashes while the relay runs
// (a configuration reload, or a peer relay that started later). Tracks
// already carried keep their upstream; new requests and failovers use the
// new map.
func (r *Relay) SetUpstreams(upstreams map[string][]string, certHashes []string) error {
	for _, h := range certHashes {
		if _, err := parseHash(h); err != nil {
			return err
		}
	}
	r.ups.Store(newUpstreamSet(upstreams, certHashes))
	r.forgetDialFailures()
	if r.cfg.HTTPClient == nil {
		r.client.Store(r.defaultHTTPClient()) // it pins the new hashes
	}
	return nil
}

// MintToken signs claims with the relay's secret: a token for a user or
// peer relay of this relay.
func (r *Relay) MintToken(c Claims) (string, error) { return MintToken(r.secret, c) }

// Publish serves t on the relay without a network session: the app's
// personal relay publishes its demo and go-live broadcasts this way. The
// caller keeps writing t and closes its writer to end it; unpublish removes
// it from the relay early (viewers keep reading until the track ends).
func (r *Relay) Publish(t *moq.Track) (unpublish func()) {
	e := r.addPushed(t, kindInProcess, nil)
	return func() { r.removeEntry(e) }
}

// BroadcastInfo describes a broadcast for its /watch page.
type BroadcastInfo struct {
	// Title is the broadcast's title.
	Title string
	// Streamer is who streams it (e.g. "@alice@example.social").
	Streamer string
	// Thumbnail is an https URL of a preview image.
	Thumbnail string
}

// SetBroadcastInfo sets what the /watch page of the broadcast under ns shows.
func (r *Relay) SetBroadcastInfo(ns wire.Namespace, info BroadcastInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.info[namespacePath(ns)] = info
}

// Shutdown sends GOAWAY to every session and waits for them to leave, at
// most ctx's deadline or Config.DrainPeriod, then closes the relay.
func (r *Relay) Shutdown(ctx context.Context) error {
	if r.srv == nil {
		return nil
	}
	r.draining.Store(true)
	ctx, cancel := context.WithTimeout(ctx, r.cfg.DrainPeriod)
	defer cancel()
	r.log.Info("relay: shutting down: GOAWAY sent, draining", "sessions", len(r.srv.Sessions()), "drain", r.cfg.DrainPeriod)
	err := r.srv.Shutdown(ctx, "")
	r.Close()
	return err
}

// Close stops the relay at once: sessions, upstream subscriptions, HTTPS.
func (r *Relay) Close() error {
	r.closeOnce.Do(func() {
		if r.cancel != nil {
			r.cancel()
		}
		if r.srv != nil {
			r.srv.Close()
		}
		if r.httpSrv != nil {
			r.httpSrv.Close()
		}
		r.upMu.Lock()
		ups := make([]*upstream, 0, len(r.upstreams))
		for _, u := range r.upstreams {
			ups = append(ups, u)
		}
		r.upMu.Unlock()
		for _, u := range ups {
			u.sess.Close()
		}
		r.wg.Wait()
	})
	return nil
}

// peer is what the relay knows of one downstream session.
type peer struct {
	sess      *moq.Session
	role      string // "viewer" or "relay" (declared); set before the peer is shared
	publishes bool   // announced or published something (under Relay.mu)
	name      string // declared relay name (never trusted for policy)
	instance  string // instance domain proved by a relay proof
	grants    []*Claims
	overLimit string // why its requests get EXCESSIVE_LOAD ("": they do not)
	ipKey     string // its remote address, as connection limits count it
	counted   bool   // counted in Relay.admitted and Relay.perIP
	label     string // accounting label of a relay (accountName, bounded)
	err       error  // why its SETUP was refused
	started   time.Time
	lastOut   uint64
	outBps    float64
}

// relayName is the peer relay's verified identity: the instance domain its
// relay proof proved, or the subject of a relay token of this relay; ""
// for a peer that is no verified relay.
func (p *peer) relayName() string {
	if p.instance != "" {
		return p.instance
	}
	for _, g := range p.grants {
		if g.Relay {
			return g.Subject
		}
	}
	return ""
}

// accountName names a peer relay in accounting: its verified identity, or
// "unverified" for every relay that only declared a name (declared names
// are the peer's choice: they never become labels).
func (p *peer) accountName() string {
	if n := p.relayName(); n != "" {
		return n
	}
	return "unverified"
}

func (p *peer) user() string {
	for _, g := range p.grants {
		if !g.Relay {
			return g.Subject
		}
	}
	return ""
}

// accept vets a session's SETUP (Config.Accept).
func (r *Relay) accept(s *moq.Session) error {
	_, err := r.peerFor(s)
	if err == nil && r.draining.Load() {
		// Shutdown sent GOAWAY to the sessions it knew; a session arriving
		// during the drain gets one at once, so its requests are refused
		// with GOING_AWAY and it goes elsewhere (draft-18 §9.3).
		s.GoAway("", 0)
	}
	return err
}

// peerFor returns what the relay knows of session s, vetting its SETUP the
// first time. The moq session may serve a request before Config.Accept has
// run (its request loops start with the handshake), so every handler goes
// through here rather than trusting Accept to have been first.
func (r *Relay) peerFor(s *moq.Session) (*peer, error) {
	r.mu.Lock()
	p := r.peers[s]
	r.mu.Unlock()
	if p != nil {
		return p, p.err
	}
	p = &peer{sess: s, role: "viewer", started: time.Now(), ipKey: ipKey(s.RemoteAddr())}
	for _, tok := range s.PeerAuthTokens() {
		if isProof(tok) {
			ctx, cancel := context.WithTimeout(s.Context(), 5*time.Second)
			dom, err := r.verifyProof(ctx, tok)
			cancel()
			if errors.Is(err, errBusy) {
				// Too many fetches under way to check the proof now: the
				// session is refused as an over-limit one, not as a forger.
				p.overLimit = "relay busy: cannot check the relay proof now; try again later"
				p.role = "relay"
				continue
			}
			if err != nil {
				code := wire.ErrMalformedAuthToken
				if errors.Is(err, ErrExpiredToken) {
					code = wire.ErrExpiredAuthToken
				}
				p.err = &moq.SessionError{Code: code, Reason: err.Error()}
				break
			}
			p.instance, p.role = dom, "relay"
			continue
		}
		if !isGrant(tok) {
			continue
		}
		c, err := VerifyToken(r.secret, tok, time.Now())
		if err != nil {
			code := wire.ErrMalformedAuthToken
			if errors.Is(err, ErrExpiredToken) {
				code = wire.ErrExpiredAuthToken
			}
			p.err = &moq.SessionError{Code: code, Reason: err.Error()}
			break
		}
		p.grants = append(p.grants, c)
	}
	if impl := s.PeerImplementation(); strings.HasPrefix(impl, implPrefix) {
		p.role = "relay"
		p.name = impl[len(implPrefix):]
		if len(p.name) > maxNameBytes {
			p.name = p.name[:maxNameBytes]
		}
	}
	if p.role == "relay" {
		p.label = r.totals.perRelay.assign(p.accountName(), time.Now())
	}
	r.mu.Lock()
	if q := r.peers[s]; q != nil {
		r.mu.Unlock()
		return q, q.err
	}
	switch {
	case p.overLimit != "":
	case r.cfg.MaxConnections > 0 && r.admitted >= r.cfg.MaxConnections:
		p.overLimit = fmt.Sprintf("this relay serves its maximum of %d connections", r.cfg.MaxConnections)
	case r.cfg.MaxConnectionsPerIP > 0 && r.perIP[p.ipKey] >= r.cfg.MaxConnectionsPerIP:
		p.overLimit = fmt.Sprintf("this relay serves at most %d connections from one address", r.cfg.MaxConnectionsPerIP)
	default:
		// Sessions over a limit are not counted: they hold no place, and
		// are closed after overLimitLinger.
		p.counted = true
		r.admitted++
		r.perIP[p.ipKey]++
	}
	r.peers[s] = p
	r.mu.Unlock()
	if se, ok := p.err.(*moq.SessionError); ok {
		r.countRefused("session:" + se.Code.String())
	}
	if p.overLimit != "" && p.err == nil {
		// Its requests are refused with EXCESSIVE_LOAD and the reason;
		// the session itself goes after a moment, so that sessions over a
		// limit cannot pile up.
		reason := p.overLimit
		t := time.AfterFunc(overLimitLinger, func() { s.CloseWithError(wire.ErrNoError, reason) })
		context.AfterFunc(s.Context(), func() { t.Stop() })
	}
	r.log.Debug("relay: session", "peer", s.RemoteAddr().String(), "role", p.role, "name", p.name, "user", p.user(), "transport", s.Transport(), "err", p.err)
	context.AfterFunc(s.Context(), func() { r.sessionEnded(s) })
	return p, p.err
}

// overLimitLinger is how long a session over a connection limit stays open
// (its requests refused with EXCESSIVE_LOAD) before the relay closes it.
const overLimitLinger = 5 * time.Second

// ipKey is what the per-address connection limit counts: the IPv4
// address, or the /64 of an IPv6 address (one subscriber's usual share).
func ipKey(a net.Addr) string {
	if a == nil {
		return ""
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	ip := ap.Addr().Unmap().WithZone("")
	if ip.Is6() {
		pfx, _ := ip.Prefix(64)
		return pfx.String()
	}
	return ip.String()
}

// refuse builds a REQUEST_ERROR and counts it.
func (r *Relay) refuse(code wire.RequestErrorCode, format string, args ...any) error {
	r.countRefused(code.String())
	return &moq.RequestError{Code: code, Reason: fmt.Sprintf(format, args...)}
}

func (r *Relay) countRefused(code string) {
	r.mu.Lock()
	r.refused[code]++
	r.mu.Unlock()
}

// requestGrants verifies the grants and the relay path of a request.
func (r *Relay) requestGrants(p *peer, tokens [][]byte) (grants []*Claims, path []string, err error) {
	grants = append(grants, p.grants...)
	for _, tok := range tokens {
		if hops, ok, perr := parsePath(tok); ok {
			if perr != nil {
				return nil, nil, r.refuse(wire.RequestMalformedAuth, "%v", perr)
			}
			path = hops
			continue
		}
		if !isGrant(tok) {
			continue
		}
		c, verr := VerifyToken(r.secret, tok, time.Now())
		if verr != nil {
			if errors.Is(verr, ErrExpiredToken) {
				return nil, nil, r.refuse(wire.RequestExpiredAuth, "%v", verr)
			}
			return nil, nil, r.refuse(wire.RequestMalformedAuth, "%v", verr)
		}
		grants = append(grants, c)
	}
	return grants, path, nil
}

// mayWatch applies the watch policy and the relay allow and deny lists.
// A relay is who it proved to be (a relay proof of its instance, or a relay
// token of this relay); a name it merely declares can only get it denied.
func (r *Relay) mayWatch(p *peer, grants []*Claims) error {
	verified := p.instance
	for _, g := range grants {
		if g.Relay && verified == "" {
			verified = g.Subject
		}
	}
	if p.name != "" && hostMatch(r.cfg.DenyRelays, p.name) {
		return r.refuse(wire.RequestUnauthorized, "relay %q is blocked here", p.name)
	}
	if verified != "" {
		if hostMatch(r.cfg.DenyRelays, verified) {
			return r.refuse(wire.RequestUnauthorized, "relay %q is blocked here", verified)
		}
		if len(r.cfg.AllowRelays) > 0 && !hostMatch(r.cfg.AllowRelays, verified) {
			return r.refuse(wire.RequestUnauthorized, "relay %q is not served here", verified)
		}
	} else if p.role == "relay" && len(r.cfg.AllowRelays) > 0 {
		return r.refuse(wire.RequestUnauthorized, "relay %q did not prove its instance; this relay serves listed relays only", p.name)
	}
	if r.cfg.Watch == WatchOpen {
		return nil
	}
	if verified != "" {
		return nil
	}
	for _, g := range grants {
		if g.Watch || g.Relay {
			return nil
		}
	}
	return r.refuse(wire.RequestUnauthorized, "this relay serves its community only: a token of %s is needed", r.name)
}

// mayPublish applies the publish policy to a PUBLISH_NAMESPACE or PUBLISH
// whose callback got ctx: the session's grants and the request's own
// AUTHORIZATION TOKENs (a forged or expired one is refused with
// MALFORMED_AUTH_TOKEN or EXPIRED_AUTH_TOKEN, as in a SUBSCRIBE).
func (r *Relay) mayPublish(ctx context.Context, s *moq.Session, ns wire.Namespace) error {
	p, err := r.peerFor(s)
	if err != nil {
		return r.refuse(wire.RequestUnauthorized, "session refused: %v", err)
	}
	if p.overLimit != "" {
		return r.refuse(wire.RequestExcessiveLoad, "%s", p.overLimit)
	}
	grants, _, err := r.requestGrants(p, moq.RequestAuthTokens(ctx))
	if err != nil {
		return err
	}
	if r.cfg.OpenPublish {
		return nil
	}
	for _, g := range grants {
		if g.MayPublish(ns) {
			return nil
		}
	}
	return r.refuse(wire.RequestUnauthorized, "no token allows publishing %s here", namespacePath(ns))
}

// onPublishNamespace records a local publisher (Config.OnPublishNamespace).
func (r *Relay) onPublishNamespace(ctx context.Context, s *moq.Session, ns wire.Namespace) error {
	if err := r.mayPublish(ctx, s, ns); err != nil {
		return err
	}
	a := &announce{ns: ns, sess: s, ctx: ctx}
	p, _ := r.peerFor(s)
	r.mu.Lock()
	r.announces = append(r.announces, a)
	if p != nil {
		p.publishes = true
	}
	r.namespaceUpLocked(ns)
	r.mu.Unlock()
	r.log.Info("relay: namespace published", "namespace", namespacePath(ns), "peer", s.RemoteAddr().String())
	context.AfterFunc(ctx, func() {
		r.mu.Lock()
		for i, x := range r.announces {
			if x == a {
				r.announces = append(r.announces[:i], r.announces[i+1:]...)
				break
			}
		}
		r.namespaceDownLocked(ns)
		r.mu.Unlock()
		r.log.Info("relay: namespace withdrawn", "namespace", namespacePath(ns))
	})
	return nil
}

// onPublish takes a pushed track (Config.OnPublish).
func (r *Relay) onPublish(ctx context.Context, s *moq.Session, t *moq.Track) error {
	if err := r.mayPublish(ctx, s, t.Name().Namespace); err != nil {
		return err
	}
	if p, _ := r.peerFor(s); p != nil {
		r.mu.Lock()
		p.publishes = true
		r.mu.Unlock()
	}
	r.addPushed(t, kindPublish, s)
	r.log.Info("relay: track published", "track", t.Name().String(), "peer", s.RemoteAddr().String())
	return nil
}

// findAnnouncerLocked returns the session that announced the longest
// prefix of ns (the newest on ties), draft-18 §8 "Publisher Interactions".
func (r *Relay) findAnnouncerLocked(ns wire.Namespace) *announce {
	var best *announce
	for _, a := range r.announces {
		if a.ctx.Err() != nil || !ns.HasPrefix(a.ns) {
			continue
		}
		if best == nil || len(a.ns) >= len(best.ns) {
			best = a
		}
	}
	return best
}

// resolve answers SUBSCRIBE, FETCH and TRACK_STATUS (Config.Tracks).
func (r *Relay) resolve(ctx context.Context, s *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
	p, err := r.peerFor(s)
	if err != nil {
		return nil, r.refuse(wire.RequestUnauthorized, "session refused: %v", err)
	}
	if p.overLimit != "" {
		return nil, r.refuse(wire.RequestExcessiveLoad, "%s", p.overLimit)
	}
	grants, path, err := r.requestGrants(p, req.AuthTokens)
	if err != nil {
		return nil, err
	}
	for _, h := range path {
		if h == r.name {
			return nil, r.refuse(wire.RequestDoesNotExist, "relay loop: %s is already on the path %s", r.name, strings.Join(path, ">"))
		}
	}
	if len(path) >= MaxHops {
		return nil, r.refuse(wire.RequestDoesNotExist, "relay path longer than %d hops", MaxHops)
	}
	if err := r.mayWatch(p, grants); err != nil {
		return nil, err
	}
	ns := req.Name.Namespace
	if len(ns) == 0 {
		return nil, r.refuse(wire.RequestDoesNotExist, "empty namespace")
	}
	origin := string(ns[0])
	if hostMatch(r.cfg.DenyOrigins, origin) {
		return nil, r.refuse(wire.RequestUnauthorized, "broadcasts of %s are blocked here", origin)
	}
	if req.Kind == "subscribe" {
		if err := r.admit(p, req.Name); err != nil {
			return nil, err
		}
	}
	e, err := r.carry(req.Name, path)
	if err != nil {
		return nil, err
	}
	return e.wait(ctx)
}

// admit applies the subscription and bandwidth limits to a new subscription.
func (r *Relay) admit(p *peer, name wire.FullTrackName) error {
	r.mu.Lock()
	total := 0
	for _, e := range r.tracks {
		if e.track != nil {
			total += e.track.Readers()
		}
	}
	var trackBps float64
	if e := r.tracks[name.String()]; e != nil {
		trackBps = e.rateBps
	}
	egress, viewer := r.egressBps, p.outBps
	r.mu.Unlock()
	if r.cfg.MaxSubscriptions > 0 && total >= r.cfg.MaxSubscriptions {
		return r.refuse(wire.RequestExcessiveLoad, "relay serves its maximum of %d subscriptions", r.cfg.MaxSubscriptions)
	}
	if r.cfg.MaxTotalBitrate > 0 && egress+trackBps > float64(r.cfg.MaxTotalBitrate) {
		return r.refuse(wire.RequestExcessiveLoad, "relay egress %.0f kbit/s would exceed its limit of %d kbit/s", (egress+trackBps)/1000, r.cfg.MaxTotalBitrate/1000)
	}
	if r.cfg.MaxViewerBitrate > 0 && viewer+trackBps > float64(r.cfg.MaxViewerBitrate) {
		return r.refuse(wire.RequestExcessiveLoad, "this session's %.0f kbit/s would exceed the per-viewer limit of %d kbit/s", (viewer+trackBps)/1000, r.cfg.MaxViewerBitrate/1000)
	}
	return nil
}
