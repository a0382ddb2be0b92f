package publish

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/relay"
	"github.com/tributary-live/tributary/moq/wire"
)

// closeCounter is a test pattern that counts its Close calls: Start owns
// the sources it is given, and closes them however it ends.
type closeCounter struct {
	capture.VideoSource
	closed atomic.Int32
}

func (c *closeCounter) Close() error {
	c.closed.Add(1)
	return c.VideoSource.Close()
}

func startConfig(url string, hash []byte) (StartConfig, *closeCounter) {
	video := &closeCounter{VideoSource: capture.NewPatternSource(320, 180, 30, true, time.Now())}
	quiet := slog.New(slog.DiscardHandler)
	return StartConfig{
		Config: Config{Namespace: testNS, Video: video, Audio: capture.NewToneSource(48000, 1, 20*time.Millisecond, true, time.Now()),
			VideoBitrate: 400_000, Logger: quiet},
		GOP:     500 * time.Millisecond,
		URL:     url,
		Connect: ConnectOptions{Dial: moq.DialOptions{CertHashes: [][]byte{hash}}, MinBackoff: 50 * time.Millisecond},
		Wait:    30 * time.Second,
	}, video
}

// Start returns once the relay has the broadcast; Close stops capture and
// the connection and closes the sources.
func TestStartOnAir(t *testing.T) {
	cert, hash, err := moq.DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	r := startRelay(t, "127.0.0.1:0", cert)
	cfg, video := startConfig(r.URL()+"/", hash)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if want := "tributary.test/alice/live"; !slices.Contains(r.Stats().Announced, want) {
		t.Errorf("on air, but the relay has %v, not %s", r.Stats().Announced, want)
	}
	if st := b.Stats(); st.Sessions != 1 {
		t.Errorf("stats on air: %+v", st)
	}
	cancel() // the broadcast outlives Start's context
	select {
	case <-b.Done():
		t.Fatal("the broadcast ended with Start's context")
	default:
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	<-b.Done()
	if video.closed.Load() == 0 {
		t.Error("the video source is still open")
	}
}

// A relay that refuses the broadcast ends Start at once with its reason,
// and the sources are closed.
func TestStartRefused(t *testing.T) {
	cert, hash, err := moq.DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	r := startRelayConfig(t, relay.Config{Listen: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		Logger: slog.New(slog.DiscardHandler)}) // no token, no open publishing
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, mode := range []Mode{ModeAuto, ModeNamespace, ModePublish} {
		cfg, video := startConfig(r.URL()+"/", hash)
		cfg.Connect.Mode = mode
		b, err := Start(ctx, cfg)
		var re *moq.RequestError
		if b != nil || !errors.As(err, &re) || re.Code != wire.RequestUnauthorized {
			t.Errorf("mode %v: Start = %v, %v; want the relay's refusal", mode, b, err)
		}
		if video.closed.Load() == 0 {
			t.Errorf("mode %v: the video source is still open", mode)
		}
	}
}

// silentRelay is a UDP socket that reads what a publisher sends and never
// answers; got is closed at its first packet.
func silentRelay(t *testing.T) (url string, got <-chan struct{}) {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch := make(chan struct{})
	go func() {
		buf := make([]byte, 2048)
		if _, _, err := c.ReadFrom(buf); err == nil {
			close(ch)
		}
		for {
			if _, _, err := c.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return "moqt://" + c.LocalAddr().String() + "/", ch
}

// Start ends with its context while it waits for the relay, and with
// Wait when the relay never answers.
func TestStartCancelAndWait(t *testing.T) {
	url, got := silentRelay(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-got // the publisher is dialling: Start is waiting
		cancel()
	}()
	cfg, video := startConfig(url, make([]byte, 32))
	began := time.Now()
	b, err := Start(ctx, cfg)
	if b != nil || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: Start = %v, %v", b, err)
	}
	if d := time.Since(began); d > 15*time.Second {
		t.Errorf("cancelled Start returned after %v", d)
	}
	if video.closed.Load() == 0 {
		t.Error("cancelled: the video source is still open")
	}

	cfg, _ = startConfig(url, make([]byte, 32))
	cfg.Wait = time.Second
	b, err = Start(context.Background(), cfg)
	if b != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent relay: Start = %v, %v; want a deadline", b, err)
	}
}
