package moq

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"

	"github.com/tributary-live/tributary/moq/wire"
)

// DialOptions secure and shape a client connection.
type DialOptions struct {
	// TLS is the base client TLS configuration; nil uses the system roots.
	TLS *tls.Config
	// CertHashes pins the server certificate by SHA-256 of its DER encoding,
	// the way WebTransport's serverCertificateHashes does. When set, the
	// certificate chain is not verified against roots, only the pin.
	CertHashes [][]byte
	// Insecure accepts any certificate. For development only.
	Insecure bool
	// WebTransportOnly skips native QUIC for moqt:// URLs.
	WebTransportOnly bool
	// QUICConfig optionally tunes QUIC.
	QUICConfig *quic.Config
	// Resolve, when set, turns the URL's host:port into the "ip:port" that
	// is dialled, so that a caller can check the address first (as
	// moq/netguard's Guard.ResolveAddr does) and DNS cannot answer
	// differently between that check and the dial; its error fails the
	// dial before any packet is sent. The URL's host still names the
	// server in TLS and in the WebTransport request.
	Resolve func(ctx context.Context, hostport string) (string, error)
}

// ParseCertHash parses a hex SHA-256 certificate hash ("ab:cd:..." or "abcd...").
func ParseCertHash(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.ReplaceAll(strings.TrimSpace(s), ":", ""))
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("moq: certificate hash must be 32 bytes of hex, got %q", s)
	}
	return b, nil
}

// CertHash returns the SHA-256 of a certificate's DER encoding.
func CertHash(der []byte) []byte {
	h := sha256.Sum256(der)
	return h[:]
}

func (o *DialOptions) tlsConfig(host string) *tls.Config {
	var conf *tls.Config
	if o != nil && o.TLS != nil {
		conf = o.TLS.Clone()
	} else {
		conf = &tls.Config{}
	}
	if conf.ServerName == "" {
		conf.ServerName = host
	}
	if o == nil {
		return conf
	}
	if o.Insecure {
		conf.InsecureSkipVerify = true
	}
	if len(o.CertHashes) > 0 {
		pins := o.CertHashes
		conf.InsecureSkipVerify = true
		conf.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("moq: server sent no certificate")
			}
			got := CertHash(raw[0])
			for _, p := range pins {
				if bytes.Equal(p, got) {
					return nil
				}
			}
			return fmt.Errorf("moq: server certificate hash %x matches no pinned hash", got)
		}
	}
	return conf
}

// dialQUIC opens the QUIC connection to host (host:port of the URL),
// through Resolve when set.
func (o *DialOptions) dialQUIC(ctx context.Context, u *url.URL, host string, tlsConf *tls.Config, versions []wire.Version) (*quic.Conn, error) {
	addr := host
	if o != nil && o.Resolve != nil {
		a, err := o.Resolve(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("moq: connect to %s: %w", u.Host, err)
		}
		addr = a
	}
	qc, err := quic.DialAddr(ctx, addr, tlsConf, o.quicConfig())
	if err != nil {
		return nil, dialError(u, err, versions)
	}
	return qc, nil
}

func (o *DialOptions) quicConfig() *quic.Config {
	var q *quic.Config
	if o != nil && o.QUICConfig != nil {
		q = o.QUICConfig.Clone()
	} else {
		q = &quic.Config{}
	}
	q.EnableDatagrams = true
	q.EnableStreamResetPartialDelivery = true
	if q.MaxIdleTimeout == 0 {
		q.MaxIdleTimeout = 30 * time.Second
	}
	if q.KeepAlivePeriod == 0 {
		q.KeepAlivePeriod = 10 * time.Second
	}
	return q
}

// Dial connects to a MoQ server and sets up a session.
//
// A moqt://host:port/path URL offers the MoQ ALPNs and h3 in one handshake
// (draft-18 §3.1.1): if the server picks a MoQ ALPN the session runs on native
// QUIC with PATH and AUTHORITY sent as setup options; if it picks h3, on
// WebTransport. An https://host:port/path URL always uses WebTransport, the
// draft chosen through WT-Available-Protocols. The port defaults to 443.
func Dial(ctx context.Context, rawURL string, cfg *Config, opts *DialOptions) (*Session, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("moq: bad URL %q: %w", rawURL, err)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("moq: URL %q has no host", rawURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "443")
	}
	versions := wire.Supported
	if cfg != nil && len(cfg.Versions) > 0 {
		versions = cfg.Versions
	}
	switch u.Scheme {
	case "moqt", "moq":
		if opts != nil && opts.WebTransportOnly {
			wu := *u
			wu.Scheme = "https"
			return dialWebTransport(ctx, &wu, host, versions, cfg, opts, nil)
		}
		return dialNative(ctx, u, host, versions, cfg, opts)
	case "https":
		return dialWebTransport(ctx, u, host, versions, cfg, opts, nil)
	default:
		return nil, fmt.Errorf("moq: unsupported URL scheme %q (want moqt:// or https://)", u.Scheme)
	}
}

