package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/tributary-live/tributary/app"
)

// labelsIn returns the texts of the labels under o.
func labelsIn(o fyne.CanvasObject) []string {
	var out []string
	var walk func(fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		switch x := o.(type) {
		case *widget.Label:
			out = append(out, x.Text)
		case *fyne.Container:
			for _, c := range x.Objects {
				walk(c)
			}
		}
	}
	walk(o)
	return out
}

// TestChatPanel: messages show as plain text, newest last; a message under a
// content warning shows the warning until Show is pressed; the field sends
// what was typed and clears; the panel is hidden when there is no chat.
func TestChatPanel(t *testing.T) {
	test.NewTempApp(t)
	var sent []string
	p := newChatPanel(func(s string) { sent = append(sent, s) })
	p.update(app.ChatState{})
	if p.box.Visible() {
		t.Error("panel shown with no chat")
	}
	st := app.ChatState{Available: true, Messages: []app.ChatMessage{
		{ID: "1", Who: "Carol", Text: "<b>hi</b>"},
		{ID: "2", Who: "Dan", Text: "the ending!", Warning: "spoilers"},
	}}
	p.update(st)
	got := strings.Join(labelsIn(p.list), "|")
	if !p.box.Visible() || got != "Carol|<b>hi</b>|Dan|⚠ spoilers" {
		t.Errorf("rows %q", got)
	}
	test.Tap(p.list.Objects[1].(*fyne.Container).Objects[1].(*fyne.Container).Objects[1].(*widget.Button))
	if got := strings.Join(labelsIn(p.list), "|"); got != "Carol|<b>hi</b>|Dan|the ending!" {
		t.Errorf("after Show: %q", got)
	}
	test.Type(p.entry, "hello")
	p.entry.OnSubmitted(p.entry.Text)
	if len(sent) != 1 || sent[0] != "hello" || p.entry.Text != "" {
		t.Errorf("sent %q, field %q", sent, p.entry.Text)
	}
	st.Err = &app.Problem{What: "That message is longer than 500 characters."}
	p.update(st)
	if !p.problem.Visible() || !strings.Contains(p.problem.Text, "500") {
		t.Error("the problem is not shown")
	}
}
