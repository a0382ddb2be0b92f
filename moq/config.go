package moq

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// Limits bounds what a peer can make a session hold. Every peer-controlled
// size and count is checked against these before allocating; a violation
// closes that session (never others) with the draft's code and a log line
// naming the peer and the limit.
type Limits struct {
	// Wire bounds message lengths, namespace fields, names and payloads.
	Wire *wire.Limits
	// MaxRequests bounds concurrent requests a peer may open (its bidirectional
	// streams, one per request, draft-18 §3.3 {#session-init}).
	MaxRequests int
	// MaxIncomingUniStreams bounds concurrent data streams from the peer.
	MaxIncomingUniStreams int
	// MaxSubscriptionBytes bounds the bytes buffered for one subscription
	// (the cache of its track).
	MaxSubscriptionBytes int64
	// MaxSubscriptions bounds the subscriptions a peer may hold at once.
	MaxSubscriptions int
	// SetupTimeout bounds the wait for the peer's SETUP.
	SetupTimeout time.Duration
	// RequestTimeout bounds the wait for a response to a request.
	RequestTimeout time.Duration
	// UnknownAliasWait bounds how long data for a not yet known track alias
	// is held before it is dropped (draft-18 §11.1 {#track-alias}).
	UnknownAliasWait time.Duration
	// MaxGroupsInFlight bounds the groups of one subscription being sent at
	// once; older groups are reset when a newer one would exceed it.
	MaxGroupsInFlight int
	// MessageTimeout bounds how long the rest of a control message may take
	// once its first byte has arrived (a message whose Length promises more
	// than the peer sends), and how long the first message of a request
	// stream the peer opened may take. Past it the session is closed with
	// CONTROL_MESSAGE_TIMEOUT (draft-18 §3.5 {#session-termination}, §13.6
	// {#security-timeouts}). Waiting for the next message is not bounded.
	MessageTimeout time.Duration
	// StreamHeaderTimeout bounds how long a data stream's type and header
	// may take to arrive once the session is set up; past it the stream is
	// stopped (STOP_SENDING, as draft-18 §3.5 DATA_STREAM_TIMEOUT allows)
	// and the session goes on.
	StreamHeaderTimeout time.Duration
	// MaxPendingUniStreams bounds the peer's data streams whose header has
	// not arrived yet; a stream beyond it is stopped with EXCESSIVE_LOAD
	// (draft-18 §3.3.3 {#stream-reset-codes}, §13.5).
	MaxPendingUniStreams int
	// IdleTimeout closes a server-side session that has had nothing open
	// for this long: no request from the peer being served (a subscription,
	// a fetch, a published namespace or track, a namespace subscription)
	// and none begun, and no subscription, fetch or publication of its own.
	// Transport keep-alives do not count. The session is closed with
	// NO_ERROR and a reason saying why (draft-18 §13.6.1 leaves idle
	// handling to the implementation). Negative disables it; client
	// sessions ignore it.
	IdleTimeout time.Duration
}

// DefaultLimits returns the limits used when a Config sets none.
func DefaultLimits() *Limits {
	return &Limits{
		Wire:                  wire.DefaultLimits(),
		MaxRequests:           256,
		MaxIncomingUniStreams: 1024,
		MaxSubscriptionBytes:  64 << 20,
		MaxSubscriptions:      128,
		SetupTimeout:          10 * time.Second,
		RequestTimeout:        10 * time.Second,
		UnknownAliasWait:      2 * time.Second,
		MaxGroupsInFlight:     4,
		MessageTimeout:        10 * time.Second,
		StreamHeaderTimeout:   10 * time.Second,
		MaxPendingUniStreams:  64,
		IdleTimeout:           30 * time.Second,
	}
}

// Config configures a session, client or server side.
type Config struct {
	// Versions lists the drafts to offer, preferred first (default: 19, 18).
	Versions []wire.Version
	// Limits bounds what the peer can make this session hold.
	Limits *Limits
	// AuthToken, if set, is sent in SETUP as an AUTHORIZATION TOKEN of
	// type 0 (negotiated out of band), draft-18 §10.3.1.4 {#setup-auth-token}.
	AuthToken []byte
	// MoreAuthTokens are sent in SETUP after AuthToken, each an
	// AUTHORIZATION TOKEN of type 0 (a relay sends its grant and its relay
	// proof).
	MoreAuthTokens [][]byte
	// Implementation is sent as MOQT IMPLEMENTATION (draft-18 §10.3.1.5).
	Implementation string
	// Logger receives the session's logs; nil uses slog.Default.
	Logger *slog.Logger

	// Accept vets a peer's SETUP on a server: return an error to refuse the
	// session (it is closed with UNAUTHORIZED, or the *SessionError's code).
	Accept func(s *Session) error
	// Authorities, if set, are the URI authorities a server serves
	// ("host" or "host:port"; an entry without a port matches the host on
	// any port, hosts compare case-insensitively). A session whose
	// authority (the AUTHORITY setup option on native QUIC, the request's
	// authority on WebTransport) names another is refused with
	// INVALID_AUTHORITY, one that is not an authority at all with
	// MALFORMED_AUTHORITY (draft-18 and -19 §10.3.1.1 {#authority}). A
	// native QUIC client that sends no AUTHORITY is not checked. Empty
	// accepts every authority.
	Authorities []string

	// idleProbe, set by tests, is called after each idle check of a
	// server-side session with whether the session was found idle.
	idleProbe func(s *Session, idle bool)

	// Tracks resolves incoming SUBSCRIBE, FETCH and TRACK_STATUS requests;
	// nil answers DOES_NOT_EXIST.
	Tracks TrackSource
	// OnPublishNamespace is called for an incoming PUBLISH_NAMESPACE
	// (draft-18 §10.15). Returning an error refuses it; otherwise ctx is
	// cancelled when the peer withdraws the namespace or the session ends.
	// RequestAuthTokens(ctx) returns the request's AUTHORIZATION TOKENs.
	OnPublishNamespace func(ctx context.Context, s *Session, ns wire.Namespace) error
	// OnPublish is called for an incoming PUBLISH (draft-18 §10.10) with the
	// track the session feeds from it. Returning an error refuses it.
	// RequestAuthTokens(ctx) returns the request's AUTHORIZATION TOKENs.
	OnPublish func(ctx context.Context, s *Session, t *Track) error
	// OnSubscribeNamespace is called for an incoming SUBSCRIBE_NAMESPACE
	// (draft-18 §10.18). The session sends NAMESPACE / NAMESPACE_DONE for
	// each event until the channel closes or ctx is cancelled.
	OnSubscribeNamespace func(ctx context.Context, s *Session, prefix wire.Namespace) (<-chan NamespaceEvent, error)
}

