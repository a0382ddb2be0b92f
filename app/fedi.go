package app

import (
	"context"
	"slices"
	"strings"
	"time"
)

// fediBackend is what the core needs from the Fediverse piece.
type fediBackend interface {
	// accounts returns the accounts saved on this machine.
	accounts(ctx context.Context) ([]Account, error)
	// signIn runs the sign-in flow for handle (instance or user@instance):
	// it calls authURL with the page the browser must open, and waits for
	// the browser to come back to a loopback listener or, with paste, for
	// the code the server shows to arrive on codes.
	signIn(ctx context.Context, handle string, paste bool, authURL func(string), codes <-chan string) (Account, error)
	// signOut revokes and forgets an account.
	signOut(ctx context.Context, id string) error
	// follow reports the live streams on an account's home timeline, in
	// display order (live first, newest first), now and whenever they
	// change, until ctx ends.
	follow(ctx context.Context, id string, update func([]Stream, error))
	// announce posts that the user went live and returns the post's URL and
	// a function that edits it to say the stream ended.
	announce(ctx context.Context, id string, title, watchURL string, vis Visibility) (announced, func(context.Context) error, error)
	// homeRelay returns the relay the account's server names and a grant
	// of it for the account (renewed when it runs out).
	homeRelay(ctx context.Context, id string) (homeGrant, error)
	// followChat reports the replies to post (an id on the account's
	// server) now and whenever they change, until ctx ends.
	followChat(ctx context.Context, id, post string, update func([]ChatMessage, error))
	// reply posts text as a reply to post by author (user@domain).
	reply(ctx context.Context, id, post, author, text string) (ChatMessage, error)
}

// fediRun is the sign-in flow and timeline following.
type fediRun struct {
	signInCancel context.CancelFunc
	codes        chan string
	followCancel context.CancelFunc
	followSeq    int
	streams      []Stream
}

func (c *Core) fediState() *fediRun {
	if c.fedi == nil {
		c.fedi = &fediRun{}
	}
	return c.fedi
}

// loadAccounts reads saved accounts at start and follows the first.
func (c *Core) loadAccounts() {
	if c.svc.fedi == nil {
		return
	}
	svc := c.svc.fedi
	c.goBG(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		accs, err := svc.accounts(ctx)
		c.do(func() {
			if err != nil {
				c.st.Notice = &Problem{What: "Your saved accounts could not be read: " + err.Error(), Todo: "Sign in again from Settings.", Err: err}
				return
			}
			c.st.Accounts = accs
			c.followActive()
		})
	})
}

// SignIn starts signing in to handle (example.social or user@example.social).
// The state's SignIn.AuthURL names the page to open in the browser, which
// comes back to Tributary by itself.
func (c *Core) SignIn(handle string) { c.signIn(handle, false) }

// SignInWithCode signs in with the paste-the-code flow, for when the browser
// cannot come back to Tributary: the server shows a code, and SubmitCode
// takes it.
func (c *Core) SignInWithCode(handle string) { c.signIn(handle, true) }

func (c *Core) signIn(handle string, paste bool) {
	handle = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(handle), "@"))
	c.do(func() {
		if c.svc.fedi == nil {
			c.st.SignIn.Err = &Problem{What: "This build of Tributary cannot sign in.", Todo: "Build it with the fedi package."}
			return
		}
		if handle == "" {
			c.st.SignIn = SignInState{Err: &Problem{What: "Enter your account or your server.", Todo: "For example alice@example.social or example.social."}}
			return
		}
		f := c.fediState()
		if f.signInCancel != nil {
			f.signInCancel()
		}
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Minute)
		f.signInCancel = cancel
		codes := make(chan string, 1)
		f.codes = codes
		c.st.SignIn = SignInState{Handle: handle, Step: Step{Busy: true, Label: "Contacting " + handle + "…"}}
		svc := c.svc.fedi
		c.goBG(func() {
			defer cancel()
			acc, err := svc.signIn(ctx, handle, paste,
				func(u string) {
					c.do(func() {
						if c.fedi.codes == codes {
							c.st.SignIn.AuthURL = u
							c.st.SignIn.NeedsCode = paste
							c.st.SignIn.Step.Label = "Waiting for you to approve Tributary in your browser…"
							if paste {
								c.st.SignIn.Step.Label = "Waiting for the code your server shows…"
							}
						}
					})
				}, codes)
			c.do(func() {
				if c.fedi.codes != codes {
					return
				}
				c.fedi.codes = nil
				c.fedi.signInCancel = nil
				if err != nil {
					c.st.SignIn = SignInState{Handle: handle, Err: signInProblem(handle, err)}
					return
				}
				c.st.SignIn = SignInState{}
				c.st.Accounts = slices.DeleteFunc(c.st.Accounts, func(a Account) bool { return a.ID == acc.ID })
				c.st.Accounts = append([]Account{acc}, c.st.Accounts...)
				c.followActive()
			})
		})
	})
}

