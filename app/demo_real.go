package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
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
	b   *publish.Broadcast
	url string
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
	// Start returns once the relay has the broadcast: a player opened then
	// finds it.
	b, err := publish.Start(ctx, publish.StartConfig{
		Config:  publish.Config{Namespace: wire.NewNamespace(demoNamespace...), Logger: d.log},
		Sources: publish.Sources{Source: publish.TestSource},
		Preset:  preset,
		GOP:     time.Second, // viewers join fast
		URL:     relay.URL,
		Connect: publish.ConnectOptions{
			Config: moq.Config{Logger: d.log, Implementation: "tributary-demo", AuthToken: []byte(relay.Token)},
			Dial:   moq.DialOptions{CertHashes: [][]byte{hash}},
		},
		Wait: 15 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return &demoRealHandle{b: b, url: relay.URL + "/" + strings.Join(demoNamespace, "/")}, nil
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

func (h *demoRealHandle) close() error { return h.b.Close() }
