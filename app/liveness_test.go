package app

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/tributary-live/tributary/fedi"
)

// TestMoqLiveness asks a real relay about a live and an unknown broadcast.
func TestMoqLiveness(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	rh, err := relayReal{log: log}.start(ctx, relayConfig{Addr: "127.0.0.1:0", Policy: PolicyOpen})
	if err != nil {
		t.Fatal(err)
	}
	defer rh.close()
	dh, err := demoReal{log: log}.start(ctx, rh.info())
	if err != nil {
		t.Fatal(err)
	}
	defer dh.close()
	check := moqLiveness(nil, true, log)
	relayDoc := &fedi.RelayInfo{CertHashes: []string{rh.info().CertHash}}
	live, err := check.CheckLive(ctx, fedi.LiveStream{RelayURLs: dh.stream().URLs, Relay: relayDoc})
	if live != fedi.LivenessLive {
		t.Errorf("the demo: %v, %v; want live", live, err)
	}
	gone, err := check.CheckLive(ctx, fedi.LiveStream{RelayURLs: []string{rh.info().URL + "/nobody/here"}, Relay: relayDoc})
	if gone != fedi.LivenessEnded {
		t.Errorf("an unknown broadcast: %v, %v; want ended", gone, err)
	}
	if v, _ := check.CheckLive(ctx, fedi.LiveStream{}); v != fedi.LivenessUnknown {
		t.Errorf("no relay URL: %v", v)
	}
}
