package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tributary-live/tributary/app"
)

// settingsScreen holds accounts, the home relay URL, the latency target and
// the default quality.
type settingsScreen struct {
	u        *UI
	accounts *fyne.Container
	accCard  *widget.Card
	home     *widget.Entry
	// homeFound says which relay the account's server names.
	homeFound *widget.Label
	latency   *widget.Select
	quality   *widget.Select
	saveBtn   *widget.Button
	saved     *widget.Label
	problem   *problemView
	where     *widget.Label
	root      fyne.CanvasObject
	accKey    string
	dirty     bool
	updating  bool
}

func newSettingsScreen(u *UI) *settingsScreen {
	s := &settingsScreen{u: u}
	s.accounts = container.NewVBox()
	addBtn := widget.NewButtonWithIcon("Add an account", theme.ContentAddIcon(), func() { u.Show(ScreenSignIn) })
	s.accCard = widget.NewCard("Accounts", "", container.NewVBox(
		wrapped("Fediverse accounts Tributary reads timelines from and announces with. The first is in use."),
		s.accounts, container.NewHBox(addBtn)))

	s.home = widget.NewEntry()
	s.home.SetPlaceHolder("Empty: the relay your server names, else your personal relay")
	s.home.OnChanged = func(string) { s.markDirty() }
	lat := make([]string, len(app.LatencyModes))
	for i, m := range app.LatencyModes {
		lat[i] = m.Label()
	}
	s.latency = widget.NewSelect(lat, func(string) { s.markDirty() })
	q := make([]string, len(app.Qualities))
	for i, v := range app.Qualities {
		q[i] = qualityLabel(v)
	}
	s.quality = widget.NewSelect(q, func(string) { s.markDirty() })
	s.saved = subtle("")
	s.problem = newProblemView()
	s.saveBtn = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), s.save)
	s.saveBtn.Importance = widget.HighImportance
	s.where = subtle("")
	form := widget.NewForm(
		widget.NewFormItem("Home relay URL", s.home),
		widget.NewFormItem("Latency target", s.latency),
		widget.NewFormItem("Default quality", s.quality),
	)
	form.Items[0].HintText = "Overrides the relay your server names: where Go live sends your stream and streams play through"
	form.Items[1].HintText = "Real time is lowest delay; Smooth rides out bad networks"
	s.homeFound = subtle("")
	s.homeFound.Wrapping = fyne.TextWrapWord
	prefs := widget.NewCard("Watching and streaming", "", container.NewVBox(s.homeFound, form, s.problem.object(), container.NewHBox(s.saveBtn, s.saved)))
	s.root = container.NewPadded(container.NewBorder(heading("Settings"), s.where, nil, nil,
		container.NewVScroll(container.NewVBox(s.accCard, prefs))))
	return s
}

func qualityLabel(q app.Quality) string {
	switch q {
	case app.QualityAuto:
		return "Automatic"
	case app.Quality360:
		return "360p (640×360)"
	case app.Quality720:
		return "720p (1280×720)"
	case app.Quality1080:
		return "1080p (1920×1080)"
	}
	return string(q)
}

func (s *settingsScreen) object() fyne.CanvasObject { return s.root }

func (s *settingsScreen) markDirty() {
	if !s.updating {
		s.dirty = true
		s.saved.SetText("Not saved yet")
	}
}

func (s *settingsScreen) save() {
	home := s.home.Text
	var lat app.LatencyMode
	for _, m := range app.LatencyModes {
		if m.Label() == s.latency.Selected {
			lat = m
		}
	}
	var q app.Quality
	for _, v := range app.Qualities {
		if qualityLabel(v) == s.quality.Selected {
			q = v
		}
	}
	s.saved.SetText("Saving…")
	s.u.core.UpdateSettings(func(st *app.Settings) {
		st.HomeRelayURL = home
		if lat != "" {
			st.Latency = lat
		}
		if q != "" {
			st.Quality = q
		}
	}, func(err error) {
		s.u.do(func() {
			if err != nil {
				s.problem.set(app.AsProblem("Saving settings", err))
				s.saved.SetText("")
				return
			}
			s.problem.set(nil)
			s.dirty = false
			s.saved.SetText("Saved")
		})
	})
}

func (s *settingsScreen) update(st app.State) {
	s.updating = true
	defer func() { s.updating = false }()
	s.accCard.Hidden = !st.Features.Fediverse
	key := ""
	for _, a := range st.Accounts {
		key += a.ID + "\n"
	}
	if key != s.accKey {
		s.accKey = key
		s.accounts.RemoveAll()
		if len(st.Accounts) == 0 {
			s.accounts.Add(subtle("No account yet. Add one to see who is live and to announce your streams."))
		}
		for i, a := range st.Accounts {
			id := a.ID
			av := newAvatar(32)
			name := a.DisplayName
			if name == "" {
				name = a.Handle
			}
			av.set(name)
			av.load(s.u, a.AvatarURL)
			label := widget.NewLabel(name + "  " + a.Handle)
			var use fyne.CanvasObject
			if i == 0 {
				l := subtle("In use")
				l.Wrapping = fyne.TextWrapOff
				use = l
			} else {
				use = widget.NewButton("Use", func() { s.u.core.UseAccount(id) })
			}
			out := widget.NewButtonWithIcon("Sign out", theme.LogoutIcon(), func() { s.u.core.SignOut(id) })
			s.accounts.Add(container.NewBorder(nil, nil, av.box, container.NewHBox(use, out), label))
		}
	}
	// What the account's server names (the override above replaces it).
	switch h := st.Home; {
	case h.Relay != nil:
		s.homeFound.SetText("Your server names " + hostOfURL(h.Relay.URL) + " (serving " + h.Relay.Instance + "): streams play through it and Go live sends there.")
	case h.Step.Busy:
		s.homeFound.SetText(h.Step.Label)
	case h.Err != nil:
		s.homeFound.SetText("No home relay: " + h.Err.What)
	default:
		s.homeFound.SetText("")
	}
	s.homeFound.Hidden = s.homeFound.Text == ""
	if !s.dirty {
		s.home.SetText(st.Settings.HomeRelayURL)
		s.latency.SetSelected(st.Settings.Latency.Label())
		s.quality.SetSelected(qualityLabel(st.Settings.Quality))
	}
	s.where.SetText("Settings are kept in " + s.u.core.ConfigDir())
}
