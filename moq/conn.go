package moq

import (
	"context"
	"errors"
	"io"
	"net"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/webtransport-go"
)

// Conn is the transport under a session: a native QUIC connection (draft-18
// §3.1.3 {#native-quic}) or a WebTransport session (§3.1.2 {#webtransport}).
// Both offer bidirectional and unidirectional streams and datagrams with the
// same semantics, so the session code does not know which one it runs on.
type Conn interface {
	OpenStream(ctx context.Context) (Stream, error)
	OpenUniStream(ctx context.Context) (SendStream, error)
	AcceptStream(ctx context.Context) (Stream, error)
	AcceptUniStream(ctx context.Context) (ReceiveStream, error)
	SendDatagram(b []byte) error
	ReceiveDatagram(ctx context.Context) ([]byte, error)
	// CloseWithError closes the connection with a MoQ session termination code
	// (draft-18 §3.5 {#session-termination}).
	CloseWithError(code uint64, reason string) error
	// Context is cancelled when the connection closes.
	Context() context.Context
	RemoteAddr() net.Addr
	LocalAddr() net.Addr
	// Transport names the transport: "quic" or "webtransport".
	Transport() string
}

// SendStream is the sending half of a stream.
type SendStream interface {
	io.Writer
	Close() error
	CancelWrite(code uint64)
	SetWriteDeadline(t time.Time) error
	// SetPriority sets the transport's scheduling urgency, 0 (first) to 7 (last).
	SetPriority(urgency int)
	Context() context.Context
}

// ReceiveStream is the receiving half of a stream.
type ReceiveStream interface {
	io.Reader
	CancelRead(code uint64)
	SetReadDeadline(t time.Time) error
}

// Stream is a bidirectional stream.
type Stream interface {
	SendStream
	ReceiveStream
}

// quicConn adapts a native QUIC connection.
type quicConn struct{ c *quic.Conn }

func (q quicConn) OpenStream(ctx context.Context) (Stream, error) {
	s, err := q.c.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	return quicStream{s}, nil
}

func (q quicConn) OpenUniStream(ctx context.Context) (SendStream, error) {
	s, err := q.c.OpenUniStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	return quicSend{s}, nil
}

func (q quicConn) AcceptStream(ctx context.Context) (Stream, error) {
	s, err := q.c.AcceptStream(ctx)
	if err != nil {
		return nil, err
	}
	return quicStream{s}, nil
}

func (q quicConn) AcceptUniStream(ctx context.Context) (ReceiveStream, error) {
	s, err := q.c.AcceptUniStream(ctx)
	if err != nil {
		return nil, err
	}
	return quicRecv{s}, nil
}

func (q quicConn) SendDatagram(b []byte) error { return q.c.SendDatagram(b) }
func (q quicConn) ReceiveDatagram(ctx context.Context) ([]byte, error) {
	return q.c.ReceiveDatagram(ctx)
}

func (q quicConn) CloseWithError(code uint64, reason string) error {
	return q.c.CloseWithError(quic.ApplicationErrorCode(code), reason)
}
func (q quicConn) Context() context.Context { return q.c.Context() }
func (q quicConn) RemoteAddr() net.Addr     { return q.c.RemoteAddr() }
func (q quicConn) LocalAddr() net.Addr      { return q.c.LocalAddr() }
func (q quicConn) Transport() string        { return "quic" }

type quicStream struct{ s *quic.Stream }

func (q quicStream) Read(b []byte) (int, error)         { return q.s.Read(b) }
func (q quicStream) Write(b []byte) (int, error)        { return q.s.Write(b) }
func (q quicStream) Close() error                       { return q.s.Close() }
func (q quicStream) CancelWrite(code uint64)            { q.s.CancelWrite(quic.StreamErrorCode(code)) }
func (q quicStream) CancelRead(code uint64)             { q.s.CancelRead(quic.StreamErrorCode(code)) }
func (q quicStream) SetWriteDeadline(t time.Time) error { return q.s.SetWriteDeadline(t) }
func (q quicStream) SetReadDeadline(t time.Time) error  { return q.s.SetReadDeadline(t) }
func (q quicStream) SetPriority(u int)                  { q.s.SetPriority(int8(u), false) }
func (q quicStream) Context() context.Context           { return q.s.Context() }

type quicSend struct{ s *quic.SendStream }

func (q quicSend) Write(b []byte) (int, error)        { return q.s.Write(b) }
func (q quicSend) Close() error                       { return q.s.Close() }
func (q quicSend) CancelWrite(code uint64)            { q.s.CancelWrite(quic.StreamErrorCode(code)) }
func (q quicSend) SetWriteDeadline(t time.Time) error { return q.s.SetWriteDeadline(t) }
func (q quicSend) SetPriority(u int)                  { q.s.SetPriority(int8(u), false) }
func (q quicSend) Context() context.Context           { return q.s.Context() }

type quicRecv struct{ s *quic.ReceiveStream }

