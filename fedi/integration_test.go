package fedi

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"

	"github.com/tributary-live/tributary/fedi/livepost"
)

// fakeRelay serves /.well-known/moq over TLS on 127.0.0.1, like the relay.
type fakeRelay struct {
	srv  *httptest.Server
	host string
	pool *x509.CertPool
}

func newFakeRelay(t *testing.T) *fakeRelay {
	t.Helper()
	mux := http.NewServeMux()
	r := &fakeRelay{}
	mux.HandleFunc(livepost.WellKnownPath, func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(livepost.WellKnown{
			MoQT:         []string{"moqt://" + r.host},
			WebTransport: []string{"https://" + r.host + "/"},
			ALPN:         []string{"moqt-18", "moqt-19"},
			CertHashes:   []string{strings.Repeat("ab", 32)},
		})
	})
	r.srv = httptest.NewUnstartedServer(mux)
	r.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the "not Mastodon" case fails TLS on purpose
	r.srv.StartTLS()
	t.Cleanup(r.srv.Close)
	r.host = r.srv.Listener.Addr().String()
	r.pool = x509.NewCertPool()
	r.pool.AddCert(r.srv.Certificate())
	return r
}

// liveness is a LivenessChecker standing in for the app's TRACK_STATUS check.
type liveness struct {
	mu    sync.Mutex
	ended map[string]bool // by broadcast
}

func (l *liveness) CheckLive(ctx context.Context, s LiveStream) (Liveness, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended[s.Broadcast] {
		return LivenessEnded, nil
	}
	return LivenessLive, nil
}

func (l *liveness) end(b string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended[b] = true
}

