package moq

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"

	"github.com/tributary-live/tributary/moq/wire"
)

// Server accepts MoQ sessions over native QUIC and WebTransport on one UDP
// port. The TLS handshake's ALPN chooses: "moqt-19" or "moqt-18" is a native
// QUIC session of that draft (draft-18 §3.1 {#session-establishment}); "h3"
// carries WebTransport, whose draft is chosen through WT-Available-Protocols.
type Server struct {
	// TLSConfig holds the certificate. Its NextProtos are set by the server.
	TLSConfig *tls.Config
	// Config configures every accepted session.
	Config *Config
	// QUICConfig optionally tunes QUIC; datagrams are always enabled.
	QUICConfig *quic.Config
	// Handle is called in its own goroutine with each established session.
	// When it returns, the session is closed.
	Handle func(s *Session)
	// HTTPHandler, if set, serves HTTP/3 requests that are not WebTransport.
	HTTPHandler http.Handler
	// CheckOrigin vets a WebTransport request's origin; nil accepts any
	// origin (MoQ relays serve pages from other origins; the session's own
	// authorization decides what a peer may do).
	CheckOrigin func(r *http.Request) bool

	mu       sync.Mutex
	tr       *quic.Transport
	ln       *quic.EarlyListener
	wt       *webtransport.Server
	sessions map[*Session]struct{}
	ownPC    net.PacketConn
	closed   bool
	wg       sync.WaitGroup
}

func (s *Server) logger() *slog.Logger {
	if s.Config != nil && s.Config.Logger != nil {
		return s.Config.Logger
	}
	return slog.Default()
}

func (s *Server) versions() []wire.Version {
	if s.Config != nil && len(s.Config.Versions) > 0 {
		return s.Config.Versions
	}
	return wire.Supported
}

// Listen binds addr ("127.0.0.1:0" for any free port) and serves in the
// background until Close.
func (s *Server) Listen(addr string) (net.Addr, error) {
	udp, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("moq: listen %s: %w", addr, err)
	}
	if err := s.start(udp); err != nil {
		udp.Close()
		return nil, err
	}
	s.mu.Lock()
	s.ownPC = udp
	s.mu.Unlock()
	return udp.LocalAddr(), nil
}

// Serve serves on pc until Close. It returns once the listener stops.
func (s *Server) Serve(pc net.PacketConn) error {
	if err := s.start(pc); err != nil {
		return err
	}
	s.wg.Wait()
	return nil
}

func (s *Server) start(pc net.PacketConn) error {
	if s.TLSConfig == nil {
		return errors.New("moq: server needs a TLS configuration")
	}
	tlsConf := s.TLSConfig.Clone()
	tlsConf.NextProtos = nil
	var alpns []string
	for _, v := range s.versions() {
		tlsConf.NextProtos = append(tlsConf.NextProtos, v.ALPN())
		alpns = append(alpns, v.ALPN())
	}
	tlsConf.NextProtos = append(tlsConf.NextProtos, http3.NextProtoH3)

	qconf := &quic.Config{}
	if s.QUICConfig != nil {
		qconf = s.QUICConfig.Clone()
	}
	qconf.EnableDatagrams = true
	qconf.EnableStreamResetPartialDelivery = true
	lim := s.Config.limits()
	if qconf.MaxIncomingStreams == 0 {
		qconf.MaxIncomingStreams = int64(lim.MaxRequests)
	}
	if qconf.MaxIncomingUniStreams == 0 {
		qconf.MaxIncomingUniStreams = int64(lim.MaxIncomingUniStreams)
	}
	if qconf.MaxIdleTimeout == 0 {
		qconf.MaxIdleTimeout = 30 * time.Second
	}
	if qconf.KeepAlivePeriod == 0 {
		qconf.KeepAlivePeriod = 10 * time.Second
	}

	tr := &quic.Transport{Conn: pc}
	ln, err := tr.ListenEarly(tlsConf, qconf)
	if err != nil {
		return fmt.Errorf("moq: listen: %w", err)
	}
	mux := http.NewServeMux()
	h3 := &http3.Server{Handler: mux, TLSConfig: tlsConf, QUICConfig: qconf}
	check := s.CheckOrigin
	if check == nil {
		check = func(*http.Request) bool { return true }
	}
	wt := &webtransport.Server{H3: h3, ApplicationProtocols: alpns, CheckOrigin: check}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			if s.HTTPHandler != nil {
				s.HTTPHandler.ServeHTTP(w, r)
				return
			}
			http.Error(w, "MoQ endpoint: use WebTransport", http.StatusNotFound)
			return
		}
		s.serveWebTransport(w, r)
	})

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return errors.New("moq: server closed")
	}
	s.tr, s.ln, s.wt = tr, ln, wt
	s.sessions = make(map[*Session]struct{})
	s.mu.Unlock()

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.acceptLoop(ln)
	}()
	return nil
}

