package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/netguard"
	"github.com/tributary-live/tributary/moq/wellknown"
	"github.com/tributary-live/tributary/moq/wire"
)

// WellKnown is the /.well-known/moq document a relay serves and reads
// (docs/FEDIVERSE.md, docs/RELAY.md): moq/wellknown's one type.
type WellKnown = wellknown.Doc

// Limits on a fetched /.well-known/moq document.
const (
	maxWellKnownBytes   = wellknown.MaxBytes
	maxWellKnownEntries = wellknown.MaxEntries
	upstreamDialTimeout = 1500 * time.Millisecond
)

// endpoint is one upstream relay: its native QUIC URL and WebTransport
// fallback, and the certificate hashes to pin. fromWellKnown marks an
// endpoint an origin's /.well-known/moq named (a stranger's choice), which
// is dialled through the address guard; configured upstreams are trusted.
type endpoint struct {
	moqt, https   string
	hashes        [][]byte
	fromWellKnown bool
}

// host is the endpoint's host:port (the audience of a relay proof).
func (ep endpoint) host() string {
	raw := ep.moqt
	if raw == "" {
		raw = ep.https
	}
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}

func (ep endpoint) String() string {
	if ep.moqt != "" {
		return ep.moqt
	}
	return ep.https
}

// looksLikeHost reports whether a namespace's first field can name an
// origin host: a DNS name with a dot, or host:port.
func looksLikeHost(s string) bool {
	if s == "" || len(s) > 253 || strings.ContainsAny(s, "/@?#\\ ") {
		return false
	}
	h := s
	if host, _, err := net.SplitHostPort(s); err == nil {
		return host != ""
	}
	return strings.Contains(h, ".")
}

// isLocalOrigin reports whether broadcasts of origin are published here.
func (r *Relay) isLocalOrigin(origin string) bool {
	if hostMatch(r.cfg.LocalOrigins, origin) {
		return true
	}
	if len(r.cfg.LocalOrigins) > 0 {
		return false
	}
	self := []string{r.name, r.cfg.InstanceDomain}
	if h, _, err := net.SplitHostPort(r.cfg.PublicAddr); err == nil {
		self = append(self, r.cfg.PublicAddr)
		if strings.Contains(h, ".") && net.ParseIP(h) == nil {
			self = append(self, h)
		}
	}
	return hostMatch(self, origin) && origin != ""
}

// federates reports whether the relay knows how to find origin's upstreams.
func (r *Relay) federates(origin string) bool {
	if _, ok := r.upstreamList(origin); ok {
		return true
	}
	return !r.cfg.DisableWellKnown && looksLikeHost(origin)
}

// upstreamSet is the upstream map and the pinned hashes, replaced whole by
// SetUpstreams.
type upstreamSet struct {
	m      map[string][]string
	hashes [][]byte
}

func newUpstreamSet(m map[string][]string, certHashes []string) *upstreamSet {
	u := &upstreamSet{m: make(map[string][]string, len(m))}
	for k, v := range m {
		u.m[k] = append([]string(nil), v...)
	}
	for _, h := range certHashes {
		if b, err := parseHash(h); err == nil {
			u.hashes = append(u.hashes, b)
		}
	}
	return u
}

// hashes are the pinned upstream certificate hashes in force.
func (r *Relay) hashes() [][]byte { return r.ups.Load().hashes }

func (r *Relay) upstreamList(origin string) ([]string, bool) {
	ups := r.ups.Load().m
	for k, v := range ups {
		if k != "*" && hostMatch([]string{k}, origin) {
			return v, true
		}
	}
	v, ok := ups["*"]
	return v, ok && len(v) > 0
}

// candidates lists the upstream relays for origin, best first.
func (r *Relay) candidates(ctx context.Context, origin string) ([]endpoint, error) {
	if list, ok := r.upstreamList(origin); ok {
		var out []endpoint
		for _, u := range list {
			ep, err := endpointOf(u, r.hashes())
			if err != nil {
				return nil, err
			}
			out = append(out, ep)
		}
		return out, nil
	}
	if r.cfg.DisableWellKnown || !looksLikeHost(origin) {
		return nil, fmt.Errorf("no upstream known for %q", origin)
	}
	wk, err := r.wellKnownOf(ctx, origin)
	if err != nil {
		return nil, err
	}
	return r.wellKnownEndpoints(wk)
}