// TrackSource resolves a track requested by a peer.
type TrackSource interface {
	// Track returns the track, or an error: a *RequestError is sent as is,
	// any other error as INTERNAL_ERROR.
	Track(ctx context.Context, s *Session, req *TrackRequest) (*Track, error)
}

// TrackSourceFunc adapts a function to TrackSource.
type TrackSourceFunc func(ctx context.Context, s *Session, req *TrackRequest) (*Track, error)

// Track calls f.
func (f TrackSourceFunc) Track(ctx context.Context, s *Session, req *TrackRequest) (*Track, error) {
	return f(ctx, s, req)
}

// TrackRequest describes an incoming request for a track.
type TrackRequest struct {
	// Name is the requested track.
	Name wire.FullTrackName
	// Kind is "subscribe", "fetch" or "track_status".
	Kind string
	// AuthTokens are the request's AUTHORIZATION TOKEN values, resolved.
	AuthTokens [][]byte
}

// RequestAuthTokens returns the AUTHORIZATION TOKEN values (resolved, as
// in TrackRequest.AuthTokens) of the PUBLISH_NAMESPACE or PUBLISH whose
// Config.OnPublishNamespace or Config.OnPublish got ctx; nil otherwise.
func RequestAuthTokens(ctx context.Context) [][]byte {
	t, _ := ctx.Value(requestTokensKey{}).([][]byte)
	return t
}

// requestTokensKey keys a request's AUTHORIZATION TOKEN values in the
// context of OnPublishNamespace and OnPublish.
type requestTokensKey struct{}

// NamespaceEvent announces a namespace appearing (Active) or going away.
type NamespaceEvent struct {
	Namespace wire.Namespace
	Active    bool
}

// RequestError is a REQUEST_ERROR (draft-18 §10.6 {#message-request-error}),
// returned by request methods when the peer refuses, and returned by handlers
// to refuse a peer's request.
type RequestError struct {
	Code          wire.RequestErrorCode
	Reason        string
	RetryInterval time.Duration
}

func (e *RequestError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("moq: request refused: %v", e.Code)
	}
	return fmt.Sprintf("moq: request refused: %v: %s", e.Code, e.Reason)
}

// Is matches another *RequestError with the same code.
func (e *RequestError) Is(target error) bool {
	t, ok := target.(*RequestError)
	return ok && t.Code == e.Code
}

// SessionError is how a session ended: the termination code (draft-18 §3.5
// {#session-termination}), the reason, and whether the peer closed it.
type SessionError struct {
	Code   wire.ErrorCode
	Reason string
	Remote bool
}

func (e *SessionError) Error() string {
	who := "local"
	if e.Remote {
		who = "peer"
	}
	if e.Reason == "" {
		return fmt.Sprintf("moq: session closed by %s: %v", who, e.Code)
	}
	return fmt.Sprintf("moq: session closed by %s: %v: %s", who, e.Code, e.Reason)
}

// Is matches another *SessionError with the same code.
func (e *SessionError) Is(target error) bool {
	t, ok := target.(*SessionError)
	return ok && t.Code == e.Code
}

func (c *Config) limits() *Limits {
	d := DefaultLimits()
	if c == nil || c.Limits == nil {
		return d
	}
	l := *c.Limits
	if l.Wire == nil {
		l.Wire = d.Wire
	}
	if l.MaxRequests <= 0 {
		l.MaxRequests = d.MaxRequests
	}
	if l.MaxIncomingUniStreams <= 0 {
		l.MaxIncomingUniStreams = d.MaxIncomingUniStreams
	}
	if l.MaxSubscriptionBytes <= 0 {
		l.MaxSubscriptionBytes = d.MaxSubscriptionBytes
	}
	if l.MaxSubscriptions <= 0 {
		l.MaxSubscriptions = d.MaxSubscriptions
	}
	if l.SetupTimeout <= 0 {
		l.SetupTimeout = d.SetupTimeout
	}
	if l.RequestTimeout <= 0 {
		l.RequestTimeout = d.RequestTimeout
	}
	if l.UnknownAliasWait <= 0 {
		l.UnknownAliasWait = d.UnknownAliasWait
	}
	if l.MaxGroupsInFlight <= 0 {
		l.MaxGroupsInFlight = d.MaxGroupsInFlight
	}
	if l.MessageTimeout <= 0 {
		l.MessageTimeout = d.MessageTimeout
	}
	if l.StreamHeaderTimeout <= 0 {
		l.StreamHeaderTimeout = d.StreamHeaderTimeout
	}
	if l.MaxPendingUniStreams <= 0 {
		l.MaxPendingUniStreams = d.MaxPendingUniStreams
	}
	if l.IdleTimeout == 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	return &l
}