func (s *Server) acceptLoop(ln *quic.EarlyListener) {
	for {
		qc, err := ln.Accept(context.Background())
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveConn(qc)
		}()
	}
}

func (s *Server) serveConn(qc *quic.Conn) {
	// Wait for the handshake so the ALPN is known.
	select {
	case <-qc.HandshakeComplete():
	case <-qc.Context().Done():
		return
	}
	alpn := qc.ConnectionState().TLS.NegotiatedProtocol
	if alpn == http3.NextProtoH3 {
		if err := s.wt.ServeQUICConn(qc); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger().Debug("moq: webtransport connection ended", "peer", qc.RemoteAddr(), "err", err)
		}
		return
	}
	v, ok := wire.ParseALPN(alpn)
	if !ok {
		qc.CloseWithError(quic.ApplicationErrorCode(wire.ErrVersionNegotiationFailed), "unsupported MoQ version "+alpn)
		return
	}
	s.runSession(quicConn{qc}, v, "", "")
}

func (s *Server) serveWebTransport(w http.ResponseWriter, r *http.Request) {
	ws, err := s.wt.Upgrade(w, r)
	if err != nil {
		s.logger().Info("moq: webtransport upgrade failed", "peer", r.RemoteAddr, "err", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	proto := ws.SessionState().ApplicationProtocol
	v, ok := wire.ParseALPN(proto)
	if !ok {
		// draft-18 §3.1 uses WT-Available-Protocols for version negotiation:
		// a client that names no version we speak gets a clear error.
		ws.CloseWithError(webtransport.SessionErrorCode(wire.ErrVersionNegotiationFailed),
			fmt.Sprintf("no supported MoQ version offered in WT-Available-Protocols (server speaks %v)", s.versions()))
		return
	}
	s.runSession(wtConn{ws}, v, r.URL.RequestURI(), r.Host)
}

func (s *Server) runSession(c Conn, v wire.Version, path, authority string) {
	sess, err := accept(c, v, path, authority, s.Config)
	if err != nil {
		s.logger().Info("moq: session setup failed", "peer", c.RemoteAddr(), "transport", c.Transport(), "err", err)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		sess.CloseWithError(wire.ErrNoError, "server closed")
		return
	}
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.sessions, sess)
		s.mu.Unlock()
	}()
	if s.Handle != nil {
		s.Handle(sess)
		sess.CloseWithError(wire.ErrNoError, "")
		return
	}
	<-sess.Context().Done()
}

// Sessions returns the established sessions.
func (s *Server) Sessions() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Session, 0, len(s.sessions))
	for sess := range s.sessions {
		out = append(out, sess)
	}
	return out
}

// Shutdown sends GOAWAY to every session (draft-18 §10.4 {#message-goaway}),
// waits for them to close until ctx ends, then closes the server.
func (s *Server) Shutdown(ctx context.Context, newURI string) error {
	for _, sess := range s.Sessions() {
		sess.GoAway(newURI, 0)
	}
	for {
		// One snapshot: a session leaving between two calls of Sessions
		// would leave next nil and the wait would last the whole drain.
		sessions := s.Sessions()
		if len(sessions) == 0 {
			break
		}
		next := sessions[0].Context().Done()
		select {
		case <-next:
		case <-ctx.Done():
			for _, sess := range s.Sessions() {
				sess.CloseWithError(wire.ErrGoAwayTimeout, "drain period over")
			}
			return s.Close()
		}
	}
	return s.Close()
}

// Close stops the server and closes every session.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	ln, wt, tr, pc := s.ln, s.wt, s.tr, s.ownPC
	sessions := make([]*Session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.CloseWithError(wire.ErrNoError, "server closed")
	}
	if wt != nil {
		wt.Close()
	}
	if ln != nil {
		ln.Close()
	}
	if tr != nil {
		tr.Close()
	}
	if pc != nil {
		pc.Close()
	}
	s.wg.Wait()
	return nil
}
