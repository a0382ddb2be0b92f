package wire

import (
	"errors"
	"fmt"
)

// ErrorCode is a session termination error code,
// draft-ietf-moq-transport-18 §3.5 {#session-termination} and §15.10.1
// {#iana-session-termination}. An ErrorCode is itself an error, so
// errors.Is(err, ErrProtocolViolation) matches any *Error with that code.
type ErrorCode uint64

// Session termination error codes (drafts 18 and 19).
const (
	ErrNoError                  ErrorCode = 0x0
	ErrInternal                 ErrorCode = 0x1
	ErrUnauthorized             ErrorCode = 0x2
	ErrProtocolViolation        ErrorCode = 0x3
	ErrInvalidRequestID         ErrorCode = 0x4
	ErrDuplicateTrackAlias      ErrorCode = 0x5
	ErrKeyValueFormatting       ErrorCode = 0x6
	ErrInvalidPath              ErrorCode = 0x8
	ErrMalformedPath            ErrorCode = 0x9
	ErrGoAwayTimeout            ErrorCode = 0x10
	ErrControlMessageTimeout    ErrorCode = 0x11
	ErrDataStreamTimeout        ErrorCode = 0x12
	ErrAuthTokenCacheOverflow   ErrorCode = 0x13
	ErrDuplicateAuthTokenAlias  ErrorCode = 0x14
	ErrVersionNegotiationFailed ErrorCode = 0x15
	ErrMalformedAuthToken       ErrorCode = 0x16
	ErrUnknownAuthTokenAlias    ErrorCode = 0x17
	ErrExpiredAuthToken         ErrorCode = 0x18
	ErrInvalidAuthority         ErrorCode = 0x19
	ErrMalformedAuthority       ErrorCode = 0x1A
	// ErrTooManyRequestUpdates exists from draft-19 on (§3.5, MAX_REQUEST_UPDATES).
	ErrTooManyRequestUpdates ErrorCode = 0x1B
)

var errorCodeNames = map[ErrorCode]string{
	ErrNoError: "NO_ERROR", ErrInternal: "INTERNAL_ERROR", ErrUnauthorized: "UNAUTHORIZED",
	ErrProtocolViolation: "PROTOCOL_VIOLATION", ErrInvalidRequestID: "INVALID_REQUEST_ID",
	ErrDuplicateTrackAlias: "DUPLICATE_TRACK_ALIAS", ErrKeyValueFormatting: "KEY_VALUE_FORMATTING_ERROR",
	ErrInvalidPath: "INVALID_PATH", ErrMalformedPath: "MALFORMED_PATH", ErrGoAwayTimeout: "GOAWAY_TIMEOUT",
	ErrControlMessageTimeout: "CONTROL_MESSAGE_TIMEOUT", ErrDataStreamTimeout: "DATA_STREAM_TIMEOUT",
	ErrAuthTokenCacheOverflow: "AUTH_TOKEN_CACHE_OVERFLOW", ErrDuplicateAuthTokenAlias: "DUPLICATE_AUTH_TOKEN_ALIAS",
	ErrVersionNegotiationFailed: "VERSION_NEGOTIATION_FAILED", ErrMalformedAuthToken: "MALFORMED_AUTH_TOKEN",
	ErrUnknownAuthTokenAlias: "UNKNOWN_AUTH_TOKEN_ALIAS", ErrExpiredAuthToken: "EXPIRED_AUTH_TOKEN",
	ErrInvalidAuthority: "INVALID_AUTHORITY", ErrMalformedAuthority: "MALFORMED_AUTHORITY",
	ErrTooManyRequestUpdates: "TOO_MANY_REQUEST_UPDATES",
}

// String returns the draft's name of the code, e.g. "PROTOCOL_VIOLATION".
func (c ErrorCode) String() string {
	if s, ok := errorCodeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("ERROR_0x%x", uint64(c))
}

// Error makes an ErrorCode usable as a sentinel error.
func (c ErrorCode) Error() string { return "moq: " + c.String() }

// Error is a protocol error that closes the session with Code.
// Decoders return it for every malformed or over-limit input.
type Error struct {
	Code   ErrorCode
	Reason string
	err    error
}

