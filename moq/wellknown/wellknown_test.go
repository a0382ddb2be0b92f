package wellknown

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// TestRoundTrip: a relay's document, as it serves it, parses back to itself.
func TestRoundTrip(t *testing.T) {
	in := Doc{
		MoQT: []string{"moqt://relay.social.example:4443"}, WebTransport: []string{"https://relay.social.example:4443/"},
		ALPN: []string{"moqt-19", "moqt-18"}, Relays: []string{"https://cdn.example/"},
		CertHashes: []string{strings.Repeat("ab", 32)}, Instance: "social.example",
		Grant: "https://relay.social.example:4443/auth/grant", RelayKey: "ed25519:" + strings.Repeat("A", 43),
	}
	b, _ := json.Marshal(in)
	out, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*out, in) {
		t.Errorf("got %+v\nwant %+v", *out, in)
	}
}

// TestParseDropsWhatIsNotWellFormed: entries that are not well formed are
// dropped one by one; a document left with no endpoint is an error.
func TestParseDropsWhatIsNotWellFormed(t *testing.T) {
	d, err := Parse([]byte(`{"moqt":["moqt://ok.example:1","moqt://user@bad.example","http://wrong.example","moqt://x:99999"],
		"webtransport":["https://ok.example/"],"grant":"http://plain.example/auth/grant","instance":"bad/instance",
		"relay_key":"rsa:xyz","cert_hashes":["00"],"alpn":["moqt-19","bad alpn"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.MoQT) != 1 || d.Grant != "" || d.Instance != "" || d.RelayKey != "" || len(d.CertHashes) != 0 || len(d.ALPN) != 1 {
		t.Errorf("kept %+v", d)
	}
	for _, bad := range []string{``, `{}`, `[]`, `{"moqt":["http://x/"]}`, strings.Repeat(" ", MaxBytes+1)} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("%.40q parsed", bad)
		}
	}
}

// FuzzParse: any input parses or fails cleanly, within the limits, and what
// parses re-encodes to a document that parses to the same.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"moqt":["moqt://relay.example:4443"],"webtransport":["https://relay.example:4443/"],"alpn":["moqt-19"],"instance":"social.example","grant":"https://relay.example:4443/auth/grant","relay_key":"ed25519:AAAA"}`))
	f.Add([]byte(`{"webtransport":["https://[::1]:1/x"],"relays":["moqt://a.example"],"cert_hashes":["` + strings.Repeat("0", 64) + `"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := Parse(b)
		if err != nil {
			return
		}
		for _, l := range [][]string{d.MoQT, d.WebTransport, d.ALPN, d.Relays, d.CertHashes} {
			if len(l) > MaxEntries {
				t.Fatalf("%d entries", len(l))
			}
		}
		again, _ := json.Marshal(d)
		d2, err := Parse(again)
		if err != nil || !reflect.DeepEqual(d, d2) {
			t.Fatalf("re-encoded document differs: %v\n%+v\n%+v", err, d, d2)
		}
	})
}
