package fedi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"

	"github.com/mattn/go-mastodon"
	"golang.org/x/oauth2"

	"github.com/tributary-live/tributary/fedi/internal/safehttp"
)

// ErrorKind says what went wrong, in terms a user can act on.
type ErrorKind int

// The kinds of Error.
const (
	// KindOther is an error of no more specific kind.
	KindOther ErrorKind = iota
	// KindBadHandle: the typed account or server is not understood.
	KindBadHandle
	// KindUnreachable: the server could not be reached or did not answer.
	KindUnreachable
	// KindTLS: the server's certificate was not accepted.
	KindTLS
	// KindNotFound: the account or object does not exist.
	KindNotFound
	// KindNotMastodon: the server does not offer the Mastodon client API.
	KindNotMastodon
	// KindUnauthorized: the server no longer accepts the stored sign-in
	// (revoked, expired, or the account was suspended).
	KindUnauthorized
	// KindDenied: the user declined the authorization in the browser.
	KindDenied
	// KindNotCompleted: the sign-in in the browser was not finished in time
	// or was cancelled (for example after a wrong password).
	KindNotCompleted
	// KindBadCode: the server did not accept the authorization code.
	KindBadCode
	// KindRateLimited: the server asked to slow down (429).
	KindRateLimited
	// KindInsecure: a URL was not https.
	KindInsecure
	// KindBlocked: a URL named by a post points at a private address.
	KindBlocked
	// KindServer: the server failed or answered something unexpected.
	KindServer
	// KindNotSignedIn: no such account is signed in on this device.
	KindNotSignedIn
	// KindInvalid: the request made by the caller is not valid.
	KindInvalid
)

// Error is the error type of the fedi package: a kind, the server it
// concerns, a sentence for the user, and the underlying cause.
type Error struct {
	// Kind classifies the error.
	Kind ErrorKind
	// Op is what was being done ("sign in", "announce" ...).
	Op string
	// Host is the server concerned, if any.
	Host string
	// Message is a complete sentence for the user.
	Message string
	// Err is the underlying cause (never contains a token).
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("fedi: %s: %s (%v)", e.Op, e.Message, e.Err)
	}
	return fmt.Sprintf("fedi: %s: %s", e.Op, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// UserMessage returns the sentence to show a user for err: the Message of
// an *Error, or a generic sentence.
func UserMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "Something went wrong: " + err.Error()
}

// KindOf returns the kind of err (KindOther if it is not an *Error).
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindOther
}

// ErrNotRevoked is wrapped by SignOut's error when the account was removed
// from this device but its server could not be asked to revoke the token.
var ErrNotRevoked = errors.New("token not revoked by the server")

// newError builds an *Error with the message for its kind.
func newError(kind ErrorKind, op, host string, err error) *Error {
	return &Error{Kind: kind, Op: op, Host: host, Message: message(kind, host, err), Err: err}
}

func message(kind ErrorKind, host string, err error) string {
	h := host
	if h == "" {
		h = "the server"
	}
	switch kind {
	case KindBadHandle:
		return "That is not an account or server address. Type it as name@example.social or example.social."
	case KindUnreachable:
		return fmt.Sprintf("Could not reach %s. Check the address and your internet connection, then try again.", h)
	case KindTLS:
		return fmt.Sprintf("The secure connection to %s failed: its certificate is not valid.", h)
	case KindNotFound:
		return fmt.Sprintf("%s does not know that account or post.", h)
	case KindNotMastodon:
		return fmt.Sprintf("%s does not look like a Mastodon-compatible server (Mastodon, GoToSocial, Akkoma, Pleroma ...).", h)
	case KindUnauthorized:
		return fmt.Sprintf("%s no longer accepts this sign-in: it was revoked or has expired. Please sign in again.", h)
	case KindDenied:
		return fmt.Sprintf("Sign-in was cancelled: access was not granted at %s.", h)
	case KindNotCompleted:
		return fmt.Sprintf("Sign-in at %s was not finished in the browser. If the server said the password was wrong, try again.", h)
	case KindBadCode:
		return fmt.Sprintf("%s did not accept the sign-in code. Copy the whole code and try again.", h)
	case KindRateLimited:
		var rl *safehttp.RateLimitError
		if errors.As(err, &rl) && rl.RetryAfter > 0 {
			return fmt.Sprintf("%s asks to slow down. Try again in %s.", h, rl.RetryAfter.Round(1e9))
		}
		return fmt.Sprintf("%s asks to slow down. Try again in a minute.", h)
	case KindInsecure:
		return fmt.Sprintf("%s can only be used over https.", h)
	case KindBlocked:
		return fmt.Sprintf("Refused to connect to %s: it points at a private network address.", h)
	case KindServer:
		return fmt.Sprintf("%s answered with an error. Try again later.", h)
	case KindNotSignedIn:
		return "That account is not signed in on this device."
	case KindInvalid:
		if err != nil {
			return "Invalid request: " + err.Error()
		}
		return "Invalid request."
	}
	return fmt.Sprintf("Something went wrong with %s.", h)
}

// wrap classifies err from talking to host and returns an *Error (or err
// itself if it already is one).
func wrap(op, host string, err error) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return err
	}
	return newError(kindOfCause(err), op, host, err)
}

func kindOfCause(err error) ErrorKind {
	var (
		rl   *safehttp.RateLimitError
		api  *mastodon.APIError
		re   *oauth2.RetrieveError
		ue   x509.UnknownAuthorityError
		he   x509.HostnameError
		ce   x509.CertificateInvalidError
		cve  *tls.CertificateVerificationError
		dnse *net.DNSError
		oe   *net.OpError
		urle *url.Error
	)
	switch {
	case errors.As(err, &rl):
		return KindRateLimited
	case errors.Is(err, safehttp.ErrInsecureScheme):
		return KindInsecure
	case errors.Is(err, safehttp.ErrBlockedAddress):
		return KindBlocked
	case errors.As(err, &api):
		switch {
		case api.StatusCode == 401 || api.StatusCode == 403:
			return KindUnauthorized
		case api.StatusCode == 404:
			return KindNotFound
		case api.StatusCode == 429:
			return KindRateLimited
		}
		return KindServer
	case errors.As(err, &re):
		// The token endpoint is only used to exchange a code: a client
		// error (RFC 6749 section 5.2, 400 or 401) means the code was refused.
		if re.ErrorCode == "invalid_grant" || re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 && re.Response.StatusCode != 429 {
			return KindBadCode
		}
		return KindServer
	case errors.As(err, &ue), errors.As(err, &he), errors.As(err, &ce), errors.As(err, &cve):
		return KindTLS
	case errors.Is(err, context.Canceled):
		return KindOther
	case errors.Is(err, context.DeadlineExceeded):
		return KindUnreachable
	case errors.As(err, &dnse), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.ECONNRESET), errors.As(err, &oe):
		return KindUnreachable
	case errors.As(err, &urle) && urle.Timeout():
		return KindUnreachable
	}
	return KindOther
}
