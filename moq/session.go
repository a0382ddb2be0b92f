package moq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// Session is one MoQ session (draft-18 §3 {#session}): the control streams,
// one bidirectional stream per request, and data streams and datagrams.
// Its methods are safe for concurrent use.
type Session struct {
	conn     Conn
	version  wire.Version
	isClient bool
	cfg      *Config
	lim      *Limits
	log      *slog.Logger

	// What the peer said in SETUP.
	path, authority, peerImpl string
	peerTokens                [][]byte
	quirkNoLargest            bool // the peer cannot parse LARGEST_OBJECT

	ctx    context.Context
	cancel context.CancelCauseFunc

	ctrlMu  sync.Mutex
	ctrlOut SendStream

	mu            sync.Mutex
	nextRequestID uint64
	peerIDs       requestIDSet
	nextAlias     uint64
	incoming      map[uint64]*subscription // by track alias: what the peer sends us
	aliasWait     chan struct{}            // closed and replaced when incoming changes
	served        map[uint64]*servedSub    // by the peer's request ID: what we send the peer
	subsPending   int                      // SUBSCRIBEs admitted and not yet in served (MaxSubscriptions)
	ended         []endedSub               // recently ended subscriptions, still joinable (joinable)
	fetches       map[uint64]*FetchStream  // by our request ID
	goaway        *wire.GoAway
	goawaySent    bool
	goawayCh      chan struct{}
	closeOnce     sync.Once
	closeErr      error
	pendingUni    int         // data streams whose header has not arrived (MaxPendingUniStreams)
	active        int         // requests being served or in flight (IdleTimeout)
	idleSince     time.Time   // when the session was last seen busy
	idleTimer     *time.Timer // checks IdleTimeout on a server

	// Accounting, counted per object without the session's lock.
	bytesIn, bytesOut, objectsIn, objectsOut atomic.Uint64
}

// requestIDSet tracks the peer's request IDs to refuse duplicates
// (draft-18 §10.1 {#request-id}) in bounded memory: every ID below low has
// been seen; seen holds the ones above.
type requestIDSet struct {
	low  uint64
	seen map[uint64]struct{}
}

// add records id and reports whether it was new.
func (r *requestIDSet) add(id uint64, step uint64, max int) (fresh bool, overflow bool) {
	if id < r.low {
		return false, false
	}
	if _, ok := r.seen[id]; ok {
		return false, false
	}
	if len(r.seen) >= max {
		return false, true
	}
	if r.seen == nil {
		r.seen = make(map[uint64]struct{})
	}
	r.seen[id] = struct{}{}
	for {
		if _, ok := r.seen[r.low]; !ok {
			break
		}
		delete(r.seen, r.low)
		r.low += step
	}
	return true, false
}

