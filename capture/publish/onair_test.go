package publish

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
)

// OnAir closes once the relay has accepted the broadcast, and not before:
// a viewer who subscribes then finds it.
func TestOnAir(t *testing.T) {
	cert, hash, err := moq.DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	r := startRelay(t, "127.0.0.1:0", cert)
	p := newPublisher(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case <-p.OnAir():
		t.Fatal("on air before any session")
	default:
	}
	errs := make(chan error, 2)
	go func() { errs <- p.Run(ctx) }()
	go func() {
		errs <- p.Connect(ctx, r.URL()+"/", &ConnectOptions{Mode: ModeNamespace, Config: moq.Config{Logger: slog.New(slog.DiscardHandler)},
			Dial: moq.DialOptions{CertHashes: [][]byte{hash}}})
	}()
	defer func() {
		cancel()
		for range 2 {
			if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("publisher: %v", err)
			}
		}
	}()
	select {
	case <-p.OnAir():
	case <-ctx.Done():
		t.Fatal("never on air")
	}
	if want := "tributary.test/alice/live"; !slices.Contains(r.Stats().Announced, want) {
		t.Fatalf("on air, but the relay has %v, not %s", r.Stats().Announced, want)
	}
}
