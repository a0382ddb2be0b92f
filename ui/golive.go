package ui

import (
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tributary-live/tributary/app"
)

// goLiveScreen broadcasts from a camera and microphone: preview, device
// pickers, microphone meter, title, visibility, announce, start and stop,
// and while live the elapsed time, viewers and upload bitrate.
type goLiveScreen struct {
	chat     *chatPanel
	u        *UI
	preview  *videoView
	meter    *levelMeter
	titleIn  *widget.Entry
	camera   *widget.Select
	mic      *widget.Select
	vis      *widget.Select
	announce *widget.Check
	start    *widget.Button
	stop     *widget.Button
	step     *stepView
	problem  *problemView
	onAir    *widget.Label
	figures  *widget.Label
	link     *widget.Label
	noDevice *widget.Label
	form     *widget.Form
	root     fyne.CanvasObject
	live     *fyne.Container

	st       app.State
	updating bool
}

func newGoLiveScreen(u *UI) *goLiveScreen {
	g := &goLiveScreen{u: u}
	g.preview = newVideoView(fyne.NewSize(400, 225))
	g.meter = newLevelMeter()
	g.titleIn = widget.NewEntry()
	g.titleIn.SetPlaceHolder("What is your stream about?")
	g.titleIn.OnChanged = func(string) { g.changed() }
	g.camera = widget.NewSelect(nil, func(string) { g.changed() })
	g.camera.PlaceHolder = "No camera"
	g.mic = widget.NewSelect(nil, func(string) { g.changed() })
	g.mic.PlaceHolder = "No microphone"
	vis := make([]string, len(app.Visibilities))
	for i, v := range app.Visibilities {
		vis[i] = v.Label()
	}
	g.vis = widget.NewSelect(vis, func(string) { g.changed() })
	g.announce = widget.NewCheck("Announce to my followers", func(bool) { g.changed() })
	g.start = widget.NewButtonWithIcon("Go live", theme.MediaRecordIcon(), func() {
		g.changed()
		u.core.GoLive()
	})
	g.start.Importance = widget.DangerImportance
	g.stop = widget.NewButtonWithIcon("End stream", theme.MediaStopIcon(), func() { u.core.EndLive() })
	g.stop.Importance = widget.HighImportance
	g.stop.Hide()
	g.step = newStepView()
	g.problem = newProblemView()
	g.onAir = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	g.onAir.Importance = widget.DangerImportance
	g.onAir.SizeName = theme.SizeNameSubHeadingText
	g.figures = widget.NewLabel("")
	g.link = widget.NewLabel("")
	g.link.Selectable = true
	g.link.Truncation = fyne.TextTruncateEllipsis
	copyBtn := widget.NewButtonWithIcon("", theme.ContentCopyIcon(), func() {
		u.fapp.Clipboard().SetContent(g.link.Text)
	})
	linkRow := container.NewBorder(nil, nil, nil, copyBtn, g.link)
	g.noDevice = subtle("")

	g.form = widget.NewForm(
		widget.NewFormItem("Title", g.titleIn),
		widget.NewFormItem("Camera", g.camera),
		widget.NewFormItem("Microphone", g.mic),
		widget.NewFormItem("Visibility", g.vis),
		widget.NewFormItem("", g.announce),
	)
	liveBox := container.NewVBox(g.onAir, g.figures, linkRow)
	liveBox.Hide()
	g.onAir.Hide()
	left := container.NewVBox(g.preview.box, container.NewBorder(nil, nil, widget.NewIcon(theme.VolumeUpIcon()), nil, g.meter), g.noDevice)
	right := container.NewVBox(g.form, container.NewHBox(g.start, g.stop), g.step.object(), liveBox)
	// The streamer sees the same chat as the viewers, beside the controls.
	g.chat = newChatPanel(func(t string) { u.core.SendLiveChat(t) })
	g.root = container.NewPadded(container.NewBorder(
		container.NewVBox(heading("Go live"), g.problem.object()), nil, nil, container.NewPadded(g.chat.box),
		container.NewVScroll(container.NewGridWithColumns(2, left, right))))
	g.live = liveBox
	return g
}

func (g *goLiveScreen) object() fyne.CanvasObject { return g.root }