// signIn signs user in through the real OAuth flow with the test browser.
func signIn(t *testing.T, ctx context.Context, srv *gtsServer, relay *fakeRelay, live LivenessChecker, user, handle string) (*Client, *Session) {
	t.Helper()
	done := make(chan error, 1)
	dir := t.TempDir()
	c, err := New(Config{
		Dir:               dir,
		Secrets:           &FileStore{Path: filepath.Join(dir, "secrets.json")},
		OpenURL:           openWith(user+"@example.org", gtsPassword, done),
		AllowLoopbackHTTP: true,
		RootCAs:           relay.pool,
		Liveness:          live,
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.SignIn(ctx, handle, SignInOptions{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("sign in %s: %v", handle, err)
	}
	if berr := <-done; berr != nil {
		t.Fatalf("browser: %v", berr)
	}
	s, err := c.Session(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// waitSnapshot reads snapshots until cond holds or the deadline passes.
func waitSnapshot(t *testing.T, ch <-chan Snapshot, within time.Duration, what string, cond func(Snapshot) bool) Snapshot {
	t.Helper()
	timer := time.NewTimer(within)
	defer timer.Stop()
	var last Snapshot
	for {
		select {
		case snap, ok := <-ch:
			if !ok {
				t.Fatalf("%s: watch channel closed", what)
			}
			last = snap
			if cond(snap) {
				return snap
			}
		case <-timer.C:
			t.Fatalf("%s: not within %s; last snapshot: %+v", what, within, last)
		}
	}
}

func findStream(list []LiveStream, broadcast string) *LiveStream {
	for i := range list {
		if list[i].Broadcast == broadcast {
			return &list[i]
		}
	}
	return nil
}

// discoverWithin calls Discover until cond holds, for at most d.
func discoverWithin(t *testing.T, ctx context.Context, s *Session, d time.Duration, what string, cond func([]LiveStream) bool) []LiveStream {
	t.Helper()
	deadline := time.Now().Add(d)
	var last []LiveStream
	for i := 0; i < 100; i++ {
		list, err := s.Discover(ctx)
		if err != nil {
			t.Fatalf("%s: discover: %v", what, err)
		}
		last = list
		if cond(list) {
			return list
		}
		if time.Now().After(deadline) {
			break
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	t.Fatalf("%s: not within %s; last: %+v", what, d, last)
	return nil
}

func TestGoToSocial(t *testing.T) {
	srv := gts(t)
	t.Logf("GoToSocial: accounts made and server ready in %s", srv.startup.Round(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	relay := newFakeRelay(t)
	live := &liveness{ended: map[string]bool{}}

	aliceC, alice := signIn(t, ctx, srv, relay, live, "alice", "alice@"+srv.host)
	_, bob := signIn(t, ctx, srv, relay, live, "bob", srv.host)

	t.Run("accounts", func(t *testing.T) {
		want := "alice@" + srv.host
		if got := alice.Account().ID; got != want {
			t.Fatalf("alice's account ID = %q, want %q", got, want)
		}
		if got := bob.Account().ID; got != "bob@"+srv.host {
			t.Fatalf("bob's account ID = %q", got)
		}
		list := aliceC.Accounts()
		if len(list) != 1 || list[0].ID != want || list[0].Server != srv.base {
			t.Fatalf("Accounts() = %+v", list)
		}
		// The token is in the 0600 secret file, not in the account list.
		dir := aliceC.cfg.Dir
		fi, err := os.Stat(filepath.Join(dir, "secrets.json"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("secrets.json: %v %v", fi, err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "accounts.json"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), alice.token) || strings.Contains(string(b), "access_token") {
			t.Fatal("accounts.json contains the token")
		}
		if _, err := alice.Verify(ctx); err != nil {
			t.Fatalf("verify: %v", err)
		}
	})

	// bob follows alice.
	target, err := bob.mc.AccountLookup(ctx, "alice")
	if err != nil {
		t.Fatalf("lookup alice: %v", err)
	}
	rel, err := bob.mc.AccountFollow(ctx, target.ID)
	if err != nil {
		t.Fatalf("bob follows alice: %v", err)
	}
	if !rel.Following {
		// GoToSocial accounts approve followers by default: alice accepts.
		bobAcct, err := bob.mc.GetAccountCurrentUser(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.mc.FollowRequestAuthorize(ctx, bobAcct.ID); err != nil {
			t.Fatalf("alice accepts bob: %v", err)
		}
		rels, err := bob.mc.GetAccountRelationships(ctx, []string{string(target.ID)})
		if err != nil || len(rels) != 1 || !rels[0].Following {
			t.Fatalf("bob does not follow alice: %+v %v", rels, err)
		}
	}

	t.Run("announce, discover, end", func(t *testing.T) {
		wctx, wcancel := context.WithCancel(ctx)
		defer wcancel()
		watch := bob.Watch(wctx)
		waitSnapshot(t, watch, 15*time.Second, "streaming connected", func(s Snapshot) bool { return s.Streaming })

		post, err := alice.Announce(ctx, Announcement{Title: "Friday night synths", Relay: relay.host, Broadcast: "alice/synths", Visibility: Public})
		if err != nil {
			t.Fatalf("announce: %v", err)
		}
		wantText := "🔴 LIVE: Friday night synths https://" + relay.host + "/watch/alice/synths #live #moqlive"
		if src, err := alice.mc.GetStatusSource(ctx, mastodon.ID(post.ID)); err == nil && src.Text != wantText {
			t.Errorf("posted text %q, want %q", src.Text, wantText)
		}
		announced := time.Now()
		snap := waitSnapshot(t, watch, 2*time.Second, "stream via streaming API", func(s Snapshot) bool {
			st := findStream(s.Streams, "alice/synths")
			return st != nil && st.State == StateLive
		})
		t.Logf("streaming API: stream listed %s after announcing", time.Since(announced).Round(time.Millisecond))
		st := findStream(snap.Streams, "alice/synths")
		wantRelays := []string{"moqt://" + relay.host + "/alice/synths", "https://" + relay.host + "/alice/synths"}
		if st.Account != "alice@"+srv.host || st.Title != "Friday night synths" || st.Source != SourceTributary ||
			st.WatchURL != "https://"+relay.host+"/watch/alice/synths" || fmt.Sprint(st.RelayURLs) != fmt.Sprint(wantRelays) ||
			st.PostURL == "" || st.Relay == nil || len(st.Relay.ALPN) != 2 || st.StartedAt.IsZero() {
			t.Errorf("stream = %+v", *st)
		}

		// The home timeline, read on its own, has it within 2 s of posting too.
		discoverWithin(t, ctx, bob, 2*time.Second-time.Since(announced), "stream via home timeline", func(l []LiveStream) bool {
			st := findStream(l, "alice/synths")
			return st != nil && st.State == StateLive
		})
		t.Logf("home timeline: stream listed %s after announcing", time.Since(announced).Round(time.Millisecond))

		ending := time.Now()
		if err := alice.EndAnnouncement(ctx, post); err != nil {
			t.Fatalf("end: %v", err)
		}
		waitSnapshot(t, watch, 2*time.Second-time.Since(ending), "end via streaming API", func(s Snapshot) bool {
			return findStream(s.Streams, "alice/synths") == nil
		})
		t.Logf("streaming API: end seen %s after editing", time.Since(ending).Round(time.Millisecond))
		discoverWithin(t, ctx, bob, 2*time.Second-time.Since(ending), "end via home timeline", func(l []LiveStream) bool {
			return findStream(l, "alice/synths") == nil
		})
		if src, err := alice.mc.GetStatusSource(ctx, mastodon.ID(post.ID)); err != nil || !strings.HasPrefix(src.Text, livepost.EndedMarker) {
			t.Errorf("edited post source = %+v, %v", src, err)
		}

		// A deleted announcement disappears too.
		post2, err := alice.Announce(ctx, Announcement{Title: "Encore", Relay: relay.host, Broadcast: "alice/encore", Visibility: Unlisted})
		if err != nil {
			t.Fatalf("announce: %v", err)
		}
		waitSnapshot(t, watch, 2*time.Second, "second stream", func(s Snapshot) bool { return findStream(s.Streams, "alice/encore") != nil })
		if err := alice.mc.DeleteStatus(ctx, mastodon.ID(post2.ID)); err != nil {
			t.Fatal(err)
		}
		waitSnapshot(t, watch, 2*time.Second, "deleted post dropped", func(s Snapshot) bool { return findStream(s.Streams, "alice/encore") == nil })

		// A stream the relay says ended is not listed even while its post says live.
		live.end("alice/gone")
		post3, err := alice.Announce(ctx, Announcement{Title: "Gone", Relay: relay.host, Broadcast: "alice/gone", Visibility: FollowersOnly})
		if err != nil {
			t.Fatalf("announce: %v", err)
		}
		defer func() { _ = alice.EndAnnouncement(ctx, post3) }()
		discoverWithin(t, ctx, bob, 2*time.Second, "post of an ended broadcast on the timeline", func(l []LiveStream) bool {
			sts, err := bob.homeTimeline(ctx)
			if err != nil {
				return false
			}
			for _, s := range sts {
				if string(s.ID) == post3.ID {
					return findStream(l, "alice/gone") == nil
				}
			}
			return false
		})
	})

	t.Run("paste the code", func(t *testing.T) {
		dir := t.TempDir()
		c, err := New(Config{Dir: dir, Secrets: &FileStore{Path: filepath.Join(dir, "s.json")}, OpenURL: func(string) error { return nil }, AllowLoopbackHTTP: true})
		if err != nil {
			t.Fatal(err)
		}
		a, err := c.SignIn(ctx, "bob@"+srv.host, SignInOptions{UsePaste: true, PasteCode: func(ctx context.Context, authURL string) (string, error) {
			final, err := browser(ctx, authURL, "bob@example.org", gtsPassword)
			if err != nil {
				return "", err
			}
			code := final.Query().Get("code")
			if code == "" {
				return "", fmt.Errorf("%w (landed on %s)", errNoCode, final.Path)
			}
			return code, nil
		}})
		if err != nil {
			t.Fatalf("paste sign-in: %v", err)
		}
		if a.ID != "bob@"+srv.host {
			t.Fatalf("account %q", a.ID)
		}
		// A second account in the same client, through the browser.
		done := make(chan error, 1)
		c.cfg.OpenURL = openWith("alice@example.org", gtsPassword, done)
		if _, err := c.SignIn(ctx, "alice@"+srv.host, SignInOptions{Timeout: 30 * time.Second}); err != nil {
			t.Fatalf("second account: %v", err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if list := c.Accounts(); len(list) != 2 || list[0].ID != "alice@"+srv.host || list[1].ID != "bob@"+srv.host {
			t.Fatalf("accounts %+v", list)
		}
		for _, id := range []string{"alice@" + srv.host, "bob@" + srv.host} {
			s, err := c.Session(id)
			if err != nil {
				t.Fatal(err)
			}
			if a, err := s.Verify(ctx); err != nil || a.ID != id {
				t.Fatalf("verify %s: %+v %v", id, a, err)
			}
		}
		// A wrong code gets a clear message.
		_, err = c.SignIn(ctx, srv.host, SignInOptions{UsePaste: true, PasteCode: func(context.Context, string) (string, error) { return "not-a-code", nil }})
		if KindOf(err) != KindBadCode || !strings.Contains(UserMessage(err), "did not accept the sign-in code") {
			t.Fatalf("wrong code: kind %v, %q (%v)", KindOf(err), UserMessage(err), err)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		dir := t.TempDir()
		browserErr := make(chan error, 1)
		sctx, scancel := context.WithCancel(ctx)
		defer scancel()
		c, err := New(Config{Dir: dir, Secrets: &FileStore{Path: filepath.Join(dir, "s.json")}, AllowLoopbackHTTP: true,
			OpenURL: func(authURL string) error {
				go func() {
					_, err := browser(sctx, authURL, "alice@example.org", "wrong password")
					browserErr <- err
					// The user gives up and closes the sign-in dialog.
					scancel()
				}()
				return nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.SignIn(sctx, "alice@"+srv.host, SignInOptions{Timeout: 30 * time.Second})
		berr := <-browserErr
		var pe *signInPageError
		if !errors.As(berr, &pe) || !strings.Contains(pe.text, "incorrect") {
			t.Errorf("the server's sign-in page did not say the password was wrong: %v", berr)
		}
		if KindOf(err) != KindNotCompleted {
			t.Fatalf("wrong password: kind %v, err %v", KindOf(err), err)
		}
		want := "Sign-in at " + srv.host + " was not finished in the browser. If the server said the password was wrong, try again."
		if UserMessage(err) != want {
			t.Fatalf("message %q, want %q", UserMessage(err), want)
		}
		if len(c.Accounts()) != 0 {
			t.Fatal("an account was stored")
		}
	})

	t.Run("revoked token", func(t *testing.T) {
		carolC, carol := signIn(t, ctx, srv, relay, live, "carol", "carol@"+srv.host)
		_, admin := signIn(t, ctx, srv, relay, live, "admin", "admin@"+srv.host)
		me, err := carol.mc.GetAccountCurrentUser(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// The admin suspends carol: GoToSocial deletes her tokens.
		form := url.Values{"type": {"suspend"}, "text": {"test"}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.base+"/api/v1/admin/accounts/"+string(me.ID)+"/action", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+admin.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("suspend: HTTP %d", resp.StatusCode)
		}
		// Suspension is processed in the background: poll, at most 300
		// times over 30 s.
		var verr error
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 300; i++ {
			if _, verr = carol.Verify(ctx); verr != nil {
				break
			}
			<-tick.C
		}
		if KindOf(verr) != KindUnauthorized {
			t.Fatalf("revoked token: kind %v, err %v", KindOf(verr), verr)
		}
		want := srv.host + " no longer accepts this sign-in: it was revoked or has expired. Please sign in again."
		if UserMessage(verr) != want {
			t.Fatalf("message %q, want %q", UserMessage(verr), want)
		}
		// Timeline reads and the streaming API say the same.
		if _, err := carol.Discover(ctx); KindOf(err) != KindUnauthorized {
			t.Fatalf("discover with revoked token: %v", err)
		}
		if _, err := carol.dialStream(ctx); KindOf(err) != KindUnauthorized {
			t.Fatalf("streaming with revoked token: %v", err)
		}
		// Signing out still removes the account here. GoToSocial v0.18.3 has
		// no /oauth/revoke, so the error says the server did not revoke.
		err = carolC.SignOut(ctx, carol.Account().ID)
		if !errors.Is(err, ErrNotRevoked) || !strings.Contains(UserMessage(err), "Signed out on this device") {
			t.Fatalf("sign out: %v", err)
		}
		if len(carolC.Accounts()) != 0 {
			t.Fatal("account still listed after sign-out")
		}
		if _, err := carolC.Session(carol.Account().ID); KindOf(err) != KindNotSignedIn {
			t.Fatalf("session after sign-out: %v", err)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		port, err := freePort() // nothing listens there now
		if err != nil {
			t.Fatal(err)
		}
		host := fmt.Sprintf("127.0.0.1:%d", port)
		c, err := New(Config{Dir: t.TempDir(), Secrets: &FileStore{Path: filepath.Join(t.TempDir(), "s.json")}, AllowLoopbackHTTP: true, OpenURL: func(string) error { return errors.New("no browser") }})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.SignIn(ctx, "nobody@"+host, SignInOptions{})
		if KindOf(err) != KindUnreachable {
			t.Fatalf("unreachable: kind %v, err %v", KindOf(err), err)
		}
		want := "Could not reach " + host + ". Check the address and your internet connection, then try again."
		if UserMessage(err) != want {
			t.Fatalf("message %q, want %q", UserMessage(err), want)
		}
		// A server that is not Mastodon-compatible is named as such.
		_, err = c.SignIn(ctx, relay.srv.URL, SignInOptions{})
		if KindOf(err) != KindTLS && KindOf(err) != KindNotMastodon {
			t.Fatalf("non-Mastodon server: %v", err)
		}
		// Plain http to a non-loopback host is refused.
		_, err = c.SignIn(ctx, "http://example.org", SignInOptions{})
		if KindOf(err) != KindInsecure {
			t.Fatalf("http: %v", err)
		}
	})
}