func dialNative(ctx context.Context, u *url.URL, host string, versions []wire.Version, cfg *Config, opts *DialOptions) (*Session, error) {
	tlsConf := opts.tlsConfig(u.Hostname())
	tlsConf.NextProtos = nil
	for _, v := range versions {
		tlsConf.NextProtos = append(tlsConf.NextProtos, v.ALPN())
	}
	tlsConf.NextProtos = append(tlsConf.NextProtos, http3.NextProtoH3)
	qc, err := opts.dialQUIC(ctx, u, host, tlsConf, versions)
	if err != nil {
		return nil, err
	}
	alpn := qc.ConnectionState().TLS.NegotiatedProtocol
	if alpn == http3.NextProtoH3 {
		wu := *u
		wu.Scheme = "https"
		return dialWebTransport(ctx, &wu, host, versions, cfg, opts, qc)
	}
	v, ok := wire.ParseALPN(alpn)
	if !ok || !slices.Contains(versions, v) {
		qc.CloseWithError(quic.ApplicationErrorCode(wire.ErrVersionNegotiationFailed), "")
		return nil, fmt.Errorf("moq: %s chose ALPN %q, not one of %v", u.Host, alpn, versions)
	}
	path := u.EscapedPath()
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	sess, err := connect(ctx, quicConn{qc}, v, cfg, u.Host, path)
	if err != nil {
		qc.CloseWithError(quic.ApplicationErrorCode(wire.ErrInternal), "setup failed")
		return nil, err
	}
	return sess, nil
}

func dialWebTransport(ctx context.Context, u *url.URL, host string, versions []wire.Version, cfg *Config, opts *DialOptions, qc *quic.Conn) (*Session, error) {
	var protos []string
	for _, v := range versions {
		protos = append(protos, v.ALPN())
	}
	tr := &webtransport.Transport{
		TLSClientConfig:      opts.tlsConfig(u.Hostname()),
		QUICConfig:           opts.quicConfig(),
		ApplicationProtocols: protos,
	}
	tr.TLSClientConfig.NextProtos = []string{http3.NextProtoH3}
	var (
		rsp *http.Response
		ws  *webtransport.Session
		err error
	)
	target := *u
	target.Host = host
	if qc == nil {
		// Dial QUIC ourselves (rather than webtransport.Transport.Dial, which
		// closes the connection the moment the session ends): the session's
		// close capsule then reaches the server before the connection closes.
		var err error
		qc, err = opts.dialQUIC(ctx, u, host, tr.TLSClientConfig, versions)
		if err != nil {
			return nil, err
		}
	}
	{
		cc, cerr := tr.NewClientConn(qc)
		if cerr != nil {
			qc.CloseWithError(0, "")
			return nil, fmt.Errorf("moq: webtransport on %s: %w", u.Host, cerr)
		}
		rsp, ws, err = cc.Dial(ctx, target.String(), nil)
		if err != nil {
			qc.CloseWithError(0, "")
		} else {
			context.AfterFunc(ws.Context(), func() {
				time.AfterFunc(wtLinger, func() { qc.CloseWithError(0, "") })
			})
		}
	}
	if err != nil {
		if rsp != nil {
			return nil, fmt.Errorf("moq: webtransport to %s refused with HTTP %d: %w", u.Host, rsp.StatusCode, err)
		}
		return nil, dialError(u, err, versions)
	}
	proto := ws.SessionState().ApplicationProtocol
	v, ok := wire.ParseALPN(proto)
	if !ok {
		ws.CloseWithError(webtransport.SessionErrorCode(wire.ErrVersionNegotiationFailed), "")
		if proto == "" {
			return nil, fmt.Errorf("moq: %s did not choose a MoQ version from %v in WT-Protocol", u.Host, protos)
		}
		return nil, fmt.Errorf("moq: %s chose unsupported protocol %q", u.Host, proto)
	}
	sess, err := connect(ctx, wtConn{ws}, v, cfg, "", "")
	if err != nil {
		ws.CloseWithError(webtransport.SessionErrorCode(wire.ErrInternal), "setup failed")
		return nil, err
	}
	return sess, nil
}

// wtLinger is how long a client keeps the QUIC connection after its
// WebTransport session closed, so the close capsule is delivered.
const wtLinger = 250 * time.Millisecond

// dialError turns handshake failures into messages a user can act on.
func dialError(u *url.URL, err error, versions []wire.Version) error {
	var te *quic.TransportError
	if errors.As(err, &te) && te.ErrorCode == 0x178 { // TLS alert no_application_protocol
		return fmt.Errorf("moq: %s speaks none of the MoQ versions %v: %w", u.Host, versions, err)
	}
	var ie *quic.IdleTimeoutError
	if errors.As(err, &ie) {
		return fmt.Errorf("moq: %s did not answer (is a MoQ server listening on UDP %s?): %w", u.Host, u.Host, err)
	}
	return fmt.Errorf("moq: connect to %s: %w", u.Host, err)
}
