package app

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// TestGoLiveWithTestPattern goes live from the synthetic sources into the
// personal relay and reads the broadcast back through it.
func TestGoLiveWithTestPattern(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	rh, err := relayReal{log: log}.start(ctx, relayConfig{Addr: "127.0.0.1:0", Policy: PolicyCommunity})
	if err != nil {
		t.Fatal(err)
	}
	defer rh.close()
	inf := rh.info()
	cams, mics, _ := liveReal{log: log}.devices(ctx)
	if len(cams) == 0 || cams[len(cams)-1].ID != testPatternID || len(mics) < 2 {
		t.Fatalf("devices = %v, %v; want the test pattern and tone offered", cams, mics)
	}
	var previews, levels atomic.Int64
	h, err := liveReal{log: log}.start(ctx, LiveOptions{Title: "t", Camera: testPatternID, Microphone: testToneID},
		liveTarget{RelayURL: inf.URL, CertHash: inf.CertHash, Token: inf.Token, Path: []string{"example.test", "alice", "live"}, Quality: Quality360},
		func(image.Image) { previews.Add(1) }, func(v float64) {
			if v > 0 {
				levels.Add(1)
			}
		})
	if err != nil {
		t.Fatalf("go live: %v", err)
	}
	defer h.close()
	if want := "https://" + strings.TrimPrefix(inf.URL, "moqt://") + "/watch/example.test/alice/live"; h.watchURL() != want {
		t.Errorf("watch URL = %q, want %q", h.watchURL(), want)
	}
	hash, _ := moq.ParseCertHash(inf.CertHash)
	s, err := moq.Dial(ctx, inf.URL, &moq.Config{Logger: log, AuthToken: []byte(inf.Token)}, &moq.DialOptions{CertHashes: [][]byte{hash}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Going live returns before the publisher has announced the broadcast to
	// the relay: until it has, the relay does not know the namespace.
	var sub *moq.Subscription
	for attempt := 0; sub == nil; attempt++ {
		sub, err = s.Subscribe(ctx, wire.FullTrackName{Namespace: wire.NewNamespace("example.test", "alice", "live"), Name: []byte("video")}, &moq.SubscribeOptions{JoinGroup: true})
		var re *moq.RequestError
		if err != nil && (!errors.As(err, &re) || attempt == 100) {
			t.Fatalf("subscribe: %v", err)
		}
		if err != nil {
			select {
			case <-time.After(50 * time.Millisecond): // the publisher is still connecting
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		}
	}
	defer sub.Close()
	g, err := sub.Track().Reader(nil).NextGroup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.ReadObject(ctx); err != nil {
		t.Fatal(err)
	}
	if previews.Load() == 0 || levels.Load() == 0 {
		t.Errorf("preview frames %d, level readings %d; want both", previews.Load(), levels.Load())
	}
	if _, kbps := h.figures(); kbps < 0 {
		t.Errorf("upload %v kbit/s", kbps)
	}
}

func TestPCMLevel(t *testing.T) {
	if pcmLevel(nil) != 0 || pcmLevel(make([]int16, 100)) != 0 {
		t.Error("silence is not 0")
	}
	loud := make([]int16, 100)
	for i := range loud {
		loud[i] = 32767
		if i%2 == 1 {
			loud[i] = -32767
		}
	}
	if l := pcmLevel(loud); l < 0.99 {
		t.Errorf("full scale = %v", l)
	}
}