func newSession(c Conn, v wire.Version, isClient bool, cfg *Config) *Session {
	if cfg == nil {
		cfg = &Config{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	s := &Session{
		conn: c, version: v, isClient: isClient, cfg: cfg, lim: cfg.limits(),
		incoming:  make(map[uint64]*subscription),
		aliasWait: make(chan struct{}),
		served:    make(map[uint64]*servedSub),
		fetches:   make(map[uint64]*FetchStream),
		goawayCh:  make(chan struct{}),
	}
	s.log = log.With("peer", c.RemoteAddr().String(), "transport", c.Transport(), "version", v.ALPN())
	// Client request IDs are even from 0, the server's odd from 1 (§10.1).
	if isClient {
		s.nextRequestID, s.peerIDs.low = 0, 1
	} else {
		s.nextRequestID, s.peerIDs.low = 1, 0
	}
	s.ctx, s.cancel = context.WithCancelCause(context.Background())
	context.AfterFunc(c.Context(), func() {
		cause := context.Cause(c.Context())
		if cc, ok := c.(interface{ closeCause() error }); ok {
			if e := cc.closeCause(); e != nil {
				cause = e
			}
		}
		s.cancel(s.transportCloseError(cause))
	})
	return s
}

func (s *Session) transportCloseError(err error) error {
	if code, reason, remote, ok := closeCode(err); ok {
		return &SessionError{Code: wire.ErrorCode(code), Reason: reason, Remote: remote}
	}
	if err == nil {
		err = net.ErrClosed
	}
	return fmt.Errorf("moq: connection lost: %w", err)
}

// connect runs the client side of session setup (draft-18 §3.3 {#session-init}).
func connect(ctx context.Context, c Conn, v wire.Version, cfg *Config, authority, path string) (*Session, error) {
	s := newSession(c, v, true, cfg)
	impl := s.implementation()
	setup := &wire.Setup{MoqtImplementation: &impl}
	if c.Transport() == "quic" {
		// PATH and AUTHORITY travel as setup options on native QUIC only (§10.3.1.1-2).
		setup.Path, setup.Authority = &path, &authority
	}
	if len(s.cfg.AuthToken) > 0 {
		setup.AuthorizationTokens = []wire.Token{{AliasType: wire.AliasUseValue, Value: s.cfg.AuthToken}}
	}
	for _, t := range s.cfg.MoreAuthTokens {
		setup.AuthorizationTokens = append(setup.AuthorizationTokens, wire.Token{AliasType: wire.AliasUseValue, Value: t})
	}
	if err := s.handshake(ctx, setup); err != nil {
		return nil, err
	}
	return s, nil
}

// accept runs the server side of session setup. wtPath and wtAuthority are
// the WebTransport request's path and authority (empty on native QUIC).
func accept(c Conn, v wire.Version, wtPath, wtAuthority string, cfg *Config) (*Session, error) {
	s := newSession(c, v, false, cfg)
	s.path, s.authority = wtPath, wtAuthority
	ctx, cancel := context.WithTimeout(s.ctx, s.lim.SetupTimeout)
	defer cancel()
	impl := s.implementation()
	if err := s.handshake(ctx, &wire.Setup{MoqtImplementation: &impl}); err != nil {
		return nil, err
	}
	if err := s.checkAuthority(); err != nil {
		s.fail(err, "setup")
		return nil, err
	}
	if s.cfg.Accept != nil {
		if err := s.cfg.Accept(s); err != nil {
			code := wire.ErrUnauthorized
			if se, ok := errors.AsType[*SessionError](err); ok {
				code = se.Code
			}
			s.log.Info("moq: session refused", "err", err)
			s.CloseWithError(code, err.Error())
			return nil, err
		}
	}
	s.watchIdle()
	go s.acceptBidiLoop()
	return s, nil
}

func (s *Session) implementation() string {
	if s.cfg.Implementation != "" {
		return s.cfg.Implementation
	}
	return "tributary"
}

// handshake exchanges SETUP on the two unidirectional control streams and
// starts the session's loops.
func (s *Session) handshake(ctx context.Context, setup *wire.Setup) error {
	out, err := s.conn.OpenUniStream(ctx)
	if err != nil {
		return fmt.Errorf("moq: open control stream: %w", err)
	}
	out.SetPriority(0) // control first (draft-18 §7.2)
	s.ctrlOut = out
	if err := s.writeControl(setup); err != nil {
		return fmt.Errorf("moq: send SETUP: %w", err)
	}

	// Data streams may arrive before the peer's control stream; they wait
	// for setup (draft-18 §3.3) through s.ready.
	ready := make(chan struct{})
	peerSetup := make(chan error, 1)
	var (
		ctrlStr ReceiveStream
		ctrlIn  *bufio.Reader
	)
	go s.acceptUniLoop(ready, func(str ReceiveStream, r *bufio.Reader) {
		ctrlStr, ctrlIn = str, r
		m, err := s.readMessage(str, r, false)
		if err != nil {
			peerSetup <- err
			return
		}
		su, ok := m.(*wire.Setup)
		if !ok {
			peerSetup <- &wire.Error{Code: wire.ErrProtocolViolation, Reason: "control stream must start with SETUP"}
			return
		}
		peerSetup <- s.applyPeerSetup(su)
	})
	select {
	case err := <-peerSetup:
		if err != nil {
			s.fail(err, "setup")
			return err
		}
	case <-ctx.Done():
		err := fmt.Errorf("moq: no SETUP from peer: %w", context.Cause(ctx))
		s.CloseWithError(wire.ErrControlMessageTimeout, "no SETUP received")
		return err
	case <-s.ctx.Done():
		return context.Cause(s.ctx)
	}
	close(ready)
	go s.controlLoop(ctrlStr, ctrlIn)
	if s.isClient {
		// A server serves requests only once Config.Accept let the
		// session in (accept starts the loop).
		go s.acceptBidiLoop()
	}
	go s.datagramLoop()
	s.log.Debug("moq: session established", "path", s.path, "peer_impl", s.peerImpl)
	return nil
}

func (s *Session) applyPeerSetup(su *wire.Setup) error {
	// PATH and AUTHORITY come from a client on native QUIC only; from a
	// server, or on WebTransport, they close the session with INVALID_PATH
	// and INVALID_AUTHORITY (draft-18 and -19 §10.3.1.1-2).
	switch {
	case s.isClient && su.Authority != nil:
		return &wire.Error{Code: wire.ErrInvalidAuthority, Reason: "server sent AUTHORITY"}
	case s.isClient && su.Path != nil:
		return &wire.Error{Code: wire.ErrInvalidPath, Reason: "server sent PATH"}
	case s.isClient:
	case s.conn.Transport() == "quic":
		if su.Path != nil {
			s.path = *su.Path
		}
		if su.Authority != nil {
			s.authority = *su.Authority
		}
	case su.Authority != nil:
		return &wire.Error{Code: wire.ErrInvalidAuthority, Reason: "AUTHORITY on WebTransport"}
	case su.Path != nil:
		return &wire.Error{Code: wire.ErrInvalidPath, Reason: "PATH on WebTransport"}
	}
	if su.MoqtImplementation != nil {
		s.peerImpl = *su.MoqtImplementation
	}
	if strings.HasPrefix(s.peerImpl, "moq-lite-js") {
		// @moq/net 0.3.x writes and reads LARGEST_OBJECT with a length
		// prefix the drafts do not have (docs/ARCHITECTURE.md, moq/wire):
		// read its form, and send it none. 0.1.x (under @moq/publish 0.2)
		// puts GROUP_ORDER in SUBSCRIBE_OK: read it and drop it.
		wl := *s.lim.Wire
		wl.Quirks |= wire.QuirkLengthPrefixedLocation | wire.QuirkVarintUint8 | wire.QuirkMisplacedParams
		s.lim.Wire = &wl
		s.quirkNoLargest = true
	}
	for _, t := range su.AuthorizationTokens {
		switch t.AliasType {
		case wire.AliasUseValue, wire.AliasRegister:
			s.peerTokens = append(s.peerTokens, t.Value)
		default:
			if !s.isClient {
				return &wire.Error{Code: wire.ErrProtocolViolation, Reason: "DELETE or USE_ALIAS token in SETUP"}
			}
		}
	}
	return nil
}

// transportGone reports whether err comes from the connection ending rather
// than from the peer breaking a rule: a peer's close must be reported as its
// close, not answered with a PROTOCOL_VIOLATION because a stream read failed
// first. A transport-level read error (not a decoding error) waits a bounded
// time for the connection to report its end, since over WebTransport the
// streams can fail before the session's close capsule is processed.
func (s *Session) transportGone(err error) bool {
	if s.ctx.Err() != nil {
		return true
	}
	if _, _, _, ok := closeCode(err); ok {
		return true
	}
	if _, isWire := wire.CodeOf(err); isWire {
		if we, ok := errors.AsType[*wire.Error](err); !ok || we.Unwrap() == nil {
			return false
		}
	}
	timer := time.NewTimer(time.Second)
	defer timer.Stop()
	select {
	case <-s.conn.Context().Done():
		return true
	case <-s.ctx.Done():
		return true
	case <-timer.C:
		return false
	}
}

// largestParam returns the LARGEST_OBJECT parameter value for l, or nil for
// a peer known to misread it.
func (s *Session) largestParam(l wire.Location) *wire.Location {
	if s.quirkNoLargest {
		return nil
	}
	return &l
}

// fail closes the session for a protocol error, logging the peer and the
// limit or rule it broke.
func (s *Session) fail(err error, where string) {
	if s.transportGone(err) {
		return
	}
	code := wire.ErrProtocolViolation
	if c, ok := wire.CodeOf(err); ok {
		code = c
	}
	s.log.Warn("moq: closing session", "where", where, "code", code, "err", err)
	s.CloseWithError(code, err.Error())
}

// readMessage reads one control message from str through its buffered
// reader r. The wait for a message's first byte is not bounded (a control
// stream, or a subscription's request stream, may stay quiet for the whole
// session) unless bounded is set (the first message of a request stream the
// peer opened); once it has begun, a message must be complete within
// Limits.MessageTimeout (draft-18 §13.6 {#security-timeouts}), or the
// session is closed with CONTROL_MESSAGE_TIMEOUT (§3.5 {#session-termination}).
func (s *Session) readMessage(str ReceiveStream, r *bufio.Reader, bounded bool) (wire.Message, error) {
	if bounded {
		str.SetReadDeadline(time.Now().Add(s.lim.MessageTimeout))
		defer str.SetReadDeadline(time.Time{})
	} else {
		if _, err := r.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("moq: read message: %w", err)
		}
		if !bufferedMessage(r) {
			str.SetReadDeadline(time.Now().Add(s.lim.MessageTimeout))
			defer str.SetReadDeadline(time.Time{})
		}
	}
	m, err := wire.ReadMessage(r, s.version, s.lim.Wire)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = &wire.Error{Code: wire.ErrControlMessageTimeout,
			Reason: fmt.Sprintf("limit MessageTimeout: control message incomplete after %v", s.lim.MessageTimeout)}
		s.fail(err, "control message")
	}
	return m, err
}

