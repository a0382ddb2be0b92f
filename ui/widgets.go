package ui

import (
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"net/url"
	"strings"
	"time"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tributary-live/tributary/app"
)

// problemView shows an app.Problem: what happened, in bold, and what to do.
type problemView struct {
	what, todo *widget.Label
	close      *widget.Button
	box        *fyne.Container
	dismiss    func()
	cur        *app.Problem
}

func newProblemView() *problemView {
	p := &problemView{}
	p.what = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.what.Wrapping = fyne.TextWrapWord
	p.what.Importance = widget.DangerImportance
	p.todo = widget.NewLabel("")
	p.todo.Wrapping = fyne.TextWrapWord
	p.close = widget.NewButtonWithIcon("", theme.CancelIcon(), func() {
		if p.dismiss != nil {
			p.dismiss()
		}
	})
	p.close.Importance = widget.LowImportance
	icon := widget.NewIcon(theme.ErrorIcon())
	bg := canvas.NewRectangle(color.NRGBA{0xe5, 0x39, 0x35, 0x22})
	bg.CornerRadius = 6
	bg.StrokeColor = color.NRGBA{0xe5, 0x39, 0x35, 0x88}
	bg.StrokeWidth = 1
	body := container.NewBorder(nil, nil, container.NewVBox(icon), container.NewVBox(p.close), container.NewVBox(p.what, p.todo))
	p.box = container.NewStack(bg, container.NewPadded(body))
	p.box.Hide()
	return p
}

func (p *problemView) object() fyne.CanvasObject { return p.box }

// set shows pr, or hides the view for nil.
func (p *problemView) set(pr *app.Problem) {
	p.close.Hidden = p.dismiss == nil
	if pr == nil {
		p.cur = nil
		p.box.Hide()
		return
	}
	if p.cur != nil && *p.cur == *pr && p.box.Visible() {
		return
	}
	c := *pr
	p.cur = &c
	p.what.SetText(pr.What)
	p.todo.SetText(pr.Todo)
	p.todo.Hidden = pr.Todo == ""
	p.box.Show()
	p.box.Refresh()
}

// stepView shows a long step in progress: a spinner and what is happening.
type stepView struct {
	act   *widget.Activity
	label *widget.Label
	box   *fyne.Container
}

func newStepView() *stepView {
	s := &stepView{act: widget.NewActivity(), label: widget.NewLabel("")}
	s.label.Wrapping = fyne.TextWrapWord
	s.box = container.NewBorder(nil, nil, s.act, nil, s.label)
	s.box.Hide()
	return s
}

func (s *stepView) object() fyne.CanvasObject { return s.box }

func (s *stepView) set(st app.Step) {
	if !st.Busy {
		if s.box.Visible() {
			s.act.Stop()
			s.box.Hide()
		}
		return
	}
	s.label.SetText(st.Label)
	if !s.box.Visible() {
		s.box.Show()
		s.act.Start()
	}
}

// videoView is a black area that shows frames, letterboxed.
type videoView struct {
	bg  *canvas.Rectangle
	img *canvas.Image
	box *fyne.Container
}

func newVideoView(min fyne.Size) *videoView {
	v := &videoView{bg: canvas.NewRectangle(color.Black)}
	v.img = canvas.NewImageFromImage(image.NewNRGBA(image.Rect(0, 0, 16, 9)))
	v.img.FillMode = canvas.ImageFillContain
	v.img.ScaleMode = canvas.ImageScaleFastest
	v.img.Hide()
	v.bg.SetMinSize(min)
	v.box = container.NewStack(v.bg, v.img)
	return v
}

// show draws img; Fyne thread.
func (v *videoView) show(img image.Image) {
	v.img.Image = img
	if !v.img.Visible() {
		v.img.Show()
	}
	v.img.Refresh()
}

// clear removes the picture.
func (v *videoView) clear() {
	v.img.Hide()
}

