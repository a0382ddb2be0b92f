package relay

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// Tokens travel in the AUTHORIZATION TOKEN setup option or request parameter
// (draft-ietf-moq-transport-18 §9.2.1.4 {#setup-auth-token}, §9.2.2
// {#authorization-token}) as token type 0, "negotiated out of band". This
// relay understands two kinds, told apart by their prefix:
//
//	trb1.<base64url(JSON claims)>.<base64url(HMAC-SHA256(secret, "trb1."+claims))>
//	    a grant signed by the relay's secret: who the holder is, which
//	    namespace prefixes it may publish, whether it may watch, whether it
//	    is a peer relay; see Claims.
//	moq-relay-path:<name>,<name>,...
//	    the relays a SUBSCRIBE has already passed through (loop detection,
//	    after the HOP_PATH of draft-lcurley-moq-cluster); see docs/RELAY.md.
//
// Other tokens are ignored: they grant nothing.

// Token limits: checked before any decoding.
const (
	// MaxTokenBytes bounds a token this relay decodes.
	MaxTokenBytes = 4096
	// MaxHops bounds the relays a subscription may cross (path token entries).
	MaxHops = 16
	// maxNameBytes bounds one relay name in a path token.
	maxNameBytes = 253
)

const (
	grantPrefix = "trb1."
	pathPrefix  = "moq-relay-path:"
)

// Errors of token verification.
var (
	// ErrMalformedToken is returned for a token that cannot be decoded or
	// whose signature does not match.
	ErrMalformedToken = errors.New("relay: malformed or forged token")
	// ErrExpiredToken is returned for a well-signed token past its expiry.
	ErrExpiredToken = errors.New("relay: token expired")
)

// Claims are what a signed token grants its holder.
type Claims struct {
	// Subject names the holder: a user ("alice") or, with Relay, a relay's name.
	Subject string `json:"sub"`
	// Publish lists namespace prefixes the holder may publish under, each a
	// path of fields ("example.social/alice"); "*" allows any namespace.
	Publish []string `json:"pub,omitempty"`
	// Watch allows subscribing under the "community" watch policy.
	Watch bool `json:"watch,omitempty"`
	// Relay marks a peer relay: it may subscribe on behalf of its own viewers.
	Relay bool `json:"relay,omitempty"`
	// Expires is the Unix time after which the token is refused (0: never).
	Expires int64 `json:"exp,omitempty"`
}

// MayPublish reports whether the claims allow publishing ns.
func (c *Claims) MayPublish(ns wire.Namespace) bool {
	for _, p := range c.Publish {
		if p == "*" {
			return true
		}
		if prefix := pathNamespace(p); len(prefix) > 0 && ns.HasPrefix(prefix) {
			return true
		}
	}
	return false
}

// pathNamespace turns "a/b/c" into the namespace (a, b, c).
func pathNamespace(p string) wire.Namespace {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return wire.NewNamespace(strings.Split(p, "/")...)
}

// namespacePath turns a namespace into its path form "a/b/c" (the form of
// /watch/ URLs and of token publish prefixes).
func namespacePath(ns wire.Namespace) string {
	parts := make([]string, len(ns))
	for i, f := range ns {
		parts[i] = string(f)
	}
	return strings.Join(parts, "/")
}

// MintToken signs claims with secret.
func MintToken(secret []byte, c Claims) (string, error) {
	if len(secret) < 16 {
		return "", errors.New("relay: token secret must be at least 16 bytes")
	}
	body, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("relay: encode claims: %w", err)
	}
	payload := grantPrefix + base64.RawURLEncoding.EncodeToString(body)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(payload))
	tok := payload + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if len(tok) > MaxTokenBytes {
		return "", fmt.Errorf("relay: token of %d bytes exceeds %d", len(tok), MaxTokenBytes)
	}
	return tok, nil
}

// VerifyToken checks a signed token against secret at time now and returns
// its claims. It returns ErrMalformedToken or ErrExpiredToken (wrapped).
func VerifyToken(secret []byte, tok []byte, now time.Time) (*Claims, error) {
	if len(tok) > MaxTokenBytes || !bytes.HasPrefix(tok, []byte(grantPrefix)) || len(secret) == 0 {
		return nil, ErrMalformedToken
	}
	dot := bytes.LastIndexByte(tok, '.')
	if dot <= len(grantPrefix) {
		return nil, ErrMalformedToken
	}
	payload, sig := tok[:dot], tok[dot+1:]
	got := make([]byte, base64.RawURLEncoding.DecodedLen(len(sig)))
	n, err := base64.RawURLEncoding.Decode(got, sig)
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %w", ErrMalformedToken, err)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(payload)
	if !hmac.Equal(got[:n], mac.Sum(nil)) {
		return nil, fmt.Errorf("%w: bad signature", ErrMalformedToken)
	}
	body, err := base64.RawURLEncoding.DecodeString(string(payload[len(grantPrefix):]))
	if err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrMalformedToken, err)
	}
	var c Claims
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, fmt.Errorf("%w: claims: %w", ErrMalformedToken, err)
	}
	if c.Expires != 0 && now.Unix() > c.Expires {
		return nil, fmt.Errorf("%w: at %s", ErrExpiredToken, time.Unix(c.Expires, 0).UTC().Format(time.RFC3339))
	}
	return &c, nil
}

// isGrant reports whether tok looks like a signed grant.
func isGrant(tok []byte) bool { return bytes.HasPrefix(tok, []byte(grantPrefix)) }

// pathToken encodes a relay path for the AUTHORIZATION TOKEN of an upstream
// SUBSCRIBE.
func pathToken(hops []string) []byte {
	return []byte(pathPrefix + strings.Join(hops, ","))
}

// parsePath decodes a relay path token. ok is false when tok is not a path
// token; err is set when it is one but malformed or too long.
func parsePath(tok []byte) (hops []string, ok bool, err error) {
	if !bytes.HasPrefix(tok, []byte(pathPrefix)) {
		return nil, false, nil
	}
	if len(tok) > MaxTokenBytes {
		return nil, true, fmt.Errorf("relay path token of %d bytes exceeds %d", len(tok), MaxTokenBytes)
	}
	rest := string(tok[len(pathPrefix):])
	if rest == "" {
		return nil, true, errors.New("empty relay path")
	}
	if n := strings.Count(rest, ",") + 1; n > MaxHops {
		return nil, true, fmt.Errorf("relay path of %d hops exceeds %d", n, MaxHops)
	}
	hops = strings.Split(rest, ",")
	for _, h := range hops {
		if h == "" || len(h) > maxNameBytes {
			return nil, true, fmt.Errorf("relay path has an empty or overlong name")
		}
	}
	return hops, true, nil
}