// bufferedMessage reports whether r already holds a whole framed control
// message (Type, Length, body; draft-18 §10), so reading it cannot block.
func bufferedMessage(r *bufio.Reader) bool {
	b, _ := r.Peek(r.Buffered())
	_, n, err := wire.ParseVarint(b)
	if err != nil || len(b) < n+2 {
		return false
	}
	return len(b) >= n+2+(int(b[n])<<8|int(b[n+1]))
}

// checkAuthority refuses a session whose authority this server does not
// serve (Config.Authorities): INVALID_AUTHORITY, or MALFORMED_AUTHORITY for
// a value that is no RFC 3986 authority (draft-18 and -19 §10.3.1.1
// {#authority}).
func (s *Session) checkAuthority() error {
	if len(s.cfg.Authorities) == 0 || s.authority == "" {
		return nil
	}
	host, port, ok := splitAuthority(s.authority)
	if !ok {
		return &wire.Error{Code: wire.ErrMalformedAuthority, Reason: fmt.Sprintf("AUTHORITY %q is not an authority", s.authority)}
	}
	for _, a := range s.cfg.Authorities {
		h, p, ok := splitAuthority(a)
		if ok && h == host && (p == "" || p == port) {
			return nil
		}
	}
	return &wire.Error{Code: wire.ErrInvalidAuthority, Reason: fmt.Sprintf("authority %q is not served here", s.authority)}
}

