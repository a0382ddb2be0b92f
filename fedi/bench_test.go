package fedi

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkStreamMessage measures decoding one streaming API update (a
// recorded GoToSocial announcement) and classifying its post.
func BenchmarkStreamMessage(b *testing.B) {
	live, err := os.ReadFile(filepath.Join("testdata", "status_gotosocial_live.json"))
	if err != nil {
		b.Fatal(err)
	}
	payload, _ := json.Marshal(string(live))
	msg := []byte(`{"stream":["user"],"event":"update","payload":` + string(payload) + `}`)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		ev, ok, err := parseStreamMessage(msg)
		if err != nil || !ok {
			b.Fatal(err)
		}
		if _, ok := classify(ev.status, "gts.example.org", "gts.example.org"); !ok {
			b.Fatal("not classified")
		}
	}
}
