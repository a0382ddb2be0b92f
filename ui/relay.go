package ui

import (
	"fmt"
	"strconv"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tributary-live/tributary/app"
)

// relayScreen runs the personal relay: on/off, port, who may watch,
// upstreams, and live figures of what it serves.
type relayScreen struct {
	u        *UI
	enabled  *widget.Check
	status   *widget.Label
	urlLabel *widget.Label
	port     *widget.Entry
	policy   *widget.RadioGroup
	ups      *widget.Entry
	apply    *widget.Button
	restart  *widget.Button
	saved    *widget.Label
	step     *stepView
	problem  *problemView
	formErr  *problemView
	table    *widget.Label
	totals   *widget.Label
	root     fyne.CanvasObject
	updating bool
	dirty    bool
}

const (
	policyCommunity = "Community: people with a token from this relay"
	policyOpen      = "Open: anyone with the link"
)

func newRelayScreen(u *UI) *relayScreen {
	r := &relayScreen{u: u}
	r.enabled = widget.NewCheck("Run my personal relay", func(on bool) {
		if !r.updating {
			u.core.SetRelayEnabled(on)
		}
	})
	r.status = widget.NewLabel("")
	r.status.Wrapping = fyne.TextWrapWord
	r.urlLabel = widget.NewLabel("")
	r.urlLabel.Selectable = true
	r.urlLabel.TextStyle = fyne.TextStyle{Monospace: true}
	r.port = widget.NewEntry()
	r.port.SetPlaceHolder("0 picks a free port")
	r.policy = widget.NewRadioGroup([]string{policyCommunity, policyOpen}, func(string) { r.markDirty() })
	r.ups = widget.NewMultiLineEntry()
	r.ups.SetPlaceHolder("One relay URL per line, e.g. moqt://relay.example.social:4443")
	r.ups.SetMinRowsVisible(3)
	r.port.OnChanged = func(string) { r.markDirty() }
	r.ups.OnChanged = func(string) { r.markDirty() }
	r.saved = subtle("")
	r.formErr = newProblemView()
	r.apply = widget.NewButtonWithIcon("Apply", theme.ConfirmIcon(), r.save)
	r.apply.Importance = widget.HighImportance
	r.restart = widget.NewButtonWithIcon("Restart", theme.ViewRefreshIcon(), func() { u.core.RestartRelay() })
	r.step = newStepView()
	r.problem = newProblemView()
	r.table = widget.NewLabel("")
	r.table.TextStyle = fyne.TextStyle{Monospace: true}
	r.totals = widget.NewLabel("")
	r.totals.Wrapping = fyne.TextWrapWord

	form := widget.NewForm(
		widget.NewFormItem("Port", r.port),
		widget.NewFormItem("Who may watch", r.policy),
		widget.NewFormItem("Upstream relays", r.ups),
	)
	statusCard := widget.NewCard("Personal relay", "",
		container.NewVBox(wrapped("Your own MoQ relay: it serves your streams and carries the streams your community watches."),
			r.enabled, r.status, r.urlLabel, r.step.object(), r.problem.object(), container.NewHBox(r.restart)))
	figCard := widget.NewCard("What it serves", "", container.NewVBox(
		wrapped("Viewers and bandwidth per broadcast, and what your instance pays for."), r.table, r.totals))
	formCard := widget.NewCard("Configuration", "", container.NewVBox(form, r.formErr.object(), container.NewHBox(r.apply, r.saved)))
	r.root = container.NewPadded(container.NewBorder(heading("Relay"), nil, nil, nil,
		container.NewVScroll(container.NewVBox(statusCard, figCard, formCard))))
	return r
}

func (r *relayScreen) object() fyne.CanvasObject { return r.root }

func (r *relayScreen) markDirty() {
	if !r.updating {
		r.dirty = true
		r.saved.SetText("Not applied yet")
	}
}

func (r *relayScreen) save() {
	port, err := strconv.Atoi(strings.TrimSpace(r.port.Text))
	if strings.TrimSpace(r.port.Text) == "" {
		port, err = 0, nil
	}
	if err != nil {
		r.formErr.set(&app.Problem{What: fmt.Sprintf("%q is not a port number.", r.port.Text), Todo: "Enter a number from 1024 to 65535, or 0 to pick a free port."})
		return
	}
	policy := app.PolicyCommunity
	if r.policy.Selected == policyOpen {
		policy = app.PolicyOpen
	}
	var ups []string
	for _, l := range strings.Split(r.ups.Text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ups = append(ups, l)
		}
	}
	r.saved.SetText("Applying…")
	r.u.core.UpdateSettings(func(s *app.Settings) {
		s.RelayPort = port
		s.RelayPolicy = policy
		s.Upstreams = ups
	}, func(err error) {
		r.u.do(func() {
			if err != nil {
				r.formErr.set(app.AsProblem("Applying the relay settings", err))
				r.saved.SetText("")
				return
			}
			r.formErr.set(nil)
			r.dirty = false
			r.saved.SetText("Applied; the relay restarts with them.")
		})
	})
}

func (r *relayScreen) update(s app.State) {
	r.updating = true
	defer func() { r.updating = false }()
	rs := s.Relay
	r.enabled.SetChecked(s.Settings.RelayEnabled)
	switch {
	case rs.Running:
		r.status.SetText("Running on " + rs.Addr + ". Viewers and other relays reach it at:")
		r.urlLabel.SetText(rs.URL)
		r.urlLabel.Show()
	case !s.Settings.RelayEnabled:
		r.status.SetText("Off. Turn it on to serve your own streams and the demo broadcast without any server.")
		r.urlLabel.Hide()
	case rs.Step.Busy:
		r.status.SetText("Starting…")
		r.urlLabel.Hide()
	default:
		r.status.SetText("Stopped.")
		r.urlLabel.Hide()
	}
	r.restart.Hidden = !s.Settings.RelayEnabled || rs.Step.Busy
	r.step.set(rs.Step)
	r.problem.set(rs.Err)
	if !r.dirty {
		r.port.SetText(strconv.Itoa(s.Settings.RelayPort))
		if s.Settings.RelayPolicy == app.PolicyOpen {
			r.policy.SetSelected(policyOpen)
		} else {
			r.policy.SetSelected(policyCommunity)
		}
		r.ups.SetText(strings.Join(s.Settings.Upstreams, "\n"))
	}

	if len(rs.Broadcasts) == 0 {
		r.table.SetText("No broadcasts yet.")
	} else {
		var b strings.Builder
		fmt.Fprintf(&b, "%-28s %7s %12s  %s\n", "broadcast", "viewers", "to viewers", "source")
		for _, bc := range rs.Broadcasts {
			src := "published here"
			if bc.Upstream {
				src = "from upstream"
			}
			name := bc.Name
			if len(name) > 28 {
				name = "…" + name[len(name)-27:]
			}
			fmt.Fprintf(&b, "%-28s %7d %12s  %s\n", name, bc.Viewers, kbpsLabel(bc.OutKbps), src)
		}
		r.table.SetText(strings.TrimRight(b.String(), "\n"))
	}
	r.totals.SetText(fmt.Sprintf("Received from other relays: %s (what your instance pays for)\nSent to your viewers: %s",
		bytesLabel(rs.UpstreamBytes), bytesLabel(rs.LocalBytes)))
}