// splitAuthority splits an RFC 3986 authority ([userinfo@]host[:port]) into
// its host, lower-cased and without IPv6 brackets, and port; ok is false
// when a is not an authority, or has an empty host (draft-18 §3.1.1).
func splitAuthority(a string) (host, port string, ok bool) {
	if a == "" || strings.ContainsAny(a, "/?#\\") {
		return "", "", false
	}
	u, err := url.Parse("moqt://" + a)
	if err != nil || u.Hostname() == "" || u.Opaque != "" || u.Path != "" {
		return "", "", false
	}
	return strings.ToLower(u.Hostname()), u.Port(), true
}

// hold marks a request as in progress for IdleTimeout until release is
// called: a request of the peer being served, or a publication of ours.
func (s *Session) hold() (release func()) {
	s.mu.Lock()
	s.active++
	s.idleSince = time.Now()
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.active--
			s.idleSince = time.Now()
			s.mu.Unlock()
		})
	}
}

// watchIdle closes a server-side session that stays idle for
// Limits.IdleTimeout: no request of the peer in progress or begun, and no
// subscription, fetch or publication of this end. Only requests count, not
// transport traffic, so the server's own QUIC keep-alives (and the peer's
// acknowledgements of them) keep no idle session open (draft-18 §13.6
// {#security-timeouts}). A session that became idle without a request
// ending (a subscription of this end ended) is closed after one to two
// IdleTimeouts.
func (s *Session) watchIdle() {
	d := s.lim.IdleTimeout
	if s.isClient || d <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idleSince = time.Now()
	s.idleTimer = time.AfterFunc(d, func() {
		s.mu.Lock()
		now := time.Now()
		busy := s.active > 0 || len(s.incoming) > 0 || len(s.served) > 0 || len(s.fetches) > 0
		if busy {
			s.idleSince = now
		}
		wait := d - now.Sub(s.idleSince)
		if wait > 0 && s.ctx.Err() == nil {
			s.idleTimer.Reset(wait)
		}
		s.mu.Unlock()
		if probe := s.cfg.idleProbe; probe != nil {
			probe(s, wait <= 0)
		}
		if wait <= 0 {
			s.log.Info("moq: closing idle session", "limit", "IdleTimeout", "timeout", d)
			s.CloseWithError(wire.ErrNoError, fmt.Sprintf("idle: no request for %v", d))
		}
	})
	context.AfterFunc(s.ctx, func() {
		s.mu.Lock()
		s.idleTimer.Stop()
		s.mu.Unlock()
	})
}

