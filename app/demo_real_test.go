package app

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// TestDemoReachesRelay publishes the real demo broadcast to the personal
// relay and reads its video track back through the relay.
func TestDemoReachesRelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	rh, err := relayReal{log: log}.start(ctx, relayConfig{Addr: "127.0.0.1:0", Policy: PolicyCommunity})
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
	// A stranger may not watch under the community policy; the app's token may.
	if s, err := moq.Dial(ctx, rh.info().URL, &moq.Config{Logger: log}, &moq.DialOptions{CertHashes: [][]byte{hash}}); err == nil {
		_, err := s.Subscribe(ctx, wire.FullTrackName{Namespace: wire.NewNamespace(demoNamespace...), Name: []byte("video")}, nil)
		s.Close()
		if err == nil {
			t.Error("a viewer without a token watched through a community relay")
		}
	}
	s, err := moq.Dial(ctx, rh.info().URL, &moq.Config{Logger: log, AuthToken: []byte(rh.info().Token)}, &moq.DialOptions{CertHashes: [][]byte{hash}})
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
	// The Relay screen's figures show the broadcast (the relay samples them
	// on its own clock; poll a bounded number of times).
	for i := 0; ; i++ {
		f := rh.figures()
		if len(f.Broadcasts) > 0 && f.Broadcasts[0].Name == "tributary/demo" && f.Broadcasts[0].Viewers >= 1 {
			break
		}
		if i == 50 {
			t.Fatalf("relay figures = %+v, want tributary/demo with a viewer", f)
		}
		time.Sleep(100 * time.Millisecond) // polling the relay's sampler
	}
}
