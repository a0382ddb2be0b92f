package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/tributary-live/tributary/app"
)

// signInScreen signs in to a Fediverse account: the user types an instance
// or user@instance, the browser opens the server's approval page, and the
// app waits; a pasted code is the fallback when the browser cannot come back.
type signInScreen struct {
	u                     *UI
	handle                *widget.Entry
	go_                   *widget.Button
	cancel                *widget.Button
	step                  *stepView
	problem               *problemView
	waiting               *fyne.Container
	browserHelp, codeHelp *fyne.Container
	code                  *widget.Entry
	authURL               string
	root                  fyne.CanvasObject
	wasAccts              int
}

func newSignInScreen(u *UI) *signInScreen {
	s := &signInScreen{u: u}
	s.handle = widget.NewEntry()
	s.handle.SetPlaceHolder("alice@example.social or example.social")
	s.handle.OnSubmitted = func(string) { u.core.SignIn(s.handle.Text) }
	s.go_ = widget.NewButtonWithIcon("Sign in", theme.LoginIcon(), func() { u.core.SignIn(s.handle.Text) })
	s.go_.Importance = widget.HighImportance
	s.cancel = widget.NewButton("Cancel", func() { u.core.CancelSignIn() })
	s.cancel.Hide()
	s.step = newStepView()
	s.problem = newProblemView()
	s.code = widget.NewEntry()
	s.code.SetPlaceHolder("Paste the code here")
	useCode := widget.NewButton("Use code", func() { u.core.SubmitCode(s.code.Text) })
	s.code.OnSubmitted = func(string) { u.core.SubmitCode(s.code.Text) }
	again := widget.NewButtonWithIcon("Open the page again", theme.ComputerIcon(), func() {
		if s.authURL != "" {
			u.openURL(s.authURL)
		}
	})
	copyBtn := widget.NewButtonWithIcon("Copy link", theme.ContentCopyIcon(), func() {
		u.fapp.Clipboard().SetContent(s.authURL)
	})
	withCode := widget.NewButton("Sign in with a code instead", func() { u.core.SignInWithCode(s.handle.Text) })
	withCode.Importance = widget.LowImportance
	s.browserHelp = container.NewVBox(
		wrapped("Your browser shows your server's page: approve Tributary there, and Tributary continues by itself. If the browser did not open, open the page yourself."),
		container.NewHBox(again, copyBtn),
		wrapped("Is your browser on another device, or does it not come back here?"),
		container.NewHBox(withCode),
	)
	s.codeHelp = container.NewVBox(
		wrapped("Approve Tributary on your server's page (it opened in your browser); the server then shows a code. Paste it here:"),
		container.NewBorder(nil, nil, nil, useCode, s.code),
		container.NewHBox(again, copyBtn),
	)
	s.waiting = container.NewVBox(s.browserHelp, s.codeHelp)
	s.waiting.Hide()

	intro := wrapped("Sign in with an account on Mastodon, GoToSocial, Akkoma, Pleroma or another server with the Mastodon API. Tributary reads your home timeline to find live streams, and announces your streams to your followers when you ask it to. Your password never reaches Tributary: your server asks you to approve it.")
	row := container.NewBorder(nil, nil, nil, container.NewHBox(s.go_, s.cancel), s.handle)
	card := widget.NewCard("Sign in", "", container.NewVBox(intro, row, s.step.object(), s.problem.object(), s.waiting))
	s.root = container.NewPadded(container.NewBorder(nil, nil, nil, nil, container.NewVScroll(container.NewCenter(container.New(&maxWidth{w: 620}, card)))))
	return s
}

func (s *signInScreen) object() fyne.CanvasObject { return s.root }

func (s *signInScreen) update(st app.State) {
	si := st.SignIn
	s.step.set(si.Step)
	s.problem.set(si.Err)
	s.authURL = si.AuthURL
	s.waiting.Hidden = si.AuthURL == "" || !si.Step.Busy
	s.codeHelp.Hidden = !si.NeedsCode
	s.browserHelp.Hidden = si.NeedsCode
	if si.Step.Busy {
		s.go_.Disable()
		s.handle.Disable()
		s.cancel.Show()
	} else {
		s.go_.Enable()
		s.handle.Enable()
		s.cancel.Hide()
	}
	// A new account signed in: show what it brings.
	if len(st.Accounts) > s.wasAccts && s.u.current == ScreenSignIn && !si.Step.Busy {
		s.handle.SetText("")
		s.code.SetText("")
		s.u.Show(ScreenLiveNow)
	}
	s.wasAccts = len(st.Accounts)
}

// shown puts the cursor in the account field, so the user can type at once.
func (s *signInScreen) shown(open bool) {
	if open && !s.handle.Disabled() {
		if c := s.u.win.Canvas(); c != nil {
			c.Focus(s.handle)
		}
	}
}