// wellKnownOf returns origin's /.well-known/moq document. Answers (and
// failures) are cached a while, so viewers asking for made-up origins cannot
// make the relay fetch on every request; one fetch per origin runs at a
// time, the other requests for it wait for its answer; and no fetch starts
// beyond the outgoing bounds (errBusy).
func (r *Relay) wellKnownOf(ctx context.Context, origin string) (*WellKnown, error) {
	key := strings.ToLower(origin)
	r.upMu.Lock()
	if c, ok := r.wkCache[key]; ok && time.Now().Before(c.expires) {
		r.upMu.Unlock()
		return c.wk, c.err
	}
	if c := r.fetching[key]; c != nil {
		r.upMu.Unlock()
		select {
		case <-c.done:
			return c.wk, c.err
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	release, err := r.out.acquire(key)
	if err != nil {
		r.upMu.Unlock()
		return nil, err
	}
	c := &call{done: make(chan struct{})}
	r.fetching[key] = c
	r.upMu.Unlock()

	c.wk, c.err = r.fetchWellKnown(ctx, origin)
	release()
	ttl := wellKnownTTL
	if c.err != nil {
		ttl = wellKnownFailTTL
	}
	r.upMu.Lock()
	delete(r.fetching, key)
	if ctx.Err() == nil { // a fetch cut short by its requester says nothing of the origin
		r.pruneWellKnownLocked()
		r.wkCache[key] = wkEntry{wk: c.wk, err: c.err, expires: time.Now().Add(ttl)}
	}
	r.upMu.Unlock()
	close(c.done)
	return c.wk, c.err
}

// call is a fetch or dial under way, which requests for the same origin or
// endpoint wait for rather than starting their own.
type call struct {
	done chan struct{} // closed when err (and wk) are set
	wk   *WellKnown
	err  error
}

// errBusy refuses outgoing work beyond Config.MaxOutgoing or
// MaxOutgoingPerOrigin; requesters get EXCESSIVE_LOAD.
var errBusy = errors.New("relay: too much outgoing work under way")

// errUnreachable: no upstream of an origin could be dialled.
var errUnreachable = errors.New("relay: no upstream answered")

// outgoing bounds the relay's outgoing work (well-known fetches, upstream
// dials): at most max at once, perOrigin of them for one origin (<= 0: no
// bound). Work beyond the bounds is refused at once, never queued, so
// strangers asking for made-up origins cannot pile up connections and DNS
// lookups.
type outgoing struct {
	mu             sync.Mutex
	max, perOrigin int
	total          int
	byOrigin       map[string]int
}

// acquire takes a place for work on origin; release gives it back.
func (o *outgoing) acquire(origin string) (release func(), err error) {
	origin = strings.ToLower(origin)
	o.mu.Lock()
	defer o.mu.Unlock()
	if (o.max > 0 && o.total >= o.max) || (o.perOrigin > 0 && o.byOrigin[origin] >= o.perOrigin) {
		return nil, errBusy
	}
	o.total++
	o.byOrigin[origin]++
	return sync.OnceFunc(func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.total--
		if o.byOrigin[origin]--; o.byOrigin[origin] <= 0 {
			delete(o.byOrigin, origin)
		}
	}), nil
}

// dialFailKey keys an origin's dial failure in the well-known cache ("/"
// cannot appear in an origin).
func dialFailKey(origin string) string { return "dial/" + strings.ToLower(origin) }

// dialFailed returns the cached failure to dial any upstream of origin.
func (r *Relay) dialFailed(origin string) error {
	r.upMu.Lock()
	defer r.upMu.Unlock()
	if c, ok := r.wkCache[dialFailKey(origin)]; ok && time.Now().Before(c.expires) {
		return c.err
	}
	return nil
}

// noteDialFailure caches that no upstream of origin could be dialled: new
// requests for the origin are refused at once for wellKnownFailTTL.
func (r *Relay) noteDialFailure(origin string, err error) {
	r.upMu.Lock()
	defer r.upMu.Unlock()
	r.pruneWellKnownLocked()
	r.wkCache[dialFailKey(origin)] = wkEntry{err: err, expires: time.Now().Add(wellKnownFailTTL)}
}

// forgetDialFailures drops the cached dial failures (the upstreams changed).
func (r *Relay) forgetDialFailures() {
	r.upMu.Lock()
	defer r.upMu.Unlock()
	for k := range r.wkCache {
		if strings.HasPrefix(k, "dial/") {
			delete(r.wkCache, k)
		}
	}
}

// The /.well-known/moq cache.
const (
	wellKnownTTL      = 60 * time.Second
	wellKnownFailTTL  = 10 * time.Second
	maxWellKnownCache = 1024
)

type wkEntry struct {
	wk      *WellKnown
	err     error
	expires time.Time
}

// pruneWellKnownLocked makes room in the well-known cache (r.upMu held).
func (r *Relay) pruneWellKnownLocked() {
	if len(r.wkCache) < maxWellKnownCache {
		return
	}
	now := time.Now()
	for k, v := range r.wkCache {
		if now.After(v.expires) || len(r.wkCache) >= maxWellKnownCache {
			delete(r.wkCache, k)
		}
	}
}

// endpointOf turns a configured URL into an endpoint: moqt:// gets an
// https:// fallback on the same host and port, and the reverse.
func endpointOf(raw string, hashes [][]byte) (endpoint, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return endpoint{}, fmt.Errorf("upstream %q is not a moqt:// or https:// URL", raw)
	}
	ep := endpoint{hashes: hashes}
	switch u.Scheme {
	case "moqt", "moq":
		ep.moqt = u.String()
		w := *u
		w.Scheme = "https"
		if w.Path == "" {
			w.Path = "/"
		}
		ep.https = w.String()
	case "https":
		ep.https = u.String()
	default:
		return endpoint{}, fmt.Errorf("upstream %q is not a moqt:// or https:// URL", raw)
	}
	return ep, nil
}

