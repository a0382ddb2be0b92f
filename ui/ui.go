// Package ui is Tributary's desktop interface, built with Fyne. It shows the
// state the app core reports and turns clicks into calls on the core; it
// owns no state of its own beyond what is on screen. Every update that comes
// from a background goroutine reaches the widgets through fyne.Do.
package ui

import (
	"image"
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tributary-live/tributary/app"
	"github.com/tributary-live/tributary/assets"
)

// ScreenID names a screen of the window.
type ScreenID string

// The screens of the window.
const (
	// ScreenWatch is the player.
	ScreenWatch ScreenID = "watch"
	// ScreenLiveNow lists live streams.
	ScreenLiveNow ScreenID = "livenow"
	// ScreenGoLive broadcasts from camera and microphone.
	ScreenGoLive ScreenID = "golive"
	// ScreenRelay is the personal relay.
	ScreenRelay ScreenID = "relay"
	// ScreenSettings holds accounts and preferences.
	ScreenSettings ScreenID = "settings"
	// ScreenSignIn signs in to a Fediverse account.
	ScreenSignIn ScreenID = "signin"
)

// screen is one page of the window.
type screen interface {
	// object is the screen's content.
	object() fyne.CanvasObject
	// update shows s; it runs on the Fyne thread.
	update(s app.State)
}

// shown is implemented by screens that act when they open or close.
type shown interface {
	shown(open bool)
}

// Icon is the app icon as a Fyne resource.
var Icon = fyne.NewStaticResource("icon.png", assets.IconPNG)

// UI is Tributary's main window.
type UI struct {
	core *app.Core
	fapp fyne.App
	win  fyne.Window
	do   func(func())

	// Fyne thread only.
	st       app.State
	screens  map[ScreenID]screen
	current  ScreenID
	navBtns  map[ScreenID]*widget.Button
	content  *fyne.Container
	sidebar  fyne.CanvasObject
	account  *accountChip
	notice   *problemView
	lastAuth string
	full     bool

	// The bridge from the core's goroutine to the Fyne thread.
	closed    atomic.Bool
	mu        sync.Mutex
	pending   *app.State
	scheduled bool

	watch   *watchScreen
	golive  *goLiveScreen
	frames  frameBridge
	preview frameBridge
}

// Option changes how New builds the UI.
type Option func(*UI)

// WithDispatch replaces fyne.Do (see mainDo) as the way background updates reach the
// widgets (tests queue them and run them on the test goroutine).
func WithDispatch(do func(func())) Option { return func(u *UI) { u.do = do } }

// New builds the main window of fapp over core and registers with the core
// for state and video. Call core.Start after New so the first state reaches
// a ready window.
func New(fapp fyne.App, core *app.Core, opts ...Option) *UI {
	u := &UI{core: core, fapp: fapp, do: mainDo(goroutineID()), navBtns: map[ScreenID]*widget.Button{}}
	for _, o := range opts {
		o(u)
	}
	fapp.SetIcon(Icon)
	fapp.Settings().SetTheme(&tributaryTheme{})
	u.win = fapp.NewWindow("Tributary")
	u.win.SetIcon(Icon)
	u.win.Resize(fyne.NewSize(1180, 760))

	u.watch = newWatchScreen(u)
	u.golive = newGoLiveScreen(u)
	u.screens = map[ScreenID]screen{
		ScreenWatch:    u.watch,
		ScreenLiveNow:  newLiveNowScreen(u),
		ScreenGoLive:   u.golive,
		ScreenRelay:    newRelayScreen(u),
		ScreenSettings: newSettingsScreen(u),
		ScreenSignIn:   newSignInScreen(u),
	}
	u.content = container.NewStack()
	u.notice = newProblemView()
	u.notice.dismiss = func() { u.notice.set(nil) }
	u.sidebar = u.buildSidebar()
	main := container.NewBorder(container.NewPadded(u.notice.object()), nil, nil, nil, u.content)
	u.win.SetContent(container.NewBorder(nil, nil, u.sidebar, nil, main))
	u.win.Canvas().SetOnTypedKey(func(k *fyne.KeyEvent) {
		if k.Name == fyne.KeyEscape && u.full {
			u.setFullScreen(false)
		}
	})
	u.frames = frameBridge{do: u.do, show: u.watch.video.show, closed: &u.closed}
	u.preview = frameBridge{do: u.do, show: u.golive.preview.show, closed: &u.closed}
	u.apply(core.State())
	u.Show(ScreenWatch)
	core.SetVideoSink(&u.frames)
	core.SetPreviewSink(&u.preview)
	core.AddListener(u)
	detach := func() {
		u.closed.Store(true)
		core.SetVideoSink(nil)
		core.SetPreviewSink(nil)
	}
	u.win.SetOnClosed(detach)
	fapp.Lifecycle().SetOnStopped(detach)
	return u
}

// Window is the main window.
func (u *UI) Window() fyne.Window { return u.win }

// Current is the screen shown.
func (u *UI) Current() ScreenID { return u.current }

// StateChanged takes the core's state (on the core's goroutine) and shows it
// on the Fyne thread, coalescing bursts so only the newest is drawn.
func (u *UI) StateChanged(s app.State) {
	if u.closed.Load() {
		return
	}
	u.mu.Lock()
	u.pending = &s
	sched := !u.scheduled
	u.scheduled = true
	u.mu.Unlock()
	if sched {
		u.do(u.applyPending)
	}
}

