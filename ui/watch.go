package ui

import (
	"fmt"
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tributary-live/tributary/app"
)

// watchScreen is the player: video, its status, a stats overlay and the
// controls (volume, mute, latency mode, stats, fullscreen).
type watchScreen struct {
	u *UI

	video      *videoView
	title      *widget.Label
	who        *widget.Label
	badge      *fyne.Container
	badgeText  *canvas.Text
	header     *fyne.Container
	controls   *fyne.Container
	statsBox   *fyne.Container
	statsText  *widget.Label
	statusBox  *fyne.Container
	statusAct  *widget.Activity
	statusText *widget.Label
	statusTodo *widget.Label
	retry      *widget.Button
	browse     *widget.Button
	notice     *fyne.Container
	noticeText *canvas.Text

	mute     *widget.Button
	volume   *widget.Slider
	latency  *widget.Select
	statsBtn *widget.Button
	fullBtn  *widget.Button
	stopBtn  *widget.Button

	chat      *chatPanel
	root      fyne.CanvasObject
	showStats bool
	updating  bool
	lastVol   float64
	muted     bool
}

func newWatchScreen(u *UI) *watchScreen {
	w := &watchScreen{u: u}
	w.video = newVideoView(fyne.NewSize(480, 270))

	w.title = widget.NewLabelWithStyle("Nothing playing", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.title.SizeName = theme.SizeNameSubHeadingText
	w.title.Truncation = fyne.TextTruncateEllipsis
	w.who = subtle("")
	w.who.Wrapping = fyne.TextWrapOff
	w.who.Truncation = fyne.TextTruncateEllipsis
	badgeBG := canvas.NewRectangle(liveRed)
	badgeBG.CornerRadius = 4
	w.badgeText = canvas.NewText(" LIVE ", color.White)
	w.badgeText.TextStyle = fyne.TextStyle{Bold: true}
	w.badgeText.TextSize = 12
	w.badge = container.NewCenter(container.NewStack(badgeBG, container.NewPadded(w.badgeText)))
	w.badge.Hide()
	w.header = container.NewBorder(nil, nil, nil, w.badge, container.NewVBox(w.title, w.who))

	// Stats overlay, top left of the video.
	w.statsText = widget.NewLabel("")
	w.statsText.TextStyle = fyne.TextStyle{Monospace: true}
	statsBG := canvas.NewRectangle(color.NRGBA{0, 0, 0, 0xb0})
	statsBG.CornerRadius = 6
	w.statsBox = container.NewStack(statsBG, w.statsText)
	w.statsBox.Hide()
	// Bottom left, clear of the picture's top edge (where test patterns
	// carry their counters).
	statsLayer := container.NewPadded(container.NewVBox(spacer(), container.NewHBox(w.statsBox, spacer())))

	// Status in the middle: connecting, reconnecting, ended, failed, idle.
	w.statusAct = widget.NewActivity()
	w.statusText = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	w.statusText.Wrapping = fyne.TextWrapWord
	w.statusTodo = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	w.statusTodo.Wrapping = fyne.TextWrapWord
	w.retry = widget.NewButtonWithIcon("Try again", theme.ViewRefreshIcon(), func() { u.core.RetryPlaying() })
	w.retry.Importance = widget.HighImportance
	w.browse = widget.NewButtonWithIcon("Browse Live now", theme.HomeIcon(), func() { u.Show(ScreenLiveNow) })
	statusBG := canvas.NewRectangle(color.NRGBA{0x10, 0x14, 0x18, 0xd8})
	statusBG.CornerRadius = 10
	card := container.NewStack(statusBG, container.NewPadded(container.NewVBox(
		container.NewCenter(w.statusAct), w.statusText, w.statusTodo,
		container.NewCenter(container.NewHBox(w.retry, w.browse)))))
	w.statusBox = container.NewCenter(container.New(&maxWidth{w: 440}, card))

	// Reconnect notice, a strip at the bottom of the video while playing.
	w.noticeText = canvas.NewText("", color.White)
	w.noticeText.TextStyle = fyne.TextStyle{Bold: true}
	noticeBG := canvas.NewRectangle(color.NRGBA{0xc6, 0x28, 0x28, 0xd0})
	noticeBG.CornerRadius = 6
	w.notice = container.NewVBox(spacer(), container.NewCenter(container.NewStack(noticeBG, container.NewPadded(w.noticeText))))
	w.notice.Hide()

	videoArea := container.NewStack(w.video.box, statsLayer, w.statusBox, container.NewPadded(w.notice))

	// Controls.
	w.mute = widget.NewButtonWithIcon("", theme.VolumeUpIcon(), func() { u.core.SetMuted(!w.muted) })
	w.volume = widget.NewSlider(0, 100)
	w.volume.Step = 1
	w.volume.OnChangeEnded = func(v float64) {
		if !w.updating {
			u.core.SetVolume(v / 100)
		}
	}
	labels := make([]string, len(app.LatencyModes))
	for i, m := range app.LatencyModes {
		labels[i] = m.Label()
	}
	w.latency = widget.NewSelect(labels, func(l string) {
		if w.updating {
			return
		}
		for _, m := range app.LatencyModes {
			if m.Label() == l {
				u.core.SetLatency(m)
			}
		}
	})
	w.statsBtn = widget.NewButtonWithIcon("Stats", theme.InfoIcon(), func() {
		w.showStats = !w.showStats
		w.refreshStats(w.u.st)
	})
	w.fullBtn = widget.NewButtonWithIcon("", theme.ViewFullScreenIcon(), func() { u.setFullScreen(!u.full) })
	w.stopBtn = widget.NewButtonWithIcon("Stop", theme.MediaStopIcon(), func() { u.core.StopPlaying() })
	vol := container.New(&fixedWidth{w: 140}, w.volume)
	w.controls = container.NewHBox(w.mute, vol, spacer(), widget.NewLabel("Latency"), w.latency, w.statsBtn, w.stopBtn, w.fullBtn)

	w.chat = newChatPanel(func(t string) { u.core.SendChat(t) })
	w.root = container.NewBorder(container.NewPadded(w.header), container.NewPadded(w.controls), nil, container.NewPadded(w.chat.box), videoArea)
	return w
}

func (w *watchScreen) object() fyne.CanvasObject { return w.root }

// setFullScreen hides everything but the video and its controls.
func (w *watchScreen) setFullScreen(on bool) {
	w.header.Hidden = on
	w.chat.box.Hidden = on || !w.u.st.Chat.Available
	if on {
		w.fullBtn.SetIcon(theme.ViewRestoreIcon())
	} else {
		w.fullBtn.SetIcon(theme.ViewFullScreenIcon())
	}
}

func (w *watchScreen) update(s app.State) {
	w.updating = true
	defer func() { w.updating = false }()
	p := s.Player
	w.chat.update(s.Chat)
	if w.u.full {
		w.chat.box.Hide()
	}

	// Header.
	switch {
	case p.Status == app.PlayerIdle || p.Status == "":
		w.title.SetText("Nothing playing")
		w.who.SetText("")
	default:
		title := p.Stream.Title
		if title == "" {
			title = p.URL
		}
		w.title.SetText(title)
		who := p.Stream.Who
		if p.Stream.Handle != "" {
			who = strings.TrimSpace(who + "  " + p.Stream.Handle)
		}
		if p.Stream.Demo {
			who = "Demo broadcast from your personal relay"
		} else if p.Via != "" {
			// Which path the stream takes: through the home relay or
			// straight from the streamer's relay.
			who = strings.TrimSpace(who + "  ·  " + p.Via)
		}
		w.who.SetText(who)
	}
	w.who.Hidden = w.who.Text == ""
	w.badge.Hidden = p.Status != app.PlayerPlaying && p.Status != app.PlayerReconnecting

	// Status card.
	showCard := true
	w.retry.Hide()
	w.browse.Hide()
	w.statusTodo.SetText("")
	switch p.Status {
	case app.PlayerPlaying:
		showCard = false
	case app.PlayerConnecting:
		w.statusText.SetText(p.Step.Label)
		if p.Step.Label == "" {
			w.statusText.SetText("Connecting…")
		}
	case app.PlayerReconnecting:
		showCard = w.video.img.Hidden
		w.statusText.SetText(p.Step.Label)
		if p.Err != nil {
			w.statusTodo.SetText(p.Err.What)
		}
	case app.PlayerEnded:
		w.statusText.SetText("The broadcast has ended.")
		w.statusTodo.SetText("Thanks for watching. Find another stream in Live now.")
		w.browse.Show()
	case app.PlayerFailed:
		w.statusText.SetText("Playback stopped")
		if p.Err != nil {
			w.statusText.SetText(p.Err.What)
			w.statusTodo.SetText(p.Err.Todo)
		}
		if len(p.Stream.URLs) > 0 {
			w.retry.Show()
		}
		w.browse.Show()
	default:
		w.statusText.SetText("Nothing is playing.")
		w.statusTodo.SetText("Pick a stream in Live now, or open a stream link there.")
		w.browse.Show()
	}
	busy := p.Status == app.PlayerConnecting || p.Status == app.PlayerReconnecting
	if busy {
		w.statusAct.Show()
		w.statusAct.Start()
	} else {
		w.statusAct.Stop()
		w.statusAct.Hide()
	}
	w.statusTodo.Hidden = w.statusTodo.Text == ""
	w.statusBox.Hidden = !showCard
	if p.Status != app.PlayerPlaying && p.Status != app.PlayerReconnecting {
		w.video.clear()
	}

	// Reconnect notice over a frozen picture.
	if p.Status == app.PlayerReconnecting && !showCard {
		w.noticeText.Text = p.Step.Label
		w.noticeText.Refresh()
		w.notice.Show()
	} else if p.Status == app.PlayerPlaying && p.Reconnects > 0 && w.notice.Visible() {
		w.noticeText.Text = "Reconnected"
		w.noticeText.Refresh()
		w.notice.Hide()
	} else {
		w.notice.Hide()
	}

	// Controls.
	w.muted = s.Settings.Muted
	if s.Settings.Muted || s.Settings.Volume == 0 {
		w.mute.SetIcon(theme.VolumeMuteIcon())
	} else {
		w.mute.SetIcon(theme.VolumeUpIcon())
	}
	if v := s.Settings.Volume * 100; v != w.lastVol {
		w.lastVol = v
		w.volume.SetValue(v)
	}
	w.latency.SetSelected(s.Settings.Latency.Label())
	idle := p.Status == app.PlayerIdle || p.Status == ""
	if idle {
		w.stopBtn.Disable()
	} else {
		w.stopBtn.Enable()
	}
	w.refreshStats(s)
}

func (w *watchScreen) refreshStats(s app.State) {
	p := s.Player
	if !w.showStats || (p.Status != app.PlayerPlaying && p.Status != app.PlayerReconnecting) {
		w.statsBox.Hide()
		if w.showStats {
			w.statsBtn.Importance = widget.HighImportance
		} else {
			w.statsBtn.Importance = widget.MediumImportance
		}
		w.statsBtn.Refresh()
		return
	}
	w.statsBtn.Importance = widget.HighImportance
	w.statsBtn.Refresh()
	st := p.Stats
	path := strings.Join(st.RelayPath, " → ")
	if path == "" {
		path = hostOfURL(p.URL)
	}
	lines := []string{
		fmt.Sprintf("latency   %6.0f ms", st.LatencyMS),
		fmt.Sprintf("bitrate   %s", kbpsLabel(st.BitrateKbps)),
		fmt.Sprintf("frames    %d shown, %d dropped", st.Frames, st.Dropped),
		fmt.Sprintf("stalls    %d", st.Stalls),
		fmt.Sprintf("rtt       %6.1f ms", st.RTTMS),
	}
	if st.Width > 0 {
		lines = append(lines, fmt.Sprintf("video     %dx%d %s", st.Width, st.Height, st.Codec))
	}
	if p.Via != "" {
		path += " (" + p.Via + ")"
	}
	lines = append(lines, "relay     "+path, "mode      "+s.Settings.Latency.Label())
	if p.Reconnects > 0 {
		lines = append(lines, fmt.Sprintf("reconnects %d", p.Reconnects))
	}
	w.statsText.SetText(strings.Join(lines, "\n"))
	w.statsBox.Show()
}

func hostOfURL(raw string) string {
	if u, err := parseURL(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

// maxWidth lays out one object no wider than w.
type maxWidth struct{ w float32 }

func (m *maxWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	s := fyne.NewSize(0, 0)
	for _, o := range objs {
		ms := o.MinSize()
		s.Width = max(s.Width, min(ms.Width, m.w))
		s.Height = max(s.Height, ms.Height)
	}
	s.Width = max(s.Width, m.w)
	return s
}

func (m *maxWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(fyne.NewSize(min(size.Width, m.w), size.Height))
		o.Move(fyne.NewPos(0, 0))
	}
}
