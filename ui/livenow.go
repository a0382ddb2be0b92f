package ui

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tributary-live/tributary/app"
)

// liveNowScreen lists the live streams of the home timeline (and the demo
// broadcast), with refresh, an empty state that explains, and a field to
// open a stream URL by hand.
type liveNowScreen struct {
	u       *UI
	items   []app.Stream
	list    *widget.List
	empty   *fyne.Container
	emptyT  *widget.Label
	emptyB  *widget.Label
	signIn  *widget.Button
	step    *stepView
	problem *problemView
	updated *widget.Label
	refresh *widget.Button
	urlIn   *widget.Entry
	hint    *fyne.Container
	root    fyne.CanvasObject
}

func newLiveNowScreen(u *UI) *liveNowScreen {
	l := &liveNowScreen{u: u}
	l.refresh = widget.NewButtonWithIcon("Refresh", theme.ViewRefreshIcon(), func() { u.core.RefreshStreams() })
	l.updated = subtle("")
	l.updated.Wrapping = fyne.TextWrapOff
	l.step = newStepView()
	l.problem = newProblemView()

	l.urlIn = widget.NewEntry()
	l.urlIn.SetPlaceHolder("Paste a stream link: moqt://… or https://…")
	open := func() {
		if strings.TrimSpace(l.urlIn.Text) == "" {
			return
		}
		u.core.PlayURL(l.urlIn.Text)
		u.Show(ScreenWatch)
	}
	l.urlIn.OnSubmitted = func(string) { open() }
	openBtn := widget.NewButtonWithIcon("Watch", theme.MediaPlayIcon(), open)

	l.list = widget.NewList(
		func() int { return len(l.items) },
		func() fyne.CanvasObject { return newStreamRow(l) },
		func(id widget.ListItemID, o fyne.CanvasObject) {
			if id < len(l.items) {
				o.(*streamRow).set(l.items[id], time.Now())
			}
		})
	l.list.OnSelected = func(id widget.ListItemID) {
		l.list.UnselectAll()
		if id < len(l.items) && l.items[id].Playable() {
			u.core.Play(l.items[id])
			u.Show(ScreenWatch)
		}
	}

	l.emptyT = widget.NewLabelWithStyle("No one you follow is live right now", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	l.emptyT.SizeName = theme.SizeNameSubHeadingText
	l.emptyB = widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{})
	l.emptyB.Wrapping = fyne.TextWrapWord
	l.signIn = widget.NewButtonWithIcon("Sign in", theme.AccountIcon(), func() { u.Show(ScreenSignIn) })
	l.signIn.Importance = widget.HighImportance
	icon := widget.NewIcon(theme.MediaVideoIcon())
	iconBox := container.NewCenter(container.New(&fixedWidth{w: 64}, icon))
	l.empty = container.NewCenter(container.New(&maxWidth{w: 460}, container.NewVBox(iconBox, l.emptyT, l.emptyB, container.NewCenter(l.signIn))))
	l.empty.Hide()

	hintBtn := widget.NewButtonWithIcon("Sign in", theme.AccountIcon(), func() { u.Show(ScreenSignIn) })
	hintBtn.Importance = widget.HighImportance
	l.hint = container.NewBorder(widget.NewSeparator(), nil, nil, container.NewCenter(hintBtn),
		wrapped("Sign in with your Fediverse account to see the live streams of the people you follow."))
	l.hint.Hide()
	head := container.NewBorder(nil, nil, heading("Live now"), container.NewHBox(l.updated, l.refresh))
	openRow := container.NewBorder(nil, nil, nil, openBtn, l.urlIn)
	top := container.NewVBox(head, openRow, l.step.object(), l.problem.object())
	l.root = container.NewPadded(container.NewBorder(top, l.hint, nil, nil, container.NewStack(l.list, l.empty)))
	return l
}

func (l *liveNowScreen) object() fyne.CanvasObject { return l.root }