// heading is a screen title.
func heading(text string) *widget.Label {
	l := widget.NewLabelWithStyle(text, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	l.SizeName = theme.SizeNameHeadingText
	return l
}

// wrapped is a label that wraps words.
func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// subtle is a secondary label: smaller text.
func subtle(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.SizeName = theme.SizeNameCaptionText
	l.Wrapping = fyne.TextWrapWord
	return l
}

// levelMeter is a thin horizontal bar showing a level from 0 to 1.
type levelMeter struct {
	widget.BaseWidget
	bg, fg *canvas.Rectangle
	value  float64
}

func newLevelMeter() *levelMeter {
	m := &levelMeter{bg: canvas.NewRectangle(color.NRGBA{0x80, 0x80, 0x80, 0x40}), fg: canvas.NewRectangle(teal)}
	m.bg.CornerRadius, m.fg.CornerRadius = 3, 3
	m.ExtendBaseWidget(m)
	return m
}

// SetValue shows v (clamped to 0..1); green up to 0.8, then red.
func (m *levelMeter) SetValue(v float64) {
	m.value = min(max(v, 0), 1)
	if m.value > 0.8 {
		m.fg.FillColor = liveRed
	} else {
		m.fg.FillColor = teal
	}
	m.Refresh()
}

// CreateRenderer implements fyne.Widget.
func (m *levelMeter) CreateRenderer() fyne.WidgetRenderer {
	return &levelRenderer{m: m}
}

type levelRenderer struct{ m *levelMeter }

func (r *levelRenderer) Layout(s fyne.Size) {
	h := float32(8)
	y := (s.Height - h) / 2
	r.m.bg.Move(fyne.NewPos(0, y))
	r.m.bg.Resize(fyne.NewSize(s.Width, h))
	r.m.fg.Move(fyne.NewPos(0, y))
	r.m.fg.Resize(fyne.NewSize(s.Width*float32(r.m.value), h))
}

func (r *levelRenderer) MinSize() fyne.Size { return fyne.NewSize(100, 16) }

func (r *levelRenderer) Refresh() {
	r.Layout(r.m.Size())
	r.m.bg.Refresh()
	r.m.fg.Refresh()
}

func (r *levelRenderer) Objects() []fyne.CanvasObject { return []fyne.CanvasObject{r.m.bg, r.m.fg} }

func (r *levelRenderer) Destroy() {}

// avatar is a round picture, or a coloured circle with initials until the
// picture has arrived (or when there is none).
type avatar struct {
	circle *canvas.Circle
	text   *canvas.Text
	pic    *canvas.Image
	box    *fyne.Container
	url    string
}

func newAvatar(size float32) *avatar {
	a := &avatar{circle: canvas.NewCircle(teal), text: canvas.NewText("", color.White)}
	a.text.TextStyle = fyne.TextStyle{Bold: true}
	a.text.TextSize = size * 0.4
	a.text.Alignment = fyne.TextAlignCenter
	a.pic = canvas.NewImageFromImage(nil)
	a.pic.FillMode = canvas.ImageFillContain
	a.pic.CornerRadius = size / 2
	a.pic.Hide()
	bg := canvas.NewRectangle(color.Transparent)
	bg.SetMinSize(fyne.NewSquareSize(size))
	a.box = container.NewStack(bg, a.circle, container.NewCenter(a.text), a.pic)
	return a
}

func (a *avatar) set(name string) {
	a.text.Text = initials(name)
	a.circle.FillColor = colourFor(name)
	a.box.Refresh()
}

// load shows the picture at raw once the core has fetched it; an empty or
// failing URL keeps the initials.
func (a *avatar) load(u *UI, raw string) {
	if raw == a.url {
		return
	}
	a.url = raw
	a.pic.Hide()
	if raw == "" {
		return
	}
	u.core.Avatar(raw, func(img image.Image) {
		if img == nil {
			return
		}
		u.do(func() {
			if a.url == raw {
				a.pic.Image = img
				a.pic.Show()
				a.pic.Refresh()
			}
		})
	})
}

func initials(name string) string {
	name = strings.TrimLeft(name, "@")
	var out []rune
	for _, w := range strings.FieldsFunc(name, func(r rune) bool { return r == ' ' || r == '@' || r == '.' || r == '_' }) {
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, unicode.ToUpper(r))
				break
			}
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

var palette = []color.NRGBA{
	{0x0f, 0x8f, 0x9c, 0xff}, {0x5c, 0x6b, 0xc0, 0xff}, {0xd8, 0x1b, 0x60, 0xff}, {0x43, 0xa0, 0x47, 0xff},
	{0xf4, 0x51, 0x1e, 0xff}, {0x8e, 0x24, 0xaa, 0xff}, {0x00, 0x89, 0x7b, 0xff}, {0x6d, 0x4c, 0x41, 0xff},
}

func colourFor(s string) color.NRGBA {
	h := fnv.New32a()
	h.Write([]byte(s))
	return palette[h.Sum32()%uint32(len(palette))]
}

// accountChip is the signed-in account at the bottom of the sidebar, or a
// Sign in button.
type accountChip struct {
	u      *UI
	av     *avatar
	name   *widget.Label
	handle *widget.Label
	signIn *widget.Button
	who    *fyne.Container
	box    *fyne.Container
}

func newAccountChip(u *UI) *accountChip {
	a := &accountChip{u: u, av: newAvatar(32)}
	a.name = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	a.name.Truncation = fyne.TextTruncateEllipsis
	a.handle = subtle("")
	a.handle.Wrapping = fyne.TextWrapOff
	a.handle.Truncation = fyne.TextTruncateEllipsis
	a.handle.SizeName = theme.SizeNameCaptionText
	a.signIn = widget.NewButtonWithIcon("Sign in", theme.AccountIcon(), func() { u.Show(ScreenSignIn) })
	a.signIn.Importance = widget.HighImportance
	open := widget.NewButton("", func() { u.Show(ScreenSettings) })
	open.Importance = widget.LowImportance
	names := container.New(layout.NewCustomPaddedVBoxLayout(-8), a.name, a.handle)
	a.who = container.NewStack(open, container.NewBorder(nil, nil, container.NewCenter(a.av.box), nil, container.NewCenter(names)))
	a.box = container.NewStack(a.signIn, a.who)
	a.who.Hide()
	a.signIn.Hide()
	return a
}

func (a *accountChip) object() fyne.CanvasObject { return a.box }

func (a *accountChip) update(s app.State) {
	if !s.Features.Fediverse {
		a.signIn.Hide()
		a.who.Hide()
		return
	}
	if len(s.Accounts) == 0 {
		a.who.Hide()
		a.signIn.Show()
		return
	}
	acc := s.Accounts[0]
	name := acc.DisplayName
	if name == "" {
		name = strings.SplitN(strings.TrimPrefix(acc.Handle, "@"), "@", 2)[0]
	}
	a.av.set(name)
	a.av.load(a.u, acc.AvatarURL)
	a.name.SetText(name)
	a.handle.SetText(acc.Handle)
	a.signIn.Hide()
	a.who.Show()
}

func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", raw, err)
	}
	return u, nil
}

// since says how long ago t was, briefly ("3 min", "1 h 5 min").
func since(t, now time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := now.Sub(t)
	if d < time.Minute {
		return "just now"
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	if h == 0 {
		return fmt.Sprintf("%d min", m)
	}
	if m == 0 {
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

// clock formats d as h:mm:ss.
func clock(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

// bytesLabel formats a byte count for people.
func bytesLabel(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// kbpsLabel formats a bitrate.
func kbpsLabel(k float64) string {
	if k >= 1000 {
		return fmt.Sprintf("%.1f Mbit/s", k/1000)
	}
	return fmt.Sprintf("%.0f kbit/s", k)
}