func (q quicRecv) Read(b []byte) (int, error)        { return q.s.Read(b) }
func (q quicRecv) CancelRead(code uint64)            { q.s.CancelRead(quic.StreamErrorCode(code)) }
func (q quicRecv) SetReadDeadline(t time.Time) error { return q.s.SetReadDeadline(t) }

// wtConn adapts a WebTransport session. WebTransport stream and session
// error codes are 32 bits wide; every MoQ code fits.
type wtConn struct{ s *webtransport.Session }

func (w wtConn) OpenStream(ctx context.Context) (Stream, error) {
	s, err := w.s.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	return wtStream{s}, nil
}

func (w wtConn) OpenUniStream(ctx context.Context) (SendStream, error) {
	s, err := w.s.OpenUniStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	return wtSend{s}, nil
}

func (w wtConn) AcceptStream(ctx context.Context) (Stream, error) {
	s, err := w.s.AcceptStream(ctx)
	if err != nil {
		return nil, err
	}
	return wtStream{s}, nil
}

func (w wtConn) AcceptUniStream(ctx context.Context) (ReceiveStream, error) {
	s, err := w.s.AcceptUniStream(ctx)
	if err != nil {
		return nil, err
	}
	return wtRecv{s}, nil
}

func (w wtConn) SendDatagram(b []byte) error { return w.s.SendDatagram(b) }
func (w wtConn) ReceiveDatagram(ctx context.Context) ([]byte, error) {
	return w.s.ReceiveDatagram(ctx)
}

func (w wtConn) CloseWithError(code uint64, reason string) error {
	return w.s.CloseWithError(webtransport.SessionErrorCode(code), reason)
}
func (w wtConn) Context() context.Context { return w.s.Context() }
func (w wtConn) RemoteAddr() net.Addr     { return w.s.RemoteAddr() }
func (w wtConn) LocalAddr() net.Addr      { return w.s.LocalAddr() }
func (w wtConn) Transport() string        { return "webtransport" }

// closeCause returns why a closed WebTransport session ended: its context is
// cancelled without a cause, but its stream maps keep the close error
// (e.g. the peer's *webtransport.SessionError). Call only once the session's
// context is done.
func (w wtConn) closeCause() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := w.s.AcceptUniStream(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// WebTransport streams offer no priority control in webtransport-go v0.13;
// SetPriority is a no-op there (docs/ARCHITECTURE.md).
type wtStream struct{ s *webtransport.Stream }

func (w wtStream) Read(b []byte) (int, error)  { return w.s.Read(b) }
func (w wtStream) Write(b []byte) (int, error) { return w.s.Write(b) }
func (w wtStream) Close() error                { return w.s.Close() }
func (w wtStream) CancelWrite(code uint64) {
	w.s.CancelWrite(webtransport.StreamErrorCode(code))
}
func (w wtStream) CancelRead(code uint64)             { w.s.CancelRead(webtransport.StreamErrorCode(code)) }
func (w wtStream) SetWriteDeadline(t time.Time) error { return w.s.SetWriteDeadline(t) }
func (w wtStream) SetReadDeadline(t time.Time) error  { return w.s.SetReadDeadline(t) }
func (w wtStream) SetPriority(int)                    {}
func (w wtStream) Context() context.Context           { return w.s.Context() }

type wtSend struct{ s *webtransport.SendStream }

func (w wtSend) Write(b []byte) (int, error) { return w.s.Write(b) }
func (w wtSend) Close() error                { return w.s.Close() }
func (w wtSend) CancelWrite(code uint64) {
	w.s.CancelWrite(webtransport.StreamErrorCode(code))
}
func (w wtSend) SetWriteDeadline(t time.Time) error { return w.s.SetWriteDeadline(t) }
func (w wtSend) SetPriority(int)                    {}
func (w wtSend) Context() context.Context           { return w.s.Context() }

type wtRecv struct{ s *webtransport.ReceiveStream }

func (w wtRecv) Read(b []byte) (int, error)        { return w.s.Read(b) }
func (w wtRecv) CancelRead(code uint64)            { w.s.CancelRead(webtransport.StreamErrorCode(code)) }
func (w wtRecv) SetReadDeadline(t time.Time) error { return w.s.SetReadDeadline(t) }

// closeCode extracts the peer's MoQ termination code and reason from a
// transport error, if it carries one.
func closeCode(err error) (code uint64, reason string, remote bool, ok bool) {
	if ae, isApp := errors.AsType[*quic.ApplicationError](err); isApp {
		return uint64(ae.ErrorCode), ae.ErrorMessage, ae.Remote, true
	}
	if se, isSess := errors.AsType[*webtransport.SessionError](err); isSess {
		return uint64(se.ErrorCode), se.Message, se.Remote, true
	}
	return 0, "", false, false
}

// streamResetCode extracts the code of a stream reset or STOP_SENDING.
func streamResetCode(err error) (uint64, bool) {
	if se, ok := errors.AsType[*quic.StreamError](err); ok {
		return uint64(se.ErrorCode), true
	}
	if se, ok := errors.AsType[*webtransport.StreamError](err); ok {
		return uint64(se.ErrorCode), true
	}
	return 0, false
}