func (u *UI) applyPending() {
	if u.closed.Load() {
		return
	}
	u.mu.Lock()
	s := u.pending
	u.pending = nil
	u.scheduled = false
	u.mu.Unlock()
	if s != nil {
		u.apply(*s)
	}
}

// apply shows s on every screen; Fyne thread.
func (u *UI) apply(s app.State) {
	u.st = s
	u.navBtns[ScreenGoLive].Hidden = !s.Features.GoLive
	u.navBtns[ScreenRelay].Hidden = !s.Features.Relay
	u.navBtns[ScreenLiveNow].Hidden = false
	u.account.update(s)
	u.notice.set(s.Notice)
	if s.SignIn.AuthURL != "" && s.SignIn.AuthURL != u.lastAuth {
		u.lastAuth = s.SignIn.AuthURL
		u.openURL(s.SignIn.AuthURL)
	}
	for _, sc := range u.screens {
		sc.update(s)
	}
	u.sidebar.Refresh()
}

// Show switches to screen id.
func (u *UI) Show(id ScreenID) {
	sc, ok := u.screens[id]
	if !ok {
		return
	}
	if u.current == id {
		return
	}
	if old, ok := u.screens[u.current].(shown); ok {
		old.shown(false)
	}
	u.current = id
	for bid, b := range u.navBtns {
		if bid == id {
			b.Importance = widget.HighImportance
		} else {
			b.Importance = widget.LowImportance
		}
		b.Refresh()
	}
	u.content.Objects = []fyne.CanvasObject{sc.object()}
	u.content.Refresh()
	if n, ok := sc.(shown); ok {
		n.shown(true)
	}
}

func (u *UI) setFullScreen(on bool) {
	u.full = on
	u.win.SetFullScreen(on)
	if on {
		u.Show(ScreenWatch)
		u.sidebar.Hide()
	} else {
		u.sidebar.Show()
	}
	u.watch.setFullScreen(on)
}

func (u *UI) openURL(raw string) {
	if p, err := parseURL(raw); err == nil {
		if err := u.fapp.OpenURL(p); err != nil {
			fyne.LogError("open browser", err)
		}
	}
}

func (u *UI) buildSidebar() fyne.CanvasObject {
	logo := canvas.NewImageFromResource(Icon)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSquareSize(36))
	name := widget.NewLabelWithStyle("Tributary", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.SizeName = theme.SizeNameSubHeadingText
	head := container.NewHBox(logo, name)

	nav := container.NewVBox()
	add := func(id ScreenID, label string, icon fyne.Resource) {
		b := widget.NewButtonWithIcon(label, icon, func() { u.Show(id) })
		b.Alignment = widget.ButtonAlignLeading
		b.Importance = widget.LowImportance
		u.navBtns[id] = b
		nav.Add(b)
	}
	add(ScreenWatch, "Watch", theme.MediaPlayIcon())
	add(ScreenLiveNow, "Live now", theme.HomeIcon())
	add(ScreenGoLive, "Go live", theme.MediaRecordIcon())
	add(ScreenRelay, "Relay", theme.StorageIcon())
	add(ScreenSettings, "Settings", theme.SettingsIcon())
	u.navBtns[ScreenGoLive].Hide()
	u.navBtns[ScreenRelay].Hide()

	u.account = newAccountChip(u)
	body := container.NewBorder(container.NewVBox(head, widget.NewSeparator(), nav), container.NewVBox(widget.NewSeparator(), u.account.object()), nil, nil)
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameHeaderBackground))
	side := container.NewStack(bg, container.NewPadded(body))
	return container.NewBorder(nil, nil, nil, widget.NewSeparator(), container.New(&fixedWidth{w: 200}, side))
}

// fixedWidth lays its objects out at a fixed width.
type fixedWidth struct{ w float32 }

func (f *fixedWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	h := float32(0)
	for _, o := range objs {
		h = max(h, o.MinSize().Height)
	}
	return fyne.NewSize(f.w, h)
}

func (f *fixedWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Resize(fyne.NewSize(f.w, size.Height))
		o.Move(fyne.NewPos(0, 0))
	}
}

// frameBridge hands video frames from the player's goroutine to an image on
// the Fyne thread, keeping only the newest frame when the UI falls behind.
type frameBridge struct {
	do        func(func())
	show      func(image.Image)
	closed    *atomic.Bool
	latest    atomic.Pointer[image.Image]
	scheduled atomic.Bool
	shown     atomic.Int64
}

// VideoFrame implements app.VideoSink.
func (b *frameBridge) VideoFrame(img image.Image) {
	if b.closed.Load() {
		return
	}
	b.latest.Store(&img)
	if b.scheduled.CompareAndSwap(false, true) {
		b.do(b.flush)
	}
}

func (b *frameBridge) flush() {
	b.scheduled.Store(false)
	if p := b.latest.Swap(nil); p != nil {
		b.show(*p)
		b.shown.Add(1)
	}
}

// FramesShown counts frames drawn in the player (for tests).
func (u *UI) FramesShown() int64 { return u.frames.shown.Load() }

// spacer is a flexible space.
func spacer() fyne.CanvasObject { return layout.NewSpacer() }
