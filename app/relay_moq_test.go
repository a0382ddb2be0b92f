package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// TestMoqRelayForwardsAnnouncedAndPushedTracks runs the interim personal
// relay on loopback with a real publisher and two real viewers.
func TestMoqRelayForwardsAnnouncedAndPushedTracks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	h, err := moqRelay{log: log}.start(ctx, relayConfig{Addr: "127.0.0.1:0", Policy: PolicyCommunity})
	if err != nil {
		t.Fatal(err)
	}
	defer h.close()
	inf := h.info()
	hash, err := moq.ParseCertHash(inf.CertHash)
	if err != nil {
		t.Fatal(err)
	}
	dial := func(cfg *moq.Config) *moq.Session {
		s, err := moq.Dial(ctx, inf.URL, cfg, &moq.DialOptions{CertHashes: [][]byte{hash}})
		if err != nil {
			t.Fatalf("dial %s: %v", inf.URL, err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	// A publisher announces ["tributary","demo"] and serves "video" on SUBSCRIBE.
	ns := wire.NewNamespace("tributary", "demo")
	name := wire.FullTrackName{Namespace: ns, Name: []byte("video")}
	track, w := moq.NewTrack(name, nil)
	subscribed := make(chan struct{}, 4)
	pub := dial(&moq.Config{Logger: log, Tracks: moq.TrackSourceFunc(func(ctx context.Context, s *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
		if string(req.Name.Name) != "video" {
			return nil, &moq.RequestError{Code: wire.RequestDoesNotExist}
		}
		subscribed <- struct{}{}
		return track, nil
	})})
	if _, err := pub.PublishNamespace(ctx, ns, nil); err != nil {
		t.Fatal(err)
	}
	g, err := w.AppendGroup()
	if err != nil {
		t.Fatal(err)
	}
	if err := g.WriteObject([]byte("frame-0"), nil); err != nil {
		t.Fatal(err)
	}

	read := func(v *moq.Session) []byte {
		sub, err := v.Subscribe(ctx, name, &moq.SubscribeOptions{JoinGroup: true})
		if err != nil {
			t.Fatalf("subscribe through the relay: %v", err)
		}
		t.Cleanup(func() { sub.Close() })
		r := sub.Track().Reader(nil)
		gr, err := r.NextGroup(ctx)
		if err != nil {
			t.Fatal(err)
		}
		o, err := gr.ReadObject(ctx)
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		return o.Payload
	}
	v1, v2 := dial(&moq.Config{Logger: log}), dial(&moq.Config{Logger: log})
	if got := read(v1); string(got) != "frame-0" {
		t.Errorf("viewer 1 got %q", got)
	}
	if got := read(v2); string(got) != "frame-0" {
		t.Errorf("viewer 2 got %q", got)
	}
	if n := len(subscribed); n != 1 {
		t.Errorf("the publisher saw %d subscriptions for two viewers, want 1", n)
	}
	f := h.figures()
	if len(f.Broadcasts) != 1 || f.Broadcasts[0].Viewers != 2 {
		t.Errorf("figures = %+v, want one broadcast with 2 viewers", f)
	}

	// An unknown broadcast is refused, not hung.
	if _, err := v1.Subscribe(ctx, wire.FullTrackName{Namespace: wire.NewNamespace("nobody"), Name: []byte("video")}, nil); err == nil {
		t.Error("subscribing to an unknown broadcast succeeded")
	}
}
