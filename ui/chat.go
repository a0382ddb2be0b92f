package ui

import (
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tributary-live/tributary/app"
)

// chatPanel shows a stream's chat (the replies to its post), newest at the
// bottom, and a field to write in. Every text is shown as plain text in
// labels (never markup); a message under a content warning shows the
// warning and stays folded until its Show button is pressed.
type chatPanel struct {
	box      *fyne.Container
	list     *fyne.Container
	scroll   *container.Scroll
	entry    *widget.Entry
	send     *widget.Button
	problem  *widget.Label
	ids      []string
	revealed map[string]bool
	last     app.ChatState
}

// chatWidth is the panel's width beside the video.
const chatWidth = 300

func newChatPanel(send func(string)) *chatPanel {
	p := &chatPanel{revealed: map[string]bool{}}
	p.list = container.NewVBox()
	p.scroll = container.NewVScroll(p.list)
	p.entry = widget.NewEntry()
	p.entry.SetPlaceHolder("Say something…")
	submit := func() {
		if t := p.entry.Text; t != "" {
			send(t)
			p.entry.SetText("")
		}
	}
	p.entry.OnSubmitted = func(string) { submit() }
	p.send = widget.NewButtonWithIcon("", theme.MailSendIcon(), submit)
	p.problem = subtle("")
	p.problem.Hide()
	title := widget.NewLabelWithStyle("Chat", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	bottom := container.NewVBox(p.problem, container.NewBorder(nil, nil, nil, p.send, p.entry))
	p.box = container.New(&fixedWidth{w: chatWidth}, container.NewBorder(title, bottom, nil, nil, p.scroll))
	p.box.Hide()
	return p
}

// update shows st; rows are rebuilt only when the messages change.
func (p *chatPanel) update(st app.ChatState) {
	p.box.Hidden = !st.Available
	p.send.Disable()
	if !st.Sending {
		p.send.Enable()
	}
	if st.Err != nil {
		p.problem.SetText(st.Err.What)
		p.problem.Show()
	} else {
		p.problem.Hide()
	}
	ids := make([]string, len(st.Messages))
	for i, m := range st.Messages {
		ids[i] = m.ID
	}
	p.last = st
	if slices.Equal(ids, p.ids) {
		return
	}
	p.ids = ids
	for id := range p.revealed {
		if !slices.Contains(ids, id) {
			delete(p.revealed, id)
		}
	}
	p.rebuild()
	p.scroll.ScrollToBottom()
}

func (p *chatPanel) rebuild() {
	objs := make([]fyne.CanvasObject, 0, len(p.last.Messages))
	for _, m := range p.last.Messages {
		objs = append(objs, p.row(m))
	}
	p.list.Objects = objs
	p.list.Refresh()
}

// row is one message: the author, then the text or its warning.
func (p *chatPanel) row(m app.ChatMessage) fyne.CanvasObject {
	who := m.Who
	if who == "" {
		who = m.Handle
	}
	name := widget.NewLabelWithStyle(who, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	name.Truncation = fyne.TextTruncateEllipsis
	text := widget.NewLabel(m.Text)
	text.Wrapping = fyne.TextWrapWord
	if m.Warning == "" || p.revealed[m.ID] {
		return container.NewVBox(name, text)
	}
	warn := widget.NewLabel("⚠ " + m.Warning)
	warn.Wrapping = fyne.TextWrapWord
	id := m.ID
	show := widget.NewButton("Show", func() {
		p.revealed[id] = true
		p.rebuild()
	})
	return container.NewVBox(name, container.NewBorder(nil, nil, nil, show, warn))
}
