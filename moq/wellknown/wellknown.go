// Package wellknown is the /.well-known/moq document a MoQ relay serves at
// https://<host>/.well-known/moq to say how to reach it (docs/FEDIVERSE.md,
// docs/RELAY.md): its endpoints, the drafts it speaks, its fallbacks,
// development certificate hashes, and for an instance relay the instance,
// the grant URL and the relay's key. The relay serves it and reads other
// relays' documents, and fedi reads the documents of stream origins and of
// an account's own server; this is the one type and parser all of them use.
// Pure: no I/O, standard library only, fuzzed.
package wellknown

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Path is where a relay serves its WellKnown document.
const Path = "/.well-known/moq"

// MaxEntries is the most entries kept from each list of a
// WellKnown document.
const MaxEntries = 16

// Limits on a document and its URLs.
const (
	// MaxBytes bounds a document.
	MaxBytes = 64 << 10
	// MaxURLBytes bounds one URL in it.
	MaxURLBytes = 2048
)

// Doc is the document a MoQ relay serves at https://<host>/.well-known/moq
// to tell clients how to reach it (docs/FEDIVERSE.md):
//
//	{"moqt":["moqt://relay.example:4443"],
//	 "webtransport":["https://relay.example:4443/"],
//	 "alpn":["moqt-18","moqt-19"],
//	 "relays":["https://other.example/"],
//	 "cert_hashes":["<hex sha-256 of the certificate's DER>"]}
type Doc struct {
	// MoQT are native QUIC endpoints (moqt://host:port), best first.
	MoQT []string `json:"moqt"`
	// WebTransport are WebTransport endpoints (https://host:port/path), best first.
	WebTransport []string `json:"webtransport"`
	// ALPN are the MoQ Transport versions the relay speaks, as ALPN tokens.
	ALPN []string `json:"alpn"`
	// Relays are other relays carrying the same broadcasts (fallbacks).
	Relays []string `json:"relays,omitempty"`
	// CertHashes are SHA-256 hashes (hex) of certificates a client may
	// accept without a CA chain, as WebTransport serverCertificateHashes do.
	CertHashes []string `json:"cert_hashes,omitempty"`
	// Instance is the domain of the Fediverse instance the relay serves.
	Instance string `json:"instance,omitempty"`
	// Grant is the https URL where the instance's members exchange their
	// account token for a relay grant (only ever used with the document of
	// the member's own server).
	Grant string `json:"grant,omitempty"`
	// RelayKey is the relay's public key for relay-to-relay trust.
	RelayKey string `json:"relay_key,omitempty"`
}

// Parse decodes and checks a /.well-known/moq document. Entries
// that are not well formed are dropped; a document with no usable endpoint
// is an error.
func Parse(body []byte) (*Doc, error) {
	if len(body) > MaxBytes {
		return nil, fmt.Errorf("%s: %d bytes is more than %d", Path, len(body), MaxBytes)
	}
	var raw Doc
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", Path, err)
	}
	w := &Doc{
		MoQT:         keepURLs(raw.MoQT, "moqt"),
		WebTransport: keepURLs(raw.WebTransport, "https"),
		Relays:       keepURLs(raw.Relays, "https", "moqt"),
	}
	for _, a := range raw.ALPN {
		if len(w.ALPN) < MaxEntries && validALPN(a) {
			w.ALPN = append(w.ALPN, a)
		}
	}
	for _, h := range raw.CertHashes {
		h = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(h), ":", ""))
		if b, err := hex.DecodeString(h); err == nil && len(b) == 32 && len(w.CertHashes) < MaxEntries {
			w.CertHashes = append(w.CertHashes, h)
		}
	}
	if g := keepURLs([]string{raw.Grant}, "https"); len(g) == 1 {
		w.Grant = g[0]
	}
	if in := strings.ToLower(strings.TrimSpace(raw.Instance)); in != "" && len(in) <= 253 && !strings.ContainsAny(in, "/@?#\\ ") {
		if u, ok := EndpointURL("https://"+in, "https"); ok && u.Host == in {
			w.Instance = in
		}
	}
	if k := strings.TrimSpace(raw.RelayKey); len(k) <= 128 && strings.HasPrefix(k, "ed25519:") {
		w.RelayKey = k
	}
	if len(w.MoQT) == 0 && len(w.WebTransport) == 0 {
		return nil, errors.New(Path + ": no usable moqt or webtransport endpoint")
	}
	return w, nil
}

func validALPN(a string) bool {
	if a == "" || len(a) > 64 {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] <= ' ' || a[i] > '~' {
			return false
		}
	}
	return true
}

// keepURLs keeps the absolute URLs with one of the schemes, a host, no user
// information and a valid port, up to MaxEntries.
func keepURLs(in []string, schemes ...string) []string {
	var out []string
	for _, s := range in {
		if len(out) >= MaxEntries {
			break
		}
		if u, ok := EndpointURL(s, schemes...); ok {
			out = append(out, u.String())
		}
	}
	return out
}

// EndpointURL parses s as an absolute URL with one of the schemes, a host,
// no user information and, if present, a port in 1..65535.
func EndpointURL(s string, schemes ...string) (*url.URL, bool) {
	if len(s) > MaxURLBytes {
		return nil, false
	}
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return nil, false
	}
	ok := false
	for _, sc := range schemes {
		if strings.EqualFold(u.Scheme, sc) {
			u.Scheme = sc
			ok = true
		}
	}
	if !ok || u.Hostname() == "" {
		return nil, false
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, false
		}
	}
	return u, true
}
