package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/capture/publish"
	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// demoNamespace is the demo broadcast's namespace on the personal relay;
// its first field is the relay's local origin.
var demoNamespace = []string{localOrigin, "demo"}

// demoReal publishes the synthetic test pattern and tone (capture's
// synthetic sources, with the burned-in frame counter) to the personal
// relay with capture/publish.
type demoReal struct {
	log *slog.Logger
}

type demoRealHandle struct {
	cancel context.CancelFunc
	done   chan struct{}
	url    string
}

func (d demoReal) start(ctx context.Context, relay relayInfo) (demoHandle, error) {
	preset, err := capture.PresetByName("360p")
	if err != nil {
		return nil, err
	}
	hash, err := moq.ParseCertHash(relay.CertHash)
	if err != nil {
		return nil, fmt.Errorf("demo: relay certificate hash: %w", err)
	}
	now := time.Now()
	video := capture.NewPatternSource(preset.Width, preset.Height, preset.FrameRate, true, now)
	audio := capture.NewToneSource(48000, 1, 20*time.Millisecond, true, now)
	pub, err := publish.New(publish.Config{
		Namespace:        wire.NewNamespace(demoNamespace...),
		Video:            video,
		Audio:            audio,
		VideoBitrate:     preset.VideoBitrate,
		AudioBitrate:     preset.AudioBitrate,
		KeyframeInterval: int(preset.FrameRate), // one-second groups: viewers join fast
		Logger:           d.log,
	})
	if err != nil {
		video.Close()
		audio.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	h := &demoRealHandle{cancel: cancel, done: make(chan struct{}), url: relay.URL + "/" + joinPath(demoNamespace)}
	runDone := make(chan error, 1)
	go func() { runDone <- pub.Run(rctx) }()
	go func() {
		defer close(h.done)
		pub.Connect(rctx, relay.URL, &publish.ConnectOptions{
			Mode:   publish.ModeAuto,
			Config: moq.Config{Logger: d.log, Implementation: "tributary-demo", AuthToken: []byte(relay.Token)},
			Dial:   moq.DialOptions{CertHashes: [][]byte{hash}},
		})
		cancel()
		<-runDone
	}()
	// Wait until the first frame is encoded and the relay has the broadcast
	// (it answered PUBLISH_NAMESPACE): a player opened then finds it.
	wait := time.NewTimer(15 * time.Second)
	defer wait.Stop()
	for ready, onAir := pub.Ready(), pub.OnAir(); ready != nil || onAir != nil; {
		select {
		case <-ready:
			ready = nil
		case <-onAir:
			onAir = nil
		case <-wait.C:
			h.close()
			return nil, errors.New("demo: the test pattern did not reach the relay within 15 s")
		case <-ctx.Done():
			h.close()
			return nil, ctx.Err()
		}
	}
	return h, nil
}

func joinPath(fields []string) string {
	s := ""
	for i, f := range fields {
		if i > 0 {
			s += "/"
		}
		s += f
	}
	return s
}

func (h *demoRealHandle) stream() Stream {
	return Stream{
		ID:      "demo",
		Who:     "Tributary",
		Title:   "Demo broadcast: test pattern and tone",
		Viewers: -1,
		URLs:    []string{h.url},
		State:   StreamLive,
		Demo:    true,
	}
}

func (h *demoRealHandle) close() error {
	h.cancel()
	select {
	case <-h.done:
	case <-time.After(5 * time.Second):
		return errors.New("demo: publisher did not stop within 5 s")
	}
	return nil
}