func (r *Relay) wellKnownEndpoints(wk *WellKnown) ([]endpoint, error) {
	hashes := append([][]byte(nil), r.hashes()...)
	for _, h := range wk.CertHashes {
		if b, err := moq.ParseCertHash(h); err == nil {
			hashes = append(hashes, b)
		}
	}
	var out []endpoint
	seen := map[string]bool{}
	wtByHost := map[string]string{}
	for _, w := range wk.WebTransport {
		if u, err := url.Parse(w); err == nil && u.Scheme == "https" && u.Host != "" {
			if _, ok := wtByHost[u.Host]; !ok {
				wtByHost[u.Host] = u.String()
			}
		}
	}
	add := func(ep endpoint) {
		if k := ep.String(); !seen[k] && len(out) < maxWellKnownEntries {
			seen[k] = true
			out = append(out, ep)
		}
	}
	for _, m := range wk.MoQT {
		u, err := url.Parse(m)
		if err != nil || (u.Scheme != "moqt" && u.Scheme != "moq") || u.Host == "" {
			continue
		}
		ep := endpoint{moqt: u.String(), https: wtByHost[u.Host], hashes: hashes}
		delete(wtByHost, u.Host)
		add(ep)
	}
	for _, w := range wk.WebTransport {
		if u, err := url.Parse(w); err == nil && wtByHost[u.Host] != "" {
			add(endpoint{https: wtByHost[u.Host], hashes: hashes})
			delete(wtByHost, u.Host)
		}
	}
	for _, rl := range wk.Relays {
		if ep, err := endpointOf(rl, r.hashes()); err == nil {
			add(ep)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("/.well-known/moq names no usable endpoint")
	}
	for i := range out {
		out[i].fromWellKnown = true
	}
	return out, nil
}

// originError is the error a requester sees when origin's well-known
// document cannot be fetched: it says nothing of the network error behind
// it (refused, timed out, TLS, HTTP status...), so the relay cannot serve
// strangers as a port scanner; the detail is logged at debug level. A
// refusal of the origin's address by the guard is named when the origin is
// an IP address (which the requester knows), not for a name, whose
// resolving to an internal address would be disclosed.
func originError(origin string, err error) error {
	host := origin
	if h, _, serr := net.SplitHostPort(origin); serr == nil {
		host = h
	}
	if _, perr := netip.ParseAddr(strings.Trim(host, "[]")); perr == nil && errors.Is(err, netguard.ErrBlocked) {
		return fmt.Errorf("origin %s is an internal address", origin)
	}
	return fmt.Errorf("origin %s unreachable", origin)
}

// fetchWellKnown reads https://<origin>/.well-known/moq. Its error is
// originError's: the detail is logged at debug level only.
func (r *Relay) fetchWellKnown(ctx context.Context, origin string) (*WellKnown, error) {
	wk, err := r.readWellKnown(ctx, origin)
	if err != nil {
		r.log.Debug("relay: well-known fetch failed", "origin", origin, "err", err)
		return nil, originError(origin, err)
	}
	return wk, nil
}

func (r *Relay) readWellKnown(ctx context.Context, origin string) (*WellKnown, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+origin+wellknown.Path, nil)
	if err != nil {
		return nil, fmt.Errorf("well-known of %q: %w", origin, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Load().Do(req)
	if err != nil {
		return nil, fmt.Errorf("well-known of %s: %w", origin, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("well-known of %s: HTTP %d", origin, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxWellKnownBytes+1))
	if err != nil {
		return nil, fmt.Errorf("well-known of %s: %w", origin, err)
	}
	if len(body) > maxWellKnownBytes {
		return nil, fmt.Errorf("well-known of %s: larger than %d bytes", origin, maxWellKnownBytes)
	}
	wk, err := wellknown.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("well-known of %s: %w", origin, err)
	}
	return wk, nil
}

// defaultHTTPClient fetches well-known documents: 5 s timeout, no
// redirects, no proxy, and (unless AllowPrivateUpstreams) only public
// addresses (moq/netguard, checked on each connected address), so a viewer
// cannot make the relay probe its own network. Pinned upstream certificate
// hashes are accepted as well as certificates that verify against the
// system roots.
func (r *Relay) defaultHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if !r.cfg.AllowPrivateUpstreams {
		dialer.Control = netguard.Guard{}.Control
	}
	tlsConf := &tls.Config{}
	if r.cfg.UpstreamTLS != nil {
		tlsConf = r.cfg.UpstreamTLS.Clone()
	}
	if pins := r.hashes(); len(pins) > 0 {
		roots := tlsConf.RootCAs
		tlsConf.InsecureSkipVerify = true
		tlsConf.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("relay: no certificate")
			}
			got := moq.CertHash(cs.PeerCertificates[0].Raw)
			for _, p := range pins {
				if bytes.Equal(p, got) {
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
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DialContext: dialer.DialContext, TLSClientConfig: tlsConf, ForceAttemptHTTP2: true,
			MaxResponseHeaderBytes: 16 << 10, TLSHandshakeTimeout: 5 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// upstream is one session to an upstream relay, shared by every track
// pulled from it.
type upstream struct {
	url     string
	sess    *moq.Session
	hop     string // the upstream relay's name, from its SETUP
	refs    int
	guarded bool   // dialled through the address guard
	label   string // accounting label (the URL, bounded)
}

// guarded reports whether dials to ep go through the address guard: the
// endpoints a well-known document named, unless AllowPrivateUpstreams.
// Every address of the endpoint's host is checked and a checked one is
// dialled, so DNS cannot rebind between the check and the dial.
func (r *Relay) guarded(ep endpoint) bool {
	return ep.fromWellKnown && !r.cfg.AllowPrivateUpstreams
}

// subscribeUpstream subscribes to e's track on the candidates, starting at
// index from and trying each once; it returns the subscription, the
// upstream it runs on and that upstream's index.
//
// Its error is an upstream's REQUEST_ERROR when the last one tried answered
// so, errBusy when the outgoing bounds kept it from dialling one, and
// errUnreachable when no upstream could be dialled.
func (r *Relay) subscribeUpstream(ctx context.Context, e *entry, cands []endpoint, from int) (*moq.Subscription, *upstream, int, error) {
	var lastErr error
	busy := false
	origin := string(e.name.Namespace[0])
	for i := range cands {
		idx := (from + i) % len(cands)
		up, err := r.dial(ctx, cands[idx], origin)
		if err != nil {
			busy = busy || errors.Is(err, errBusy)
			lastErr = err
			r.log.Debug("relay: upstream unreachable", "upstream", cands[idx].String(), "err", err)
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		sub, err := up.sess.Subscribe(sctx, e.name, &moq.SubscribeOptions{
			JoinGroup: true,
			AuthToken: pathToken(e.path),
			Track:     &moq.TrackConfig{MaxGroups: r.cfg.CacheGroups},
		})
		cancel()
		if err != nil {
			r.release(up)
			lastErr = err
			r.log.Debug("relay: upstream refused", "upstream", cands[idx].String(), "track", e.key, "err", err)
			continue
		}
		r.mu.Lock()
		e.upstreamSubs++
		e.upstreamURL, e.upstreamHop, e.upSess = up.url, up.hop, up.sess
		r.mu.Unlock()
		r.log.Info("relay: subscribed upstream", "track", e.key, "upstream", up.url, "upstream_name", up.hop)
		return sub, up, idx, nil
	}
	var re *moq.RequestError
	switch {
	case errors.As(lastErr, &re):
		return nil, nil, 0, lastErr // an upstream's own answer to the SUBSCRIBE
	case busy:
		return nil, nil, 0, errBusy
	}
	// The dial errors are in the debug log above; the requester learns only
	// that the origin is unreachable (whether or not the guard refused the
	// endpoints: the origin itself may well be public).
	return nil, nil, 0, errUnreachable
}

// unreachable is the REQUEST_ERROR of an origin none of whose upstreams
// could be dialled.
func unreachable(origin string) error {
	return &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: fmt.Sprintf("origin %s unreachable", origin)}
}

// dial returns a session to ep, shared with other tracks: native QUIC
// first, WebTransport as the fallback. One dial per endpoint runs at a
// time (the others wait for its outcome, failures included), within the
// outgoing bounds for origin.
func (r *Relay) dial(ctx context.Context, ep endpoint, origin string) (*upstream, error) {
	key := ep.String()
	guarded := r.guarded(ep)
	for {
		r.upMu.Lock()
		if u := r.upstreams[key]; u != nil {
			switch {
			case u.sess.Err() != nil || closedChan(u.sess.GoingAway()):
				delete(r.upstreams, key)
			case u.guarded || !guarded:
				u.refs++
				r.upMu.Unlock()
				return u, nil
			default:
				// The URL is a configured upstream's, dialled without the
				// guard: a well-known document naming it gets a session of
				// its own, through the guard, not shared.
				release, err := r.out.acquire(origin)
				r.upMu.Unlock()
				if err != nil {
					return nil, err
				}
				sess, err := r.dialEndpoint(ctx, ep)
				release()
				if err != nil {
					return nil, err
				}
				u := r.newUpstream(key, sess, guarded)
				context.AfterFunc(sess.Context(), func() { r.upstreamEnded(u) })
				return u, nil
			}
		}
		if c := r.dialing[key]; c != nil {
			r.upMu.Unlock()
			select {
			case <-c.done:
				if c.err != nil {
					return nil, c.err
				}
				continue
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		release, err := r.out.acquire(origin)
		if err != nil {
			r.upMu.Unlock()
			return nil, err
		}
		c := &call{done: make(chan struct{})}
		r.dialing[key] = c
		r.upMu.Unlock()

		sess, err := r.dialEndpoint(ctx, ep)
		release()
		r.upMu.Lock()
		delete(r.dialing, key)
		c.err = err
		close(c.done)
		if err != nil {
			r.upMu.Unlock()
			return nil, err
		}
		u := r.newUpstream(key, sess, guarded)
		r.upstreams[key] = u
		r.upMu.Unlock()
		context.AfterFunc(sess.Context(), func() { r.upstreamEnded(u) })
		return u, nil
	}
}

// newUpstream wraps a new session to the upstream key.
func (r *Relay) newUpstream(key string, sess *moq.Session, guarded bool) *upstream {
	u := &upstream{url: key, sess: sess, refs: 1, guarded: guarded, label: r.totals.perUpstream.assign(key, time.Now())}
	if impl := sess.PeerImplementation(); strings.HasPrefix(impl, implPrefix) {
		u.hop = impl[len(implPrefix):]
	}
	return u
}

func closedChan(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (r *Relay) dialEndpoint(ctx context.Context, ep endpoint) (*moq.Session, error) {
	cfg := &moq.Config{Implementation: implPrefix + r.name, Logger: r.log}
	if r.cfg.UpstreamToken != "" {
		cfg.AuthToken = []byte(r.cfg.UpstreamToken)
	}
	if r.cfg.InstanceDomain != "" {
		// Prove which instance this relay serves (relaykey.go).
		cfg.MoreAuthTokens = [][]byte{mintProof(r.relayKey, r.cfg.InstanceDomain, ep.host(), time.Now())}
	}
	idle := r.cfg.UpstreamIdleTimeout
	opts := &moq.DialOptions{
		TLS:        r.cfg.UpstreamTLS,
		CertHashes: ep.hashes,
		QUICConfig: &quic.Config{MaxIdleTimeout: idle, KeepAlivePeriod: idle / 3, HandshakeIdleTimeout: upstreamDialTimeout},
	}
	if r.guarded(ep) {
		opts.Resolve = netguard.Guard{}.ResolveAddr
	}
	var errs []error
	if ep.moqt != "" {
		dctx, cancel := context.WithTimeout(ctx, upstreamDialTimeout)
		sess, err := moq.Dial(dctx, ep.moqt, cfg, opts)
		cancel()
		if err == nil {
			return sess, nil
		}
		errs = append(errs, err)
		var idle *quic.IdleTimeoutError
		var hs *quic.HandshakeTimeoutError
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &idle) || errors.As(err, &hs) || errors.Is(err, netguard.ErrBlocked) {
			// Nothing answers on that UDP port (or the guard refused its
			// address): WebTransport runs on the same host and port, so do
			// not try it.
			return nil, fmt.Errorf("relay: dial %s: %w", ep.String(), err)
		}
	}
	if ep.https != "" {
		dctx, cancel := context.WithTimeout(ctx, upstreamDialTimeout)
		sess, err := moq.Dial(dctx, ep.https, cfg, opts)
		cancel()
		if err == nil {
			return sess, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("relay: dial %s: %w", ep.String(), errors.Join(errs...))
}

// release drops a track's reference to an upstream session, closing the
// session when no track uses it.
func (r *Relay) release(u *upstream) {
	r.upMu.Lock()
	u.refs--
	last := u.refs <= 0
	if last && r.upstreams[u.url] == u {
		delete(r.upstreams, u.url)
	}
	r.upMu.Unlock()
	if last {
		u.sess.Close()
	}
}

// upstreamEnded accounts for an upstream session that closed.
func (r *Relay) upstreamEnded(u *upstream) {
	r.upMu.Lock()
	if r.upstreams[u.url] == u {
		delete(r.upstreams, u.url)
	}
	r.upMu.Unlock()
	_, in, _, _ := u.sess.Stats()
	r.mu.Lock()
	r.totals.upstreamBytes += in
	r.totals.perUpstream.add(u.label, in, time.Now())
	r.mu.Unlock()
}

// hexHash renders a certificate hash.
func hexHash(b []byte) string { return hex.EncodeToString(b) }
