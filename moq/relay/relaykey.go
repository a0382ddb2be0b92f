package relay

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Relay-to-relay trust (docs/RELAY.md, "Relay-to-relay trust"). A relay
// that serves an instance proves it to the relays it pulls from with a
// relay proof in its SETUP's AUTHORIZATION TOKEN (draft-ietf-moq-transport-18
// §10.3.1.4, token type 0):
//
//	trr1.<base64url(JSON proof claims)>.<base64url(Ed25519 signature of "trr1."+claims)>
//
// signed with the relay's key, whose public half the instance publishes as
// relay_key in https://<instance domain>/.well-known/moq: only whoever
// controls the instance's domain can make a key verify. The upstream fetches
// that document (through the same guard as every stranger-named address),
// checks the signature, the audience (itself) and the time, and then knows
// the downstream relay serves that instance: its allow and deny lists work
// by instance domain, like instance blocks.

const (
	proofPrefix = "trr1."
	keyPrefix   = "ed25519:"
	// proofTTL is how long a relay proof is valid.
	proofTTL = 5 * time.Minute
	// proofSkew is the clock difference tolerated between relays.
	proofSkew = time.Minute
)

// ProofClaims are what a relay proof states.
type ProofClaims struct {
	// Issuer is the instance domain the relay serves.
	Issuer string `json:"iss"`
	// Audience is the upstream relay it is meant for (host:port it dialled).
	Audience string `json:"aud"`
	// IssuedAt and Expires are Unix times.
	IssuedAt int64 `json:"iat"`
	Expires  int64 `json:"exp"`
}

// Errors of relay proofs.
var errBadProof = errors.New("relay: bad relay proof")

// PublicKeyString renders an Ed25519 public key as relay_key.
func PublicKeyString(pub ed25519.PublicKey) string {
	return keyPrefix + base64.RawURLEncoding.EncodeToString(pub)
}

// parsePublicKey reads a relay_key value.
func parsePublicKey(s string) (ed25519.PublicKey, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), keyPrefix)
	if !ok {
		return nil, fmt.Errorf("relay_key %q is not ed25519:<base64url>", s)
	}
	b, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("relay_key is not a 32-byte base64url Ed25519 key")
	}
	return ed25519.PublicKey(b), nil
}

// mintProof signs a relay proof for audience.
func mintProof(key ed25519.PrivateKey, issuer, audience string, now time.Time) []byte {
	body, _ := json.Marshal(ProofClaims{Issuer: issuer, Audience: audience, IssuedAt: now.Unix(), Expires: now.Add(proofTTL).Unix()})
	payload := proofPrefix + base64.RawURLEncoding.EncodeToString(body)
	sig := ed25519.Sign(key, []byte(payload))
	return []byte(payload + "." + base64.RawURLEncoding.EncodeToString(sig))
}

func isProof(tok []byte) bool { return bytes.HasPrefix(tok, []byte(proofPrefix)) }

// parseProof decodes a relay proof without checking its signature.
func parseProof(tok []byte) (c ProofClaims, payload, sig []byte, err error) {
	if len(tok) > MaxTokenBytes || !isProof(tok) {
		return c, nil, nil, fmt.Errorf("%w: not a relay proof", errBadProof)
	}
	dot := bytes.LastIndexByte(tok, '.')
	if dot <= len(proofPrefix) {
		return c, nil, nil, fmt.Errorf("%w: no signature", errBadProof)
	}
	payload = tok[:dot]
	sig, err = base64.RawURLEncoding.DecodeString(string(tok[dot+1:]))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return c, nil, nil, fmt.Errorf("%w: garbled signature", errBadProof)
	}
	body, err := base64.RawURLEncoding.DecodeString(string(payload[len(proofPrefix):]))
	if err != nil {
		return c, nil, nil, fmt.Errorf("%w: garbled claims", errBadProof)
	}
	if err := json.Unmarshal(body, &c); err != nil {
		return c, nil, nil, fmt.Errorf("%w: claims: %v", errBadProof, err)
	}
	c.Issuer = strings.ToLower(c.Issuer)
	if !looksLikeHost(c.Issuer) {
		return c, nil, nil, fmt.Errorf("%w: issuer %q is not a domain", errBadProof, c.Issuer)
	}
	return c, payload, sig, nil
}

// verifyProof checks a relay proof and returns the instance domain it
// proves. The key is read from the issuer's /.well-known/moq.
func (r *Relay) verifyProof(ctx context.Context, tok []byte) (string, error) {
	c, payload, sig, err := parseProof(tok)
	if err != nil {
		return "", err
	}
	now := time.Now()
	switch {
	case c.Expires < now.Unix():
		return "", fmt.Errorf("%w: expired", ErrExpiredToken)
	case c.IssuedAt > now.Add(proofSkew).Unix() || c.Expires-c.IssuedAt > int64((proofTTL+proofSkew)/time.Second):
		return "", fmt.Errorf("%w: issued in the future or valid too long", errBadProof)
	case !r.isAudience(c.Audience):
		return "", fmt.Errorf("%w: meant for %q, not this relay", errBadProof, c.Audience)
	}
	pub, err := r.relayKeyOf(ctx, c.Issuer)
	if errors.Is(err, errBusy) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("%w: key of %s: %v", errBadProof, c.Issuer, err)
	}
	if !ed25519.Verify(pub, payload, sig) {
		return "", fmt.Errorf("%w: signature does not match the key %s publishes", errBadProof, c.Issuer)
	}
	return c.Issuer, nil
}

// isAudience reports whether aud names this relay.
func (r *Relay) isAudience(aud string) bool {
	if aud == "" {
		return false
	}
	return hostMatch([]string{r.name, r.cfg.PublicAddr}, aud)
}

// relayKeyOf returns the relay_key of https://<domain>/.well-known/moq,
// through the well-known cache (failures are cached too) and within the
// outgoing bounds (errBusy).
func (r *Relay) relayKeyOf(ctx context.Context, domain string) (ed25519.PublicKey, error) {
	wk, err := r.wellKnownOf(ctx, domain)
	if err != nil {
		return nil, err
	}
	if wk.RelayKey == "" {
		return nil, errors.New("its /.well-known/moq publishes no relay_key")
	}
	return parsePublicKey(wk.RelayKey)
}

// LoadOrCreateKey reads an Ed25519 relay key from path (PKCS#8-free: the
// 64-byte private key, base64url), creating it with mode 0600 if missing.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, gerr
		}
		enc := base64.RawURLEncoding.EncodeToString(priv) + "\n"
		f, ferr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if ferr != nil {
			return nil, fmt.Errorf("relay: create key file: %w", ferr)
		}
		if _, werr := f.WriteString(enc); werr != nil {
			f.Close()
			return nil, fmt.Errorf("relay: write key file: %w", werr)
		}
		if cerr := f.Close(); cerr != nil {
			return nil, fmt.Errorf("relay: write key file: %w", cerr)
		}
		return priv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("relay: read key file: %w", err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("relay: %s is not a base64url Ed25519 private key", path)
	}
	return ed25519.PrivateKey(raw), nil
}
