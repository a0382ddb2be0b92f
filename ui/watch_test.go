package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/tributary-live/tributary/app"
	"github.com/tributary-live/tributary/capture"
)

// TestWatchDemoWithoutDisplay runs the embedded default (the real personal
// relay, demo publisher and player) under Fyne's test driver: the Watch
// screen shows the demo's frames, the stats overlay shows figures, and
// fullscreen hides the sidebar until Esc.
func TestWatchDemoWithoutDisplay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the relay, encoder and decoder")
	}
	h := newHarness(t, app.Options{NoAudio: true})
	w := h.ui.watch
	h.pumpUntil("the demo playing", 20*time.Second, func() bool {
		return h.ui.st.Player.Status == app.PlayerPlaying && h.ui.FramesShown() > 5
	})
	if !w.video.img.Visible() || w.statusBox.Visible() {
		t.Errorf("video visible=%v, status card visible=%v", w.video.img.Visible(), w.statusBox.Visible())
	}
	if _, ok := capture.ReadPattern(w.video.img.Image); !ok {
		t.Error("the frame shown is not the demo pattern")
	}
	if !strings.Contains(w.title.Text, "Demo") || !w.badge.Visible() {
		t.Errorf("title %q, LIVE badge visible=%v", w.title.Text, w.badge.Visible())
	}

	test.Tap(w.statsBtn)
	h.pumpUntil("figures", 10*time.Second, func() bool {
		return w.statsBox.Visible() && h.ui.st.Player.Stats.Frames > 0 && strings.Contains(w.statsText.Text, "h264")
	})
	if !strings.Contains(w.statsText.Text, "latency") || !strings.Contains(w.statsText.Text, "127.0.0.1") || !strings.Contains(w.statsText.Text, "via your personal relay") {
		t.Errorf("stats overlay:\n%s", w.statsText.Text)
	}
	test.Tap(w.statsBtn)
	if w.statsBox.Visible() {
		t.Error("stats overlay still shown after the second tap")
	}

	test.Tap(w.fullBtn)
	if h.ui.sidebar.Visible() || !h.ui.full {
		t.Error("fullscreen kept the sidebar")
	}
	h.ui.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if !h.ui.sidebar.Visible() || h.ui.full {
		t.Error("Esc did not leave fullscreen")
	}
	test.Tap(w.stopBtn)
	h.pumpUntil("stopped", 5*time.Second, func() bool { return h.ui.st.Player.Status == app.PlayerIdle })
	if !w.statusBox.Visible() || w.video.img.Visible() {
		t.Error("stopping left the picture up")
	}
}