func (l *liveNowScreen) update(s app.State) {
	l.items = s.Streams.Items
	l.list.Refresh()
	l.step.set(s.Streams.Step)
	l.problem.set(s.Streams.Err)
	if !s.Streams.Updated.IsZero() {
		l.updated.SetText("Updated " + s.Streams.Updated.Format("15:04"))
	}
	l.refresh.Hidden = !s.Features.Fediverse || len(s.Accounts) == 0
	l.hint.Hidden = !s.Features.Fediverse || len(s.Accounts) > 0 || len(l.items) == 0
	if len(l.items) > 0 || s.Streams.Step.Busy {
		l.empty.Hide()
		return
	}
	switch {
	case !s.Features.Fediverse:
		l.emptyT.SetText("No live streams yet")
		l.emptyB.SetText("Open a stream link above. Streams from the people you follow will appear here in a build with Fediverse sign-in.")
		l.signIn.Hide()
	case len(s.Accounts) == 0:
		l.emptyT.SetText("See who is live")
		l.emptyB.SetText("Sign in with your Mastodon, GoToSocial, Akkoma or Pleroma account: streams announced by the people you follow show up here. You can also open a stream link above.")
		l.signIn.Show()
	default:
		l.emptyT.SetText("No one you follow is live right now")
		l.emptyB.SetText("When someone you follow announces a live stream, it shows up here within seconds. You can also open a stream link above.")
		l.signIn.Hide()
	}
	l.empty.Show()
}

// streamRow is one stream in the list.
type streamRow struct {
	widget.BaseWidget
	l     *liveNowScreen
	av    *avatar
	title *widget.Label
	meta  *widget.Label
	watch *widget.Button
	s     app.Stream
	box   *fyne.Container
}

func newStreamRow(l *liveNowScreen) *streamRow {
	r := &streamRow{l: l, av: newAvatar(44)}
	r.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.title.Truncation = fyne.TextTruncateEllipsis
	r.meta = subtle("")
	r.meta.Wrapping = fyne.TextWrapOff
	r.meta.Truncation = fyne.TextTruncateEllipsis
	r.watch = widget.NewButtonWithIcon("Watch", theme.MediaPlayIcon(), func() {
		if r.s.Playable() {
			l.u.core.Play(r.s)
			l.u.Show(ScreenWatch)
		} else if r.s.PageURL != "" {
			l.u.openURL(r.s.PageURL)
		}
	})
	r.box = container.NewBorder(nil, nil, container.NewCenter(r.av.box), container.NewCenter(r.watch), container.NewVBox(r.title, r.meta))
	r.ExtendBaseWidget(r)
	return r
}

// CreateRenderer implements fyne.Widget.
func (r *streamRow) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(r.box)
}

func (r *streamRow) set(s app.Stream, now time.Time) {
	r.s = s
	who := s.Who
	if who == "" {
		who = s.Handle
	}
	if s.Demo {
		who = "Tributary demo"
	}
	r.av.set(who)
	r.av.load(r.l.u, s.AvatarURL)
	title := s.Title
	if title == "" {
		title = "Untitled stream"
	}
	r.title.SetText(title)
	var meta []string
	if who != "" {
		meta = append(meta, who)
	}
	if s.Handle != "" && s.Handle != who {
		meta = append(meta, s.Handle)
	}
	switch s.State {
	case app.StreamLive:
		if d := since(s.StartedAt, now); d != "" {
			meta = append(meta, "live for "+d)
		} else {
			meta = append(meta, "live")
		}
	case app.StreamEnded:
		meta = append(meta, "ended")
	}
	if s.Demo {
		meta = append(meta, "on your personal relay")
	}
	if s.Viewers >= 0 {
		meta = append(meta, fmt.Sprintf("%d watching", s.Viewers))
	}
	r.meta.SetText(strings.Join(meta, " · "))
	switch {
	case s.Playable():
		r.watch.SetText("Watch")
		r.watch.SetIcon(theme.MediaPlayIcon())
		r.watch.Enable()
	case s.PageURL != "":
		r.watch.SetText("Open page")
		r.watch.SetIcon(theme.ComputerIcon())
		r.watch.Enable()
	default:
		r.watch.Disable()
	}
	if s.State == app.StreamEnded {
		r.watch.Disable()
	}
}
