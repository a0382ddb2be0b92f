package publish

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/relay"
	"github.com/tributary-live/tributary/moq/wire"
)

func startRelay(t *testing.T, listen string, cert tls.Certificate) *relay.Relay {
	t.Helper()
	cfg := relay.Config{Listen: listen, TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		OpenPublish: true, Logger: slog.New(slog.DiscardHandler)}
	if !strings.HasSuffix(listen, ":0") {
		// Known: Start sets a default PublicAddr after it begins serving, which
		// races with a client that connects at once (as the reconnecting
		// publisher does); a given PublicAddr avoids that write.
		cfg.PublicAddr = listen
	}
	return startRelayConfig(t, cfg)
}

// startRelayConfig starts a relay of cfg, closed when the test ends.
func startRelayConfig(t *testing.T, cfg relay.Config) *relay.Relay {
	t.Helper()
	r, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatalf("relay: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// watch subscribes through the relay and checks what a player would get.
func watch(t *testing.T, ctx context.Context, r *relay.Relay, hash []byte) {
	t.Helper()
	sess, err := moq.Dial(ctx, r.URL(), &moq.Config{Logger: slog.New(slog.DiscardHandler)}, &moq.DialOptions{CertHashes: [][]byte{hash}})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	sub := func(name string) *moq.Track {
		// The relay learns of the broadcast when the publisher (re)connects: retry briefly.
		for attempt := 0; ; attempt++ {
			s, err := sess.Subscribe(ctx, wire.FullTrackName{Namespace: testNS, Name: []byte(name)}, &moq.SubscribeOptions{JoinGroup: true})
			if err == nil {
				t.Cleanup(s.Close)
				return s.Track()
			}
			var re *moq.RequestError
			if !errors.As(err, &re) || attempt == 100 {
				t.Fatalf("subscribe %s through the relay: %v", name, err)
			}
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			}
		}
	}
	cat := readCatalog(t, ctx, sub(CatalogTrack))
	if len(cat.Tracks) != 2 {
		t.Fatalf("catalog through the relay: %+v", cat)
	}
	checkVideo(t, ctx, sub(VideoTrack), 2)
	checkAudio(t, ctx, sub(AudioTrack), 10)
}

// The publisher against Tributary's relay in both flows, and across a relay
// restart on the same address: the publisher reconnects by itself and
// capture runs on throughout.
func TestThroughRelay(t *testing.T) {
	cert, hash, err := moq.DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []Mode{ModeNamespace, ModePublish} {
		t.Run(fmt.Sprint("mode", mode), func(t *testing.T) {
			r := startRelay(t, "127.0.0.1:0", cert)
			p := newPublisher(t)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			errs := make(chan error, 2)
			go func() { errs <- p.Run(ctx) }()
			go func() {
				errs <- p.Connect(ctx, r.URL()+"/", &ConnectOptions{Mode: mode, Config: moq.Config{Logger: slog.New(slog.DiscardHandler)},
					Dial: moq.DialOptions{CertHashes: [][]byte{hash}}, MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond})
			}()
			watch(t, ctx, r, hash)

			addr := r.Addr().String()
			before := p.Stats()
			r.Close()
			r2 := startRelay(t, addr, cert)
			watch(t, ctx, r2, hash)
			after := p.Stats()
			if after.Sessions < before.Sessions+1 || after.VideoFrames <= before.VideoFrames {
				t.Errorf("after the relay restart: %+v, before %+v", after, before)
			}
			cancel()
			for i := 0; i < 2; i++ {
				if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("publisher: %v", err)
				}
			}
		})
	}
}