func signInProblem(handle string, err error) *Problem {
	if p := AsProblem("Signing in to "+handle, err); p != nil {
		return p
	}
	return nil
}

// SubmitCode hands the sign-in flow a code pasted from the browser.
func (c *Core) SubmitCode(code string) {
	code = strings.TrimSpace(code)
	c.do(func() {
		if c.fedi == nil || c.fedi.codes == nil {
			return
		}
		if code == "" {
			c.st.SignIn.Err = &Problem{What: "The code is empty.", Todo: "Copy the code your server shows after you approve Tributary, and paste it here."}
			return
		}
		select {
		case c.fedi.codes <- code:
			c.st.SignIn.Err = nil
			c.st.SignIn.Step = Step{Busy: true, Label: "Checking the code…"}
		default:
		}
	})
}

// CancelSignIn stops a sign-in in progress.
func (c *Core) CancelSignIn() {
	c.do(func() {
		if c.fedi != nil && c.fedi.signInCancel != nil {
			c.fedi.signInCancel()
			c.fedi.signInCancel = nil
			c.fedi.codes = nil
		}
		c.st.SignIn = SignInState{}
	})
}

// SignOut revokes and forgets account id.
func (c *Core) SignOut(id string) {
	c.do(func() {
		if c.svc.fedi == nil {
			return
		}
		wasActive := len(c.st.Accounts) > 0 && c.st.Accounts[0].ID == id
		c.st.Accounts = slices.DeleteFunc(c.st.Accounts, func(a Account) bool { return a.ID == id })
		if wasActive {
			c.followActive()
		}
		svc := c.svc.fedi
		c.goBG(func() {
			ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
			defer cancel()
			if err := svc.signOut(ctx, id); err != nil {
				c.do(func() {
					c.st.Notice = &Problem{What: "Signed out here, but the server did not confirm revoking access: " + err.Error(), Todo: "You can revoke Tributary in your account's settings on the server.", Err: err}
				})
			}
		})
	})
}

// UseAccount makes account id the active one (Live now and Go live use it).
func (c *Core) UseAccount(id string) {
	c.do(func() {
		i := slices.IndexFunc(c.st.Accounts, func(a Account) bool { return a.ID == id })
		if i <= 0 {
			return
		}
		a := c.st.Accounts[i]
		c.st.Accounts = slices.Delete(c.st.Accounts, i, i+1)
		c.st.Accounts = append([]Account{a}, c.st.Accounts...)
		c.followActive()
	})
}

// RefreshStreams reloads Live now.
func (c *Core) RefreshStreams() {
	c.do(func() { c.followActive() })
}

// followActive (re)starts following the active account's timeline.
func (c *Core) followActive() {
	f := c.fediState()
	if f.followCancel != nil {
		f.followCancel()
		f.followCancel = nil
	}
	f.streams = nil
	c.discoverHome()
	c.st.Streams.Err = nil
	c.st.Streams.Step = Step{}
	if c.svc.fedi == nil || len(c.st.Accounts) == 0 {
		c.mergeStreams()
		return
	}
	acc := c.st.Accounts[0]
	ctx, cancel := context.WithCancel(c.ctx)
	f.followCancel = cancel
	f.followSeq++
	seq := f.followSeq
	c.st.Streams.Step = Step{Busy: true, Label: "Reading " + acc.Handle + "'s home timeline…"}
	c.mergeStreams()
	svc := c.svc.fedi
	c.goBG(func() {
		svc.follow(ctx, acc.ID, func(items []Stream, err error) {
			c.do(func() {
				if c.fedi.followSeq != seq {
					return
				}
				c.st.Streams.Step = Step{}
				if err != nil {
					c.st.Streams.Err = AsProblem("Reading the home timeline of "+acc.Handle, err)
					return
				}
				c.st.Streams.Err = nil
				c.fedi.streams = items
				c.st.Streams.Updated = time.Now()
				c.mergeStreams()
			})
		})
	})
}

func (c *Core) stopFedi() {
	if c.fedi == nil {
		return
	}
	if c.fedi.followCancel != nil {
		c.fedi.followCancel()
	}
	if c.fedi.signInCancel != nil {
		c.fedi.signInCancel()
	}
}

// mergeStreams rebuilds Live now: the Fediverse streams in the order the
// backend gives them (fedi sorts them: live first, newest first), then the
// demo broadcast.
func (c *Core) mergeStreams() {
	var items []Stream
	if c.fedi != nil {
		items = append(items, c.fedi.streams...)
	}
	if c.demoRun != nil && c.demoRun.h != nil {
		items = append(items, c.demoRun.stream)
	}
	c.st.Streams.Items = items
}