func (g *goLiveScreen) shown(open bool) {
	if open {
		g.u.core.OpenGoLive()
	} else {
		g.u.core.CloseGoLive()
	}
}

// changed sends the form's choices to the core.
func (g *goLiveScreen) changed() {
	if g.updating {
		return
	}
	o := g.st.Live.Options
	o.Title = g.titleIn.Text
	o.Camera = deviceID(g.st.Live.Cameras, g.camera.Selected)
	o.Microphone = deviceID(g.st.Live.Microphones, g.mic.Selected)
	for _, v := range app.Visibilities {
		if v.Label() == g.vis.Selected {
			o.Visibility = v
		}
	}
	if !g.announce.Disabled() {
		o.Announce = g.announce.Checked
	}
	g.st.Live.Options = o
	g.u.core.SetLiveOptions(o)
}

func deviceID(ds []app.Device, label string) string {
	for _, d := range ds {
		if d.Label == label {
			return d.ID
		}
	}
	return ""
}

func deviceLabels(ds []app.Device) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Label
	}
	return out
}

func deviceLabel(ds []app.Device, id string) string {
	for _, d := range ds {
		if d.ID == id {
			return d.Label
		}
	}
	return ""
}

func (g *goLiveScreen) update(s app.State) {
	g.updating = true
	defer func() { g.updating = false }()
	g.st = s
	l := s.Live
	g.chat.update(l.Chat)
	if g.titleIn.Text != l.Options.Title && !g.titleFocused() {
		g.titleIn.SetText(l.Options.Title)
	}
	g.camera.SetOptions(deviceLabels(l.Cameras))
	g.camera.SetSelected(deviceLabel(l.Cameras, l.Options.Camera))
	g.mic.SetOptions(deviceLabels(l.Microphones))
	g.mic.SetSelected(deviceLabel(l.Microphones, l.Options.Microphone))
	g.vis.SetSelected(l.Options.Visibility.Label())
	g.announce.SetChecked(l.Options.Announce && s.Features.Fediverse && len(s.Accounts) > 0)
	if !s.Features.Fediverse || len(s.Accounts) == 0 {
		g.announce.Disable()
		g.announce.Text = "Announce to my followers (sign in first)"
		g.vis.Disable()
	} else {
		g.announce.Enable()
		g.announce.Text = "Announce to my followers as " + s.Accounts[0].Handle
		g.vis.Enable()
	}
	g.announce.Refresh()
	g.meter.SetValue(l.MicLevel)
	g.step.set(l.Step)
	g.problem.set(l.Err)
	switch {
	case len(l.Cameras) == 0 && !l.Step.Busy:
		g.noDevice.SetText("No camera found: viewers will see a test pattern. Connect a camera and open this screen again.")
		g.noDevice.Show()
	default:
		g.noDevice.Hide()
	}
	if l.Live {
		g.start.Hide()
		g.stop.Show()
		g.setFormEnabled(false)
		g.onAir.SetText("● LIVE  " + clock(time.Since(l.Since)))
		g.onAir.Show()
		viewers := "viewers unknown"
		if l.Viewers >= 0 {
			viewers = fmt.Sprintf("%d watching", l.Viewers)
		}
		g.figures.SetText(viewers + " · uploading " + kbpsLabel(l.UploadKbps))
		g.link.SetText(l.URL)
		g.live.Show()
	} else {
		g.stop.Hide()
		g.start.Show()
		g.setFormEnabled(true)
		if l.Step.Busy {
			g.start.Disable()
		} else {
			g.start.Enable()
		}
		if !s.Features.Fediverse || len(s.Accounts) == 0 {
			g.announce.Disable()
			g.vis.Disable()
		}
		g.live.Hide()
	}
}

func (g *goLiveScreen) titleFocused() bool {
	c := g.u.win.Canvas()
	return c != nil && c.Focused() == g.titleIn
}

func (g *goLiveScreen) setFormEnabled(on bool) {
	for _, w := range []fyne.Disableable{g.titleIn, g.camera, g.mic, g.vis, g.announce} {
		if on {
			w.Enable()
		} else {
			w.Disable()
		}
	}
}