func (s *Session) writeControl(m wire.Message) error {
	b, err := wire.AppendMessage(nil, s.version, m)
	if err != nil {
		return err
	}
	s.ctrlMu.Lock()
	defer s.ctrlMu.Unlock()
	_, err = s.ctrlOut.Write(b)
	return err
}

func (s *Session) controlLoop(str ReceiveStream, r *bufio.Reader) {
	for {
		m, err := s.readMessage(str, r, false)
		if err != nil {
			if s.transportGone(err) {
				return
			}
			if errors.Is(err, io.EOF) {
				// A control stream must stay open for the whole session (§3.3).
				err = &wire.Error{Code: wire.ErrProtocolViolation, Reason: "control stream closed"}
			}
			s.fail(err, "control stream")
			return
		}
		switch m := m.(type) {
		case *wire.GoAway:
			if err := s.onGoAway(m); err != nil {
				s.fail(err, "GOAWAY")
				return
			}
		default:
			s.fail(&wire.Error{Code: wire.ErrProtocolViolation, Reason: fmt.Sprintf("unexpected message 0x%x on control stream", m.Type())}, "control stream")
			return
		}
	}
}

func (s *Session) onGoAway(m *wire.GoAway) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.goaway != nil {
		return &wire.Error{Code: wire.ErrProtocolViolation, Reason: "second GOAWAY"}
	}
	if !s.isClient && m.NewSessionURI != "" {
		return &wire.Error{Code: wire.ErrProtocolViolation, Reason: "GOAWAY from client with a URI"}
	}
	s.goaway = m
	close(s.goawayCh)
	s.log.Info("moq: peer is going away", "new_uri", m.NewSessionURI, "timeout_ms", m.Timeout)
	return nil
}

// onRequestGoAway checks a GOAWAY received on a request stream (draft-18
// and -19 §10.4): it asks to migrate that one request, which goes on until
// either end closes it. seen records the stream's first GOAWAY.
func (s *Session) onRequestGoAway(m *wire.GoAway, seen *bool) error {
	if *seen {
		return &wire.Error{Code: wire.ErrProtocolViolation, Reason: "second GOAWAY on a request stream"}
	}
	if !s.isClient && m.NewSessionURI != "" {
		return &wire.Error{Code: wire.ErrProtocolViolation, Reason: "GOAWAY from client with a URI"}
	}
	*seen = true
	s.log.Info("moq: peer is migrating a request", "new_uri", m.NewSessionURI, "timeout_ms", m.Timeout)
	return nil
}