// Error returns "moq: CODE: reason".
func (e *Error) Error() string {
	if e.err != nil {
		return fmt.Sprintf("moq: %s: %s: %v", e.Code.String(), e.Reason, e.err)
	}
	return fmt.Sprintf("moq: %s: %s", e.Code.String(), e.Reason)
}

// Unwrap returns the underlying cause, if any (e.g. io.ErrUnexpectedEOF).
func (e *Error) Unwrap() error { return e.err }

// Is matches an ErrorCode target, or an *Error target with the same code.
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case ErrorCode:
		return e.Code == t
	case *Error:
		return t != nil && e.Code == t.Code
	}
	return false
}

// newError returns an *Error with a formatted reason.
func newError(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// protocolViolation returns a PROTOCOL_VIOLATION *Error.
func protocolViolation(format string, args ...any) *Error {
	return newError(ErrProtocolViolation, format, args...)
}

// truncated returns a PROTOCOL_VIOLATION for input that ended inside a field.
func truncated(what string) *Error {
	return &Error{Code: ErrProtocolViolation, Reason: "truncated " + what, err: errUnexpectedEOF}
}

// limitExceeded returns a PROTOCOL_VIOLATION naming the Limits field that was exceeded.
func limitExceeded(limit string, got uint64, max int) *Error {
	return newError(ErrProtocolViolation, "%s: %d exceeds limit %s=%d", limit, got, limit, max)
}

// CodeOf returns the session error code carried by err, and false if err
// carries none.
func CodeOf(err error) (ErrorCode, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, true
	}
	var c ErrorCode
	if errors.As(err, &c) {
		return c, true
	}
	return 0, false
}

// RequestErrorCode is a REQUEST_ERROR code,
// draft-ietf-moq-transport-18 §10.6 {#message-request-error} and §15.10.2 {#iana-request-error}.
type RequestErrorCode uint64

// REQUEST_ERROR codes.
const (
	RequestInternalError   RequestErrorCode = 0x0
	RequestUnauthorized    RequestErrorCode = 0x1
	RequestTimeout         RequestErrorCode = 0x2
	RequestNotSupported    RequestErrorCode = 0x3
	RequestMalformedAuth   RequestErrorCode = 0x4
	RequestExpiredAuth     RequestErrorCode = 0x5
	RequestGoingAway       RequestErrorCode = 0x6
	RequestExcessiveLoad   RequestErrorCode = 0x9
	RequestDoesNotExist    RequestErrorCode = 0x10
	RequestInvalidRange    RequestErrorCode = 0x11
	RequestMalformedTrack  RequestErrorCode = 0x12
	RequestUninterested    RequestErrorCode = 0x20
	RequestPrefixOverlap   RequestErrorCode = 0x30
	RequestNamespaceTooBig RequestErrorCode = 0x31
	// RequestInvalidJoiningRequestID answers a Joining FETCH for no Established subscription.
	RequestInvalidJoiningRequestID RequestErrorCode = 0x32
	RequestUnsupportedExtension    RequestErrorCode = 0x33
	RequestRedirect                RequestErrorCode = 0x34
	// RequestDuplicateSubscription is draft-18 only (removed in draft-19).
	RequestDuplicateSubscription RequestErrorCode = 0x19
	// RequestConflictingFilters is draft-19 only.
	RequestConflictingFilters RequestErrorCode = 0x35
	// RequestInvalidFilter is draft-19 only.
	RequestInvalidFilter RequestErrorCode = 0x36
)

var requestErrorNames = map[RequestErrorCode]string{
	RequestInternalError: "INTERNAL_ERROR", RequestUnauthorized: "UNAUTHORIZED", RequestTimeout: "TIMEOUT",
	RequestNotSupported: "NOT_SUPPORTED", RequestMalformedAuth: "MALFORMED_AUTH_TOKEN",
	RequestExpiredAuth: "EXPIRED_AUTH_TOKEN", RequestGoingAway: "GOING_AWAY", RequestExcessiveLoad: "EXCESSIVE_LOAD",
	RequestDoesNotExist: "DOES_NOT_EXIST", RequestInvalidRange: "INVALID_RANGE", RequestMalformedTrack: "MALFORMED_TRACK",
	RequestUninterested: "UNINTERESTED", RequestPrefixOverlap: "PREFIX_OVERLAP", RequestNamespaceTooBig: "NAMESPACE_TOO_LARGE",
	RequestInvalidJoiningRequestID: "INVALID_JOINING_REQUEST_ID", RequestUnsupportedExtension: "UNSUPPORTED_EXTENSION",
	RequestRedirect: "REDIRECT", RequestDuplicateSubscription: "DUPLICATE_SUBSCRIPTION",
	RequestConflictingFilters: "CONFLICTING_FILTERS", RequestInvalidFilter: "INVALID_FILTER",
}

