package fedi

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func newTestClient(t *testing.T, f *fakeMastodon, open func(string) error) *Client {
	t.Helper()
	dir := t.TempDir()
	c, err := New(Config{Dir: dir, Secrets: &FileStore{Path: filepath.Join(dir, "tributary", "secrets.json")}, OpenURL: open, RootCAs: f.pool})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSignInPKCEAndSignOut(t *testing.T) {
	f := newFakeMastodon(t)
	c := newTestClient(t, f, f.followRedirects)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := c.SignIn(ctx, "@zoe@"+f.host, SignInOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	if a.ID != "zoe@"+f.host || a.Server != "https://"+f.host || a.DisplayName != "Zoë" {
		t.Fatalf("account %+v", a)
	}
	f.mu.Lock()
	reg := f.redirects[a.ClientID]
	f.mu.Unlock()
	if !strings.HasPrefix(reg, "http://127.0.0.1:") || !strings.HasSuffix(reg, "/callback") {
		t.Fatalf("registered redirect %q", reg)
	}
	fi, err := os.Stat(filepath.Join(c.cfg.Dir, "tributary", "secrets.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v %v", fi, err)
	}
	di, err := os.Stat(filepath.Join(c.cfg.Dir, "tributary"))
	if err != nil || di.Mode().Perm() != 0o700 {
		t.Fatalf("secret dir: %v %v", di, err)
	}
	// A second client reading the same directory sees the account.
	c2, err := New(Config{Dir: c.cfg.Dir, Secrets: c.cfg.Secrets, RootCAs: f.pool})
	if err != nil || len(c2.Accounts()) != 1 {
		t.Fatalf("reload: %v %v", c2.Accounts(), err)
	}
	s, err := c2.Session(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Verify(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.SignOut(ctx, a.ID); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	f.mu.Lock()
	revoked := append([]string(nil), f.revoked...)
	f.mu.Unlock()
	if len(revoked) != 1 || revoked[0] != "token-"+a.ClientID {
		t.Fatalf("revoked %v", revoked)
	}
	if len(c.Accounts()) != 0 {
		t.Fatal("still signed in")
	}
	if _, err := c.cfg.Secrets.Get(secretKey(a.ID)); !errors.Is(err, ErrSecretNotFound) {
		t.Fatalf("secret kept: %v", err)
	}
	// The old session now gets the revoked-token message.
	_, err = s.Verify(ctx)
	if KindOf(err) != KindUnauthorized || UserMessage(err) != f.host+" no longer accepts this sign-in: it was revoked or has expired. Please sign in again." {
		t.Fatalf("revoked: %v", err)
	}
}

func TestSignInDenied(t *testing.T) {
	f := newFakeMastodon(t)
	f.deny = true
	c := newTestClient(t, f, f.followRedirects)
	_, err := c.SignIn(context.Background(), f.host, SignInOptions{Timeout: 10 * time.Second})
	if KindOf(err) != KindDenied || UserMessage(err) != "Sign-in was cancelled: access was not granted at "+f.host+"." {
		t.Fatalf("denied: %v", err)
	}
}

func TestSignInTimeout(t *testing.T) {
	f := newFakeMastodon(t)
	c := newTestClient(t, f, func(string) error { return nil }) // the user never finishes
	_, err := c.SignIn(context.Background(), f.host, SignInOptions{Timeout: 100 * time.Millisecond})
	if KindOf(err) != KindNotCompleted || !strings.Contains(UserMessage(err), "was not finished in the browser") {
		t.Fatalf("timeout: %v", err)
	}
}

func TestSignInPasteFallback(t *testing.T) {
	f := newFakeMastodon(t)
	c := newTestClient(t, f, func(string) error { return errors.New("no browser here") })
	var shown string
	a, err := c.SignIn(context.Background(), f.host, SignInOptions{PasteCode: func(ctx context.Context, authURL string) (string, error) {
		shown = authURL
		// The user opens the URL by hand and copies the code shown.
		c := f.srv.Client()
		resp, err := c.Get(authURL)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return " " + string(b) + "\n", nil
	}})
	if err != nil {
		t.Fatalf("paste: %v", err)
	}
	if !strings.Contains(shown, "redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob") || !strings.Contains(shown, "code_challenge=") {
		t.Fatalf("auth URL %q", shown)
	}
	if a.ID != "zoe@"+f.host {
		t.Fatalf("account %+v", a)
	}
	// Without PasteCode the browser failure is the error.
	_, err = c.SignIn(context.Background(), f.host, SignInOptions{})
	if err == nil || !strings.Contains(err.Error(), "no browser here") {
		t.Fatalf("no fallback: %v", err)
	}
}

func TestSignInBadHandles(t *testing.T) {
	f := newFakeMastodon(t)
	c := newTestClient(t, f, f.followRedirects)
	for _, h := range []string{"", "@", "a@", "a b@c", "https://", "x@y/z", strings.Repeat("a", 600)} {
		if _, err := c.SignIn(context.Background(), h, SignInOptions{}); KindOf(err) != KindBadHandle {
			t.Errorf("%q: %v", h, err)
		}
	}
	if _, err := c.SignIn(context.Background(), "http://"+f.host, SignInOptions{}); KindOf(err) != KindInsecure {
		t.Errorf("plain http: %v", err)
	}
	if _, err := c.SignIn(context.Background(), "nobody@"+f.host, SignInOptions{}); KindOf(err) != KindNotFound {
		t.Errorf("unknown account: %v", err)
	}
}

func TestAnnounceRateLimitedAndInvalid(t *testing.T) {
	f := newFakeMastodon(t)
	c := newTestClient(t, f, f.followRedirects)
	ctx := context.Background()
	a, err := c.SignIn(ctx, f.host, SignInOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Session(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Announce(ctx, Announcement{Title: "t", Relay: "relay.example", Broadcast: "b", Visibility: Unlisted})
	if err != nil || p.ID != "99" || p.Visibility != Unlisted || p.WatchURL != "https://relay.example/watch/b" {
		t.Fatalf("announce: %+v %v", p, err)
	}
	for _, bad := range []Announcement{{Title: "", Relay: "r", Broadcast: "b"}, {Title: "t", WatchURL: "http://r/watch/b"}, {Title: "t", Relay: "r", Broadcast: "b", Visibility: "everyone"}} {
		if _, err := s.Announce(ctx, bad); KindOf(err) != KindInvalid {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	f.mu.Lock()
	f.statusCode = 429
	f.mu.Unlock()
	_, err = s.Announce(ctx, Announcement{Title: "t", Relay: "relay.example", Broadcast: "b"})
	if KindOf(err) != KindRateLimited || UserMessage(err) != f.host+" asks to slow down. Try again in 1h0m0s." {
		t.Fatalf("429: %v", err)
	}
}