// GoAway tells the peer this session will end (draft-18 §10.4 {#message-goaway}):
// a server may name a new session URI; timeout is how long it waits before
// closing with GOAWAY_TIMEOUT (0: no specific timeout). New requests from the
// peer are refused with GOING_AWAY afterwards.
func (s *Session) GoAway(newURI string, timeout time.Duration) error {
	s.mu.Lock()
	if s.goawaySent {
		s.mu.Unlock()
		return nil
	}
	s.goawaySent = true
	s.mu.Unlock()
	if s.isClient {
		newURI = ""
	}
	g := &wire.GoAway{NewSessionURI: newURI, Timeout: uint64(timeout / time.Millisecond)}
	if s.version == wire.Draft18 {
		s.mu.Lock()
		g.RequestID, g.HasRequestID = s.peerIDs.low, true
		s.mu.Unlock()
	}
	err := s.writeControl(g)
	if timeout > 0 {
		time.AfterFunc(timeout, func() { s.CloseWithError(wire.ErrGoAwayTimeout, "GOAWAY timeout") })
	}
	return err
}

// GoingAway returns a channel closed when the peer sent GOAWAY.
func (s *Session) GoingAway() <-chan struct{} { return s.goawayCh }

// GoAwayURI returns the new session URI of the peer's GOAWAY, if any.
func (s *Session) GoAwayURI() (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.goaway == nil {
		return "", false
	}
	return s.goaway.NewSessionURI, true
}

// Version returns the negotiated draft.
func (s *Session) Version() wire.Version { return s.version }

// Path returns the path the client connected to (PATH setup option on native
// QUIC, the request path on WebTransport).
func (s *Session) Path() string { return s.path }

// Authority returns the authority the client connected to: its AUTHORITY
// setup option on native QUIC, the request's authority on WebTransport.
func (s *Session) Authority() string { return s.authority }

// PeerImplementation returns the peer's MOQT IMPLEMENTATION option.
func (s *Session) PeerImplementation() string { return s.peerImpl }

// PeerAuthTokens returns the AUTHORIZATION TOKEN values of the peer's SETUP.
func (s *Session) PeerAuthTokens() [][]byte { return s.peerTokens }

// Transport returns "quic" or "webtransport".
func (s *Session) Transport() string { return s.conn.Transport() }

// RemoteAddr returns the peer's address.
func (s *Session) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// IsClient reports whether this end dialled the session.
func (s *Session) IsClient() bool { return s.isClient }

// Context is cancelled, with the reason as its cause, when the session ends.
func (s *Session) Context() context.Context { return s.ctx }

// Err returns why the session ended, or nil while it runs.
func (s *Session) Err() error {
	if s.ctx.Err() == nil {
		return nil
	}
	return context.Cause(s.ctx)
}

// Stats returns the object and payload byte counts sent and received.
// Each count is read atomically; while objects flow, an object's count and
// its bytes may be read on either side of it.
func (s *Session) Stats() (objectsIn, bytesIn, objectsOut, bytesOut uint64) {
	return s.objectsIn.Load(), s.bytesIn.Load(), s.objectsOut.Load(), s.bytesOut.Load()
}

func (s *Session) countIn(n int) {
	s.objectsIn.Add(1)
	s.bytesIn.Add(uint64(n))
}

func (s *Session) countOut(n int) {
	s.objectsOut.Add(1)
	s.bytesOut.Add(uint64(n))
}

// CloseWithError ends the session with a termination code (draft-18 §3.5).
func (s *Session) CloseWithError(code wire.ErrorCode, reason string) error {
	if len(reason) > 1024 {
		reason = reason[:1024]
	}
	// The first close wins: the transport is closed before the session's
	// context is cancelled, so code that reacts to the cancellation (and may
	// close with NO_ERROR) cannot overtake it.
	s.closeOnce.Do(func() {
		s.closeErr = s.conn.CloseWithError(uint64(code), reason)
		s.cancel(&SessionError{Code: code, Reason: reason})
	})
	return s.closeErr
}