// String returns the draft's name of the code.
func (c RequestErrorCode) String() string {
	if s, ok := requestErrorNames[c]; ok {
		return s
	}
	return fmt.Sprintf("REQUEST_ERROR_0x%x", uint64(c))
}

// PublishDoneCode is a PUBLISH_DONE status code,
// draft-ietf-moq-transport-18 §10.11 {#message-publish-done} and §15.10.3 {#iana-publish-done}.
type PublishDoneCode uint64

// PUBLISH_DONE status codes.
const (
	DoneInternalError     PublishDoneCode = 0x0
	DoneUnauthorized      PublishDoneCode = 0x1
	DoneTrackEnded        PublishDoneCode = 0x2
	DoneSubscriptionEnded PublishDoneCode = 0x3
	DoneGoingAway         PublishDoneCode = 0x4
	DoneTooFarBehind      PublishDoneCode = 0x5
	DoneExpired           PublishDoneCode = 0x6
	DoneUpdateFailed      PublishDoneCode = 0x8
	DoneExcessiveLoad     PublishDoneCode = 0x9
	DoneMalformedTrack    PublishDoneCode = 0x12
)

var publishDoneNames = map[PublishDoneCode]string{
	DoneInternalError: "INTERNAL_ERROR", DoneUnauthorized: "UNAUTHORIZED", DoneTrackEnded: "TRACK_ENDED",
	DoneSubscriptionEnded: "SUBSCRIPTION_ENDED", DoneGoingAway: "GOING_AWAY", DoneTooFarBehind: "TOO_FAR_BEHIND",
	DoneExpired: "EXPIRED", DoneUpdateFailed: "UPDATE_FAILED", DoneExcessiveLoad: "EXCESSIVE_LOAD",
	DoneMalformedTrack: "MALFORMED_TRACK",
}

// String returns the draft's name of the code.
func (c PublishDoneCode) String() string {
	if s, ok := publishDoneNames[c]; ok {
		return s
	}
	return fmt.Sprintf("PUBLISH_DONE_0x%x", uint64(c))
}

// ResetCode is an application error code for RESET_STREAM and STOP_SENDING,
// draft-ietf-moq-transport-18 §3.3.3 {#stream-reset-codes} and §15.10.4 {#iana-reset-stream}.
type ResetCode uint64

// Stream reset error codes.
const (
	ResetInternalError       ResetCode = 0x0
	ResetCancelled           ResetCode = 0x1
	ResetDeliveryTimeout     ResetCode = 0x2
	ResetSessionClosed       ResetCode = 0x3
	ResetGoingAway           ResetCode = 0x4
	ResetTooFarBehind        ResetCode = 0x5
	ResetUnknownObjectStatus ResetCode = 0x6
	ResetExpiredAuthToken    ResetCode = 0x7
	ResetExcessiveLoad       ResetCode = 0x9
	ResetMalformedTrack      ResetCode = 0x12
)

var resetNames = map[ResetCode]string{
	ResetInternalError: "INTERNAL_ERROR", ResetCancelled: "CANCELLED", ResetDeliveryTimeout: "DELIVERY_TIMEOUT",
	ResetSessionClosed: "SESSION_CLOSED", ResetGoingAway: "GOING_AWAY", ResetTooFarBehind: "TOO_FAR_BEHIND",
	ResetUnknownObjectStatus: "UNKNOWN_OBJECT_STATUS", ResetExpiredAuthToken: "EXPIRED_AUTH_TOKEN",
	ResetExcessiveLoad: "EXCESSIVE_LOAD", ResetMalformedTrack: "MALFORMED_TRACK",
}

// String returns the draft's name of the code.
func (c ResetCode) String() string {
	if s, ok := resetNames[c]; ok {
		return s
	}
	return fmt.Sprintf("RESET_0x%x", uint64(c))
}
