package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/tributary-live/tributary/app"
)

// TestGoLiveWithTestPattern goes live from the Go live screen with the real
// capture and publisher (test pattern and tone) into the personal relay.
func TestGoLiveWithTestPattern(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the relay and the encoder")
	}
	h := newHarness(t, app.Options{NoDemo: true, NoAudio: true})
	h.pumpUntil("the relay", 15*time.Second, func() bool { return h.ui.st.Relay.Running })
	if !h.navBtns(ScreenGoLive).Visible() {
		t.Fatal("no Go live in the sidebar")
	}
	test.Tap(h.navBtns(ScreenGoLive))
	g := h.ui.golive
	h.pumpUntil("devices and preview", 15*time.Second, func() bool {
		return g.camera.Selected != "" && g.preview.img.Visible()
	})
	g.camera.SetSelected("Test pattern")
	g.mic.SetSelected("Test tone")
	test.Tap(g.start)
	h.pumpUntil("the title problem", 5*time.Second, func() bool { return g.problem.box.Visible() })
	if !strings.Contains(g.problem.what.Text, "title") {
		t.Errorf("problem = %q", g.problem.what.Text)
	}
	test.Type(g.titleIn, "Trying Tributary")
	test.Tap(g.start)
	h.pumpUntil("live", 30*time.Second, func() bool { return h.ui.st.Live.Live && g.stop.Visible() })
	if !strings.Contains(g.onAir.Text, "LIVE") || !strings.Contains(g.link.Text, "/watch/tributary/me/live") {
		t.Errorf("on air %q, link %q", g.onAir.Text, g.link.Text)
	}
	h.pumpUntil("upload figures", 10*time.Second, func() bool { return h.ui.st.Live.UploadKbps > 0 })
	if !strings.Contains(g.figures.Text, "0 watching") {
		t.Errorf("figures %q, want 0 watching on the personal relay", g.figures.Text)
	}
	test.Tap(g.stop)
	h.pumpUntil("ended", 10*time.Second, func() bool { return !h.ui.st.Live.Live && !h.ui.st.Live.Step.Busy && g.start.Visible() })
}

// TestRelayScreen shows the personal relay's figures and refuses a bad port.
func TestRelayScreen(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the relay, encoder and decoder")
	}
	h := newHarness(t, app.Options{NoAudio: true})
	test.Tap(h.navBtns(ScreenRelay))
	r := h.ui.screens[ScreenRelay].(*relayScreen)
	h.pumpUntil("the demo in the figures", 20*time.Second, func() bool {
		return strings.Contains(r.table.Text, "tributary/demo") && strings.Contains(r.urlLabel.Text, "moqt://127.0.0.1:")
	})
	r.port.SetText("80")
	test.Tap(r.apply)
	h.pumpUntil("the port problem", 5*time.Second, func() bool { return r.formErr.box.Visible() })
	if !strings.Contains(r.formErr.what.Text, "80") {
		t.Errorf("problem = %q", r.formErr.what.Text)
	}
	r.port.SetText("not a port")
	test.Tap(r.apply)
	if !strings.Contains(r.formErr.what.Text, "not a port") {
		t.Errorf("problem = %q", r.formErr.what.Text)
	}
}