// Close ends the session with NO_ERROR.
func (s *Session) Close() error { return s.CloseWithError(wire.ErrNoError, "") }

// newRequestID returns the next request ID of this endpoint (§10.1).
func (s *Session) newRequestID() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.goaway != nil {
		return 0, &RequestError{Code: wire.RequestGoingAway, Reason: "peer sent GOAWAY"}
	}
	id := s.nextRequestID
	s.nextRequestID += 2
	return id, nil
}

// checkPeerRequestID validates a request ID from the peer: parity and
// uniqueness (§10.1); a violation closes the session with INVALID_REQUEST_ID.
func (s *Session) checkPeerRequestID(id uint64) error {
	wantOdd := s.isClient // the server's IDs are odd
	if (id%2 == 1) != wantOdd {
		return &wire.Error{Code: wire.ErrInvalidRequestID, Reason: fmt.Sprintf("request ID %d has the wrong parity", id)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fresh, overflow := s.peerIDs.add(id, 2, 4*s.lim.MaxRequests)
	if overflow {
		return &wire.Error{Code: wire.ErrProtocolViolation, Reason: fmt.Sprintf("limit MaxRequests: more than %d request IDs outstanding", 4*s.lim.MaxRequests)}
	}
	if !fresh {
		return &wire.Error{Code: wire.ErrInvalidRequestID, Reason: fmt.Sprintf("duplicate request ID %d", id)}
	}
	return nil
}

// acceptUniLoop reads unidirectional streams: the peer's control stream
// (starting with SETUP, type 0x2F00) and data streams (§3.4 {#stream-types}).
func (s *Session) acceptUniLoop(ready <-chan struct{}, onControl func(ReceiveStream, *bufio.Reader)) {
	gotControl := false
	for {
		str, err := s.conn.AcceptUniStream(s.ctx)
		if err != nil {
			return
		}
		if gotControl && !s.admitDataStream() {
			str.CancelRead(uint64(wire.ResetExcessiveLoad))
			continue
		}
		var r *bufio.Reader
		if gotControl {
			r = dataReaders.Get().(*bufio.Reader)
			r.Reset(str)
		} else {
			r = bufio.NewReaderSize(str, 4096)
		}
		if !gotControl {
			// Peek the stream type without consuming it: SETUP's type is the
			// control stream's type, and ReadMessage reads it.
			t, err := peekVarint(r)
			if err != nil {
				str.CancelRead(uint64(wire.ResetInternalError))
				continue
			}
			if t == wire.StreamTypeSetup {
				gotControl = true
				go onControl(str, r)
				continue
			}
			if !s.admitDataStream() {
				str.CancelRead(uint64(wire.ResetExcessiveLoad))
				continue
			}
		}
		go s.handleDataStream(str, r, ready)
	}
}

// admitDataStream counts a data stream whose header is still to come, or
// reports false when MaxPendingUniStreams are already waiting: a peer that
// opens streams and sends nothing on them (QUIC lets it open
// MaxIncomingUniStreams) cannot make the session hold a goroutine and a
// buffer for each. The stream is then stopped with EXCESSIVE_LOAD
// (draft-18 §3.3.3 {#stream-reset-codes}).
func (s *Session) admitDataStream() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pendingUni >= s.lim.MaxPendingUniStreams {
		s.log.Debug("moq: data stream refused", "limit", "MaxPendingUniStreams", "max", s.lim.MaxPendingUniStreams)
		return false
	}
	s.pendingUni++
	return true
}

// headerWait bounds the wait for a data stream's header
// (Limits.StreamHeaderTimeout) and counts it among the pending streams
// until arrived is called.
type headerWait struct {
	s    *Session
	str  ReceiveStream
	done bool
}

// start arms the stream's header deadline.
func (h *headerWait) start() {
	h.str.SetReadDeadline(time.Now().Add(h.s.lim.StreamHeaderTimeout))
}

// arrived ends the wait: the header has been read, or the stream is done.
func (h *headerWait) arrived() {
	if h.done {
		return
	}
	h.done = true
	h.str.SetReadDeadline(time.Time{})
	h.s.mu.Lock()
	h.s.pendingUni--
	h.s.mu.Unlock()
}

// timedOut stops the stream if err is its header deadline passing, and
// reports whether it was: a silent data stream is let go, the session goes
// on (draft-18 §3.5: on a data stream timeout an endpoint "MAY send a
// STOP_SENDING on that stream").
func (h *headerWait) timedOut(err error) bool {
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	h.s.log.Debug("moq: data stream stopped", "limit", "StreamHeaderTimeout", "timeout", h.s.lim.StreamHeaderTimeout)
	h.str.CancelRead(uint64(wire.ResetCancelled))
	return true
}

// streamTurn orders the moment data streams add their group to a track.
type streamTurn struct {
	prev, mine chan struct{}
	once       sync.Once
}

// wait blocks until the previous stream took its turn, at most 100 ms.
func (t *streamTurn) wait(ctx context.Context) {
	timer := time.NewTimer(100 * time.Millisecond)
	defer timer.Stop()
	select {
	case <-t.prev:
	case <-timer.C:
	case <-ctx.Done():
	}
}

// done ends this stream's turn.
func (t *streamTurn) done() { t.once.Do(func() { close(t.mine) }) }

// peekVarint returns the stream's first varint without consuming it.
func peekVarint(r *bufio.Reader) (uint64, error) {
	first, err := r.Peek(1)
	if err != nil {
		return 0, err
	}
	n := varintLenFromFirst(first[0])
	b, err := r.Peek(n)
	if err != nil {
		return 0, err
	}
	v, _, err := wire.ParseVarint(b)
	return v, err
}

// dataReaders holds the buffered readers of data streams: one per stream
// would otherwise be allocated for every group received.
var dataReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

func (s *Session) handleDataStream(str ReceiveStream, r *bufio.Reader, ready <-chan struct{}) {
	hw := &headerWait{s: s, str: str}
	defer func() {
		hw.arrived()
		// Every reader of the stream's objects has returned; what it
		// decoded was copied out of r.
		r.Reset(nil)
		dataReaders.Put(r)
	}()
	select {
	case <-ready:
	case <-s.ctx.Done():
		return
	}
	// The stream type and header must arrive within StreamHeaderTimeout
	// (draft-18 §13.6 {#security-timeouts}); the wait for SETUP is bounded
	// on its own (SetupTimeout).
	hw.start()
	typ, err := wire.ReadVarint(r)
	if err != nil {
		if !hw.timedOut(err) {
			str.CancelRead(uint64(wire.ResetInternalError))
		}
		return
	}
	switch {
	case wire.IsSubgroupStreamType(typ):
		s.readSubgroup(str, r, typ, hw)
	case typ == wire.StreamTypeFetch:
		s.readFetchStream(str, r, hw)
	case typ == wire.StreamTypePadding:
		str.CancelRead(uint64(wire.ResetCancelled))
	default:
		s.fail(&wire.Error{Code: wire.ErrProtocolViolation, Reason: fmt.Sprintf("unknown stream type 0x%x", typ)}, "data stream")
	}
}

func (s *Session) acceptBidiLoop() {
	for {
		str, err := s.conn.AcceptStream(s.ctx)
		if err != nil {
			return
		}
		go s.handleRequest(str)
	}
}

func (s *Session) datagramLoop() {
	for {
		b, err := s.conn.ReceiveDatagram(s.ctx)
		if err != nil {
			return
		}
		s.handleDatagram(b)
	}
}

// varintLenFromFirst returns a varint's length from its first byte: the
// count of leading one bits plus one, 9 for 0xFF (draft-18 §1.4.1).
func varintLenFromFirst(c byte) int {
	n := 1
	for mask := byte(0x80); mask != 0 && c&mask != 0; mask >>= 1 {
		n++
	}
	return n
}
