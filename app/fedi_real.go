package app

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tributary-live/tributary/fedi"
)

// fediReal is the Fediverse backend on the fedi package. The fedi client
// opens the sign-in page through Config.OpenURL; the adapter routes that to
// the sign-in in progress, whose page the core puts in its state for the UI
// to open in the system browser.
type fediReal struct {
	c *fedi.Client

	mu       sync.Mutex
	openURL  func(string)
	sessions map[string]*fedi.Session // by account, for their home relay grants
	live     *liveness                // liveness checks' MoQ sessions, one per relay
}

// close ends the liveness checks' sessions (Core.Close).
func (f *fediReal) close() { f.live.Close() }

func newFediReal(dir string, allowLoopbackHTTP bool, roots *x509.CertPool, log *slog.Logger) (*fediReal, error) {
	f := &fediReal{live: moqLiveness(roots, allowLoopbackHTTP, log)}
	c, err := fedi.New(fedi.Config{
		Dir:               dir,
		AllowLoopbackHTTP: allowLoopbackHTTP,
		RootCAs:           roots,
		Liveness:          f.live,
		Logger:            log,
		Website:           "https://github.com/tributary-live/tributary",
		OpenURL: func(u string) error {
			f.mu.Lock()
			open := f.openURL
			f.mu.Unlock()
			if open == nil {
				return errors.New("no sign-in in progress")
			}
			open(u)
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	f.c = c
	return f, nil
}

func accountOf(a fedi.Account) Account {
	return Account{ID: a.ID, Handle: "@" + a.ID, DisplayName: a.DisplayName, AvatarURL: a.Avatar, Instance: a.Server}
}

func (f *fediReal) accounts(ctx context.Context) ([]Account, error) {
	var out []Account
	for _, a := range f.c.Accounts() {
		out = append(out, accountOf(a))
	}
	return out, nil
}

func (f *fediReal) signIn(ctx context.Context, handle string, paste bool, authURL func(string), codes <-chan string) (Account, error) {
	f.mu.Lock()
	f.openURL = authURL
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.openURL = nil
		f.mu.Unlock()
	}()
	opts := fedi.SignInOptions{
		UsePaste: paste,
		Timeout:  10 * time.Minute,
		PasteCode: func(ctx context.Context, u string) (string, error) {
			authURL(u)
			select {
			case c := <-codes:
				return c, nil
			case <-ctx.Done():
				return "", ctx.Err()
			}
		},
	}
	a, err := f.c.SignIn(ctx, handle, opts)
	if err != nil {
		return Account{}, fediProblem(err)
	}
	return accountOf(*a), nil
}

func (f *fediReal) signOut(ctx context.Context, id string) error {
	f.mu.Lock()
	delete(f.sessions, id)
	f.mu.Unlock()
	if err := f.c.SignOut(ctx, id); err != nil {
		return fediProblem(err)
	}
	return nil
}

func (f *fediReal) follow(ctx context.Context, id string, update func([]Stream, error)) {
	s, err := f.c.Session(id)
	if err != nil {
		update(nil, fediProblem(err))
		return
	}
	for snap := range s.Watch(ctx) {
		items := make([]Stream, 0, len(snap.Streams))
		for _, ls := range snap.Streams {
			items = append(items, streamOf(ls))
		}
		var perr error
		if snap.Err != nil {
			perr = fediProblem(snap.Err)
		}
		update(items, perr)
	}
}

func streamOf(ls fedi.LiveStream) Stream {
	st := StreamLive
	if ls.State != "" && string(ls.State) != "live" {
		st = StreamUnknown
	}
	id := ls.PostURL
	if id == "" {
		id = ls.Account + "/" + ls.Broadcast
	}
	var hashes []string
	if ls.Relay != nil {
		hashes = append(hashes, ls.Relay.CertHashes...)
	}
	return Stream{
		ID:         id,
		CertHashes: hashes,
		Who:        ls.DisplayName,
		Handle:     "@" + ls.Account,
		AvatarURL:  ls.Avatar,
		Title:      ls.Title,
		StartedAt:  ls.StartedAt,
		Viewers:    -1,
		URLs:       append([]string(nil), ls.RelayURLs...),
		PageURL:    ls.WatchURL,
		State:      st,
		Federated:  true,
		PostID:     ls.PostID,
	}
}

func chatOf(m fedi.ChatMessage) ChatMessage {
	return ChatMessage{ID: m.ID, Who: m.DisplayName, Handle: "@" + m.Account, AvatarURL: m.Avatar, Text: m.Text, Warning: m.Warning, At: m.At}
}

func (f *fediReal) followChat(ctx context.Context, id, post string, update func([]ChatMessage, error)) {
	s, err := f.session(id)
	if err != nil {
		update(nil, fediProblem(err))
		return
	}
	s.FollowChat(ctx, post, 0, func(ms []fedi.ChatMessage, err error) {
		if err != nil {
			update(nil, fediProblem(err))
			return
		}
		out := make([]ChatMessage, len(ms))
		for i, m := range ms {
			out[i] = chatOf(m)
		}
		update(out, nil)
	})
}

func (f *fediReal) reply(ctx context.Context, id, post, author, text string) (ChatMessage, error) {
	s, err := f.session(id)
	if err != nil {
		return ChatMessage{}, fediProblem(err)
	}
	m, err := s.Reply(ctx, post, author, text)
	if err != nil {
		return ChatMessage{}, fediProblem(err)
	}
	return chatOf(m), nil
}

// session returns the account's session, kept so its home relay and
// grant are cached.
func (f *fediReal) session(id string) (*fedi.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.sessions[id]; s != nil {
		return s, nil
	}
	s, err := f.c.Session(id)
	if err != nil {
		return nil, err
	}
	if f.sessions == nil {
		f.sessions = map[string]*fedi.Session{}
	}
	f.sessions[id] = s
	return s, nil
}

func (f *fediReal) homeRelay(ctx context.Context, id string) (homeGrant, error) {
	s, err := f.session(id)
	if err != nil {
		return homeGrant{}, fediProblem(err)
	}
	g, h, err := s.RelayGrant(ctx)
	if err != nil {
		return homeGrant{}, fediProblem(err)
	}
	return homeGrant{
		relay: HomeRelay{URL: h.URL(), Instance: h.Info.Instance, CertHashes: append([]string(nil), h.Info.CertHashes...), Publish: g.Publish},
		token: g.Token,
	}, nil
}

func (f *fediReal) announce(ctx context.Context, id, title, watchURL string, vis Visibility) (announced, func(context.Context) error, error) {
	s, err := f.c.Session(id)
	if err != nil {
		return announced{}, nil, fediProblem(err)
	}
	p, err := s.Announce(ctx, fedi.Announcement{Title: title, WatchURL: watchURL, Visibility: fedi.Visibility(vis)})
	if err != nil {
		return announced{}, nil, fediProblem(err)
	}
	return announced{URL: p.URL, ID: p.ID}, func(ctx context.Context) error {
		if err := s.EndAnnouncement(ctx, p); err != nil {
			return fediProblem(err)
		}
		return nil
	}, nil
}

// fediProblem turns a fedi error into what happened and what to do.
func fediProblem(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return &Problem{What: "Signing in was cancelled.", Todo: "Start again when you are ready.", Err: err}
	}
	what := fedi.UserMessage(err)
	// The fedi package's messages already say what to do for most kinds;
	// add a next step only where they do not.
	todo := ""
	switch fedi.KindOf(err) {
	case fedi.KindTLS, fedi.KindInsecure:
		todo = "Tributary only signs in over a valid https connection; ask your server's admin."
	case fedi.KindNotMastodon:
		todo = "Use an account on Mastodon, GoToSocial, Akkoma, Pleroma or another server with the Mastodon API."
	case fedi.KindNotSignedIn:
		todo = "Sign in again from Settings."
	case fedi.KindDenied:
		todo = "Sign in again and approve Tributary on your server's page."
	case fedi.KindBlocked:
		todo = "Tributary does not connect to private network addresses named by posts."
	}
	if errors.Is(err, fedi.ErrNotRevoked) {
		todo = "You are signed out here; remove Tributary from your account's settings on the server to revoke it there too."
	}
	if strings.TrimSpace(what) == "" {
		what = fmt.Sprintf("Something went wrong: %v", err)
	}
	return &Problem{What: what, Todo: todo, Err: err}
}
