package app

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// TestDemoReachesRelay publishes the real demo broadcast to the interim
// relay and reads its video track back through the relay.
func TestDemoReachesRelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	rh, err := moqRelay{log: log}.start(ctx, relayConfig{Addr: "127.0.0.1:0", Policy: PolicyCommunity})
	if err != nil {
		t.Fatal(err)
	}
	defer rh.close()
	dh, err := demoReal{log: log}.start(ctx, rh.info())
	if err != nil {
		t.Fatal(err)
	}
	defer dh.close()
	if u := dh.stream().URLs[0]; u != rh.info().URL+"/tributary/demo" {
		t.Errorf("demo URL = %q", u)
	}
	hash, _ := moq.ParseCertHash(rh.info().CertHash)
	s, err := moq.Dial(ctx, rh.info().URL, &moq.Config{Logger: log}, &moq.DialOptions{CertHashes: [][]byte{hash}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sub, err := s.Subscribe(ctx, wire.FullTrackName{Namespace: wire.NewNamespace(demoNamespace...), Name: []byte("video")}, &moq.SubscribeOptions{JoinGroup: true})
	if err != nil {
		t.Fatalf("subscribe to the demo's video: %v", err)
	}
	defer sub.Close()
	g, err := sub.Track().Reader(nil).NextGroup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o, err := g.ReadObject(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Payload) == 0 {
		t.Error("empty video object")
	}
}
