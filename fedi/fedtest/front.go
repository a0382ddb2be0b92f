package fedtest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The front proxy stands where nginx stands in front of a real instance: it
// owns the instance's public address and passes requests to GoToSocial with
// the original Host header (HTTP signatures sign it) and X-Forwarded-For and
// X-Forwarded-Proto (GoToSocial trusts them from 127.0.0.1).
//
// GoToSocial v0.18.3 builds WebFinger and host-meta URLs as
// "https://" + domain, whatever its own protocol setting is, while
// everything else (actors, inboxes, statuses) uses the URIs the other side
// publishes, which are http:// here. So the proxy answers both on one port:
// a connection whose first byte is a TLS handshake record (0x16) gets TLS
// with a self-signed certificate (GoToSocial has
// http-client.tls-insecure-skip-verify), anything else plain HTTP.

type tlsCert = tls.Certificate

// newCert makes a self-signed ECDSA certificate for 127.0.0.1, ::1 and
// localhost, valid for a day, and a pool that trusts it.
func newCert() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "fedtest loopback"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}

// front is an instance's reverse proxy.
type front struct {
	addr    string // 127.0.0.1:port
	mux     *http.ServeMux
	srv     *http.Server
	backend atomic.Pointer[url.URL]
	logf    *os.File
}

// startFront listens on a free loopback port and serves; requests go to
// the backend set with setBackend (502 until then).
func startFront(cert tls.Certificate, logPath string) (*front, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		l.Close()
		return nil, err
	}
	f := &front{addr: l.Addr().String(), mux: http.NewServeMux(), logf: logf}
	errLog := log.New(logf, "", log.LstdFlags|log.Lmicroseconds)
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			if b := f.backend.Load(); b != nil {
				r.SetURL(b)
			}
			r.Out.Host = r.In.Host // keep the public host: it is signed
			r.SetXForwarded()
		},
		ErrorLog: errLog,
	}
	f.mux.Handle("/", rp)
	f.srv = &http.Server{
		Handler:           f.mux,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          errLog,
	}
	sl := newSniffListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	go func() { _ = f.srv.Serve(sl) }()
	return f, nil
}

func (f *front) setBackend(hostport string) {
	f.backend.Store(&url.URL{Scheme: "http", Host: hostport})
}

func (f *front) close() {
	_ = f.srv.Close()
	_ = f.logf.Close()
}

// sniffListener hands out plain connections and, for those that start with
// a TLS handshake record, TLS server connections (net/http does the
// handshake and sets Request.TLS).
type sniffListener struct {
	net.Listener
	cfg   *tls.Config
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newSniffListener(l net.Listener, cfg *tls.Config) *sniffListener {
	s := &sniffListener{Listener: l, cfg: cfg, conns: make(chan net.Conn), done: make(chan struct{})}
	go s.acceptLoop()
	return s
}

func (s *sniffListener) acceptLoop() {
	for {
		c, err := s.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			_ = s.Close()
			return
		}
		go s.sniff(c)
	}
}

func (s *sniffListener) sniff(c net.Conn) {
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return
	}
	var out net.Conn = &peekedConn{Conn: c, r: br}
	if first[0] == 0x16 { // TLS record type "handshake"
		out = tls.Server(out, s.cfg)
	}
	select {
	case s.conns <- out:
	case <-s.done:
		c.Close()
	}
}

func (s *sniffListener) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

func (s *sniffListener) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		err = s.Listener.Close()
	})
	return err
}

// peekedConn reads through the buffer that holds the sniffed byte.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
