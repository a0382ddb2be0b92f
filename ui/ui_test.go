package ui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/tributary-live/tributary/app"
)

// harness runs a UI over a real core with a test Fyne app (no display).
// Background updates are queued and run on the test goroutine by pump, so
// widgets are touched by one goroutine only.
type harness struct {
	t    *testing.T
	core *app.Core
	ui   *UI
	q    chan func()
}

func newHarness(t *testing.T, opts app.Options) *harness {
	t.Helper()
	fa := test.NewTempApp(t)
	if opts.ConfigDir == "" {
		opts.ConfigDir = t.TempDir()
	}
	h := &harness{t: t, q: make(chan func(), 4096)}
	h.core = app.New(opts)
	h.ui = New(fa, h.core, WithDispatch(func(f func()) { h.q <- f }))
	h.ui.Window().Resize(fyne.NewSize(1180, 760))
	h.core.Start()
	t.Cleanup(func() {
		h.core.Close()
		h.ui.Window().Close()
	})
	return h
}

// pumpUntil runs queued updates until cond holds, for at most limit.
func (h *harness) pumpUntil(what string, limit time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for !cond() {
		select {
		case f := <-h.q:
			f()
		case <-deadline.C:
			h.t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
	}
}

// settle runs what is queued now and what the core sends in reply.
func (h *harness) settle() {
	h.t.Helper()
	// A round trip through the core's loop: everything it emitted before is
	// queued by the time State returns.
	h.core.State()
	for {
		select {
		case f := <-h.q:
			f()
		default:
			return
		}
	}
}

func TestStartsOnWatchWithNavigation(t *testing.T) {
	h := newHarness(t, app.Options{NoDemo: true})
	h.settle()
	if h.ui.Current() != ScreenWatch {
		t.Fatalf("starts on %q, want watch", h.ui.Current())
	}
	st := h.ui.st
	if h.navBtns(ScreenGoLive).Visible() != st.Features.GoLive || h.navBtns(ScreenRelay).Visible() != st.Features.Relay {
		t.Errorf("nav shows Go live=%v Relay=%v for features %+v", h.navBtns(ScreenGoLive).Visible(), h.navBtns(ScreenRelay).Visible(), st.Features)
	}
	for _, id := range []ScreenID{ScreenLiveNow, ScreenSettings, ScreenWatch} {
		test.Tap(h.navBtns(id))
		if h.ui.Current() != id {
			t.Errorf("tapping %q shows %q", id, h.ui.Current())
		}
	}
}

func (h *harness) navBtns(id ScreenID) *widget.Button { return h.ui.navBtns[id] }

func TestNothingPlayingExplains(t *testing.T) {
	h := newHarness(t, app.Options{NoDemo: true})
	h.core.StopPlaying()
	h.pumpUntil("idle", 5*time.Second, func() bool { return h.ui.st.Player.Status == app.PlayerIdle })
	w := h.ui.watch
	if !w.statusBox.Visible() || !strings.Contains(w.statusText.Text, "Nothing is playing") {
		t.Errorf("status card visible=%v text=%q", w.statusBox.Visible(), w.statusText.Text)
	}
	if !w.browse.Visible() {
		t.Error("no way to Live now from an idle player")
	}
	test.Tap(w.browse)
	if h.ui.Current() != ScreenLiveNow {
		t.Errorf("Browse Live now shows %q", h.ui.Current())
	}
}

func TestOpenBadURLSaysWhatToDo(t *testing.T) {
	h := newHarness(t, app.Options{NoDemo: true})
	h.settle()
	h.ui.Show(ScreenLiveNow)
	l := h.ui.screens[ScreenLiveNow].(*liveNowScreen)
	test.Type(l.urlIn, "ftp://relay.example/alice")
	l.urlIn.OnSubmitted(l.urlIn.Text)
	if h.ui.Current() != ScreenWatch {
		t.Fatalf("after opening a link, screen is %q", h.ui.Current())
	}
	h.pumpUntil("failure", 5*time.Second, func() bool { return h.ui.st.Player.Status == app.PlayerFailed })
	w := h.ui.watch
	if !strings.Contains(w.statusText.Text, "ftp") || !strings.Contains(w.statusTodo.Text, "moqt://") {
		t.Errorf("status = %q / %q; want what was wrong and what to paste", w.statusText.Text, w.statusTodo.Text)
	}
}

func TestLiveNowEmptyStateExplains(t *testing.T) {
	h := newHarness(t, app.Options{NoDemo: true})
	h.settle()
	h.ui.Show(ScreenLiveNow)
	l := h.ui.screens[ScreenLiveNow].(*liveNowScreen)
	if len(l.items) != 0 {
		t.Skip("streams listed; the empty state does not apply")
	}
	if !l.empty.Visible() || l.emptyB.Text == "" {
		t.Errorf("empty state visible=%v text=%q", l.empty.Visible(), l.emptyB.Text)
	}
	if h.ui.st.Features.Fediverse != l.signIn.Visible() {
		t.Errorf("sign-in button visible=%v with Fediverse=%v and no account", l.signIn.Visible(), h.ui.st.Features.Fediverse)
	}
}

func TestSettingsRejectBadHomeRelay(t *testing.T) {
	h := newHarness(t, app.Options{NoDemo: true})
	h.settle()
	h.ui.Show(ScreenSettings)
	s := h.ui.screens[ScreenSettings].(*settingsScreen)
	s.home.SetText("")
	test.Type(s.home, "relay.example.social")
	test.Tap(s.saveBtn)
	h.pumpUntil("error", 5*time.Second, func() bool { return s.problem.box.Visible() })
	if !strings.Contains(s.problem.what.Text, "not valid") || !strings.Contains(s.problem.todo.Text, "moqt://") {
		t.Errorf("problem = %q / %q", s.problem.what.Text, s.problem.todo.Text)
	}
	s.home.SetText("moqt://relay.example.social:4443")
	s.latency.SetSelected(app.LatencySmooth.Label())
	test.Tap(s.saveBtn)
	h.pumpUntil("saved", 5*time.Second, func() bool { return s.saved.Text == "Saved" })
	h.settle()
	if got := h.ui.st.Settings; got.HomeRelayURL != "moqt://relay.example.social:4443" || got.Latency != app.LatencySmooth {
		t.Errorf("settings = %+v", got)
	}
	if s.problem.box.Visible() {
		t.Error("the old problem is still shown after a good save")
	}
	// The player's latency picker follows the setting.
	if h.ui.watch.latency.Selected != app.LatencySmooth.Label() {
		t.Errorf("player latency = %q", h.ui.watch.latency.Selected)
	}
}

func TestSignInNeedsAHandle(t *testing.T) {
	h := newHarness(t, app.Options{NoDemo: true})
	h.settle()
	h.ui.Show(ScreenSignIn)
	s := h.ui.screens[ScreenSignIn].(*signInScreen)
	test.Tap(s.go_)
	h.pumpUntil("problem", 5*time.Second, func() bool { return s.problem.box.Visible() })
	if s.problem.what.Text == "" || s.problem.todo.Text == "" && h.ui.st.Features.Fediverse {
		t.Errorf("problem = %q / %q", s.problem.what.Text, s.problem.todo.Text)
	}
}

func TestHelpers(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{10 * time.Second, "just now"}, {5 * time.Minute, "5 min"}, {2 * time.Hour, "2 h"}, {65 * time.Minute, "1 h 5 min"}} {
		if got := since(now.Add(-tc.d), now); got != tc.want {
			t.Errorf("since(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if since(time.Time{}, now) != "" {
		t.Error("zero time should give nothing")
	}
	for in, want := range map[string]string{"Alice Smith": "AS", "@bob@example": "BE", "": "?", "ünïcode": "Ü"} {
		if got := initials(in); got != want {
			t.Errorf("initials(%q) = %q, want %q", in, got, want)
		}
	}
	if clock(3723*time.Second) != "1:02:03" {
		t.Errorf("clock = %q", clock(3723*time.Second))
	}
	if bytesLabel(3<<20) != "3.0 MB" || kbpsLabel(2500) != "2.5 Mbit/s" {
		t.Errorf("labels %q %q", bytesLabel(3<<20), kbpsLabel(2500))
	}
}
