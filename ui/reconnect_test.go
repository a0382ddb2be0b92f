package ui

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tributary-live/tributary/app"
	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/capture/publish"
	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/relay"
	"github.com/tributary-live/tributary/moq/wire"
)

// TestPlayerReconnectsAndSaysSo plays a stream from a relay that then goes
// away: the Watch screen says it is reconnecting, and when the relay is
// back on the same address the picture comes back by itself.
func TestPlayerReconnectsAndSaysSo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a relay, encoder and decoder")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	cert, hash, err := moq.DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	startRelay := func(addr string) *relay.Relay {
		r, err := relay.New(relay.Config{Listen: addr, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, OpenPublish: true, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx); err != nil {
			t.Fatalf("relay on %s: %v", addr, err)
		}
		return r
	}
	r := startRelay("127.0.0.1:0")
	addr := r.Addr().String()
	defer func() { r.Close() }()

	now := time.Now()
	pub, err := publish.New(publish.Config{
		Namespace:        wire.NewNamespace("carol", "live"),
		Video:            capture.NewPatternSource(320, 180, 30, true, now),
		KeyframeInterval: 15,
		Logger:           log,
	})
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	defer func() { pcancel(); <-done; <-done }()
	go func() { pub.Run(pctx); done <- struct{}{} }()
	go func() {
		pub.Connect(pctx, r.URL(), &publish.ConnectOptions{Config: moq.Config{Logger: log}, Dial: moq.DialOptions{CertHashes: [][]byte{hash}},
			MinBackoff: 100 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
		done <- struct{}{}
	}()

	h := newHarness(t, app.Options{NoDemo: true, NoAudio: true})
	h.core.Play(app.Stream{ID: "carol", Title: "Carol", URLs: []string{r.URL() + "/carol/live"}, CertHashes: []string{hex.EncodeToString(hash)}, Viewers: -1})
	w := h.ui.watch
	h.pumpUntil("playing", 20*time.Second, func() bool { return h.ui.st.Player.Status == app.PlayerPlaying && h.ui.FramesShown() > 0 })

	r.Close()
	h.pumpUntil("reconnecting", 20*time.Second, func() bool { return h.ui.st.Player.Status == app.PlayerReconnecting })
	said := w.notice.Visible() && strings.Contains(strings.ToLower(w.noticeText.Text), "reconnect") ||
		w.statusBox.Visible() && strings.Contains(strings.ToLower(w.statusText.Text), "reconnect")
	if !said {
		t.Errorf("reconnecting, but the screen says %q / %q", w.noticeText.Text, w.statusText.Text)
	}

	r = startRelay(addr)
	h.pumpUntil("playing again", 60*time.Second, func() bool { return h.ui.st.Player.Status == app.PlayerPlaying })
	if h.ui.st.Player.Reconnects < 1 || w.notice.Visible() || w.statusBox.Visible() {
		t.Errorf("reconnects %d, notice visible %v, card visible %v", h.ui.st.Player.Reconnects, w.notice.Visible(), w.statusBox.Visible())
	}
}
