package app

import (
	"context"
	"errors"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func newTestCore(t *testing.T, svc services) (*Core, *watcher) {
	t.Helper()
	c := New(Options{ConfigDir: t.TempDir(), StatsInterval: 20 * time.Millisecond, services: &svc})
	w := watch(c)
	c.Start()
	t.Cleanup(func() { c.Close() })
	return c, w
}

func TestEmbeddedDefaultPlaysDemo(t *testing.T) {
	relay, player := &fakeRelay{}, &fakePlayer{}
	svc := services{relay: relay, demo: fakeDemo{}, player: player}
	c := New(Options{ConfigDir: t.TempDir(), StatsInterval: 20 * time.Millisecond, services: &svc})
	frames := &frameCounter{}
	c.SetVideoSink(frames)
	w := watch(c)
	c.Start()
	defer c.Close()
	s := w.waitFor(t, "demo playing", func(s State) bool { return s.Player.Status == PlayerPlaying })
	if !s.Relay.Running || s.Relay.URL != "moqt://127.0.0.1:4443" {
		t.Errorf("relay = %+v, want running", s.Relay)
	}
	if !s.Player.Stream.Demo || s.Player.URL != "moqt://127.0.0.1:4443/demo" {
		t.Errorf("player = %+v, want the demo", s.Player)
	}
	if len(s.Streams.Items) != 1 || !s.Streams.Items[0].Demo {
		t.Errorf("Live now = %+v, want the demo", s.Streams.Items)
	}
	if got := player.opts[0].CertHashes; len(got) != 1 || got[0] != "ab" {
		t.Errorf("player pinned %q, want the relay's certificate hash", got)
	}
	w.waitFor(t, "stats", func(s State) bool { return s.Player.Stats.LatencyMS == 42 && len(s.Relay.Broadcasts) == 2 })
	if frames.count() == 0 {
		t.Error("no frame reached the video sink")
	}
	if !s.Features.Relay || !s.Features.Player || s.Features.GoLive || s.Features.Fediverse {
		t.Errorf("features = %+v", s.Features)
	}
}

func TestNoDemoWithoutRelay(t *testing.T) {
	relay := &fakeRelay{}
	svc := services{relay: relay, demo: fakeDemo{}, player: &fakePlayer{}}
	c := New(Options{ConfigDir: t.TempDir(), services: &svc})
	if err := saveSettings(c.ConfigDir(), func() Settings { s := DefaultSettings(); s.RelayEnabled = false; return s }()); err != nil {
		t.Fatal(err)
	}
	w := watch(c)
	c.Start()
	defer c.Close()
	s := w.waitFor(t, "settings loaded", func(s State) bool { return !s.Settings.RelayEnabled })
	if s.Relay.Running || s.Player.Status != PlayerIdle || relay.starts != 0 {
		t.Errorf("relay off, yet relay=%+v player=%v starts=%d", s.Relay, s.Player.Status, relay.starts)
	}
	c.SetRelayEnabled(true)
	w.waitFor(t, "demo after turning the relay on", func(s State) bool { return s.Relay.Running && s.Player.Status == PlayerPlaying })
}

func TestRelayPortInUse(t *testing.T) {
	relay := &fakeRelay{failNow: errors.New("listen udp 127.0.0.1:4443: bind: address already in use")}
	_, w := newTestCore(t, services{relay: relay})
	s := w.waitFor(t, "relay error", func(s State) bool { return s.Relay.Err != nil })
	if s.Relay.Running || !strings.Contains(s.Relay.Err.Todo, "port") {
		t.Errorf("relay = %+v, want an error that says to change the port", s.Relay)
	}
}

func TestPlayerReconnects(t *testing.T) {
	player := &fakePlayer{}
	c, w := newTestCore(t, services{relay: &fakeRelay{}, demo: fakeDemo{}, player: player})
	w.waitFor(t, "playing", func(s State) bool { return s.Player.Status == PlayerPlaying })
	player.mu.Lock()
	player.fail = 1
	player.mu.Unlock()
	ev := player.lastEvents()
	ev.status(PlayerFailed, errors.New("stream reset"))
	s := w.waitFor(t, "reconnecting", func(s State) bool { return s.Player.Status == PlayerReconnecting })
	if s.Player.Err == nil || !s.Player.Step.Busy {
		t.Errorf("reconnecting state = %+v, want a reason and progress", s.Player)
	}
	s = w.waitFor(t, "playing again", func(s State) bool { return s.Player.Status == PlayerPlaying && s.Player.Reconnects >= 2 })
	if s.Player.Err != nil {
		t.Errorf("error kept after reconnecting: %v", s.Player.Err)
	}
	if n := len(player.openedURLs()); n != 3 {
		t.Errorf("opened %d times, want 3 (first, failed retry, good retry)", n)
	}
	c.StopPlaying()
	w.waitFor(t, "idle", func(s State) bool { return s.Player.Status == PlayerIdle })
}

func TestPlayURLValidates(t *testing.T) {
	player := &fakePlayer{}
	c, w := newTestCore(t, services{player: player})
	c.PlayURL("ftp://example.test/x")
	s := w.waitFor(t, "failure", func(s State) bool { return s.Player.Status == PlayerFailed })
	if !strings.Contains(s.Player.Err.What, "ftp") {
		t.Errorf("error = %q, want it to name the scheme", s.Player.Err.What)
	}
	c.PlayURL(" moqt://relay.example.test:4443/alice/live ")
	s = w.waitFor(t, "playing", func(s State) bool { return s.Player.Status == PlayerPlaying })
	if s.Player.Stream.Title != "alice/live" {
		t.Errorf("title = %q", s.Player.Stream.Title)
	}
}

func TestSettingsSavedAndValidated(t *testing.T) {
	c, w := newTestCore(t, services{player: &fakePlayer{}})
	w.waitFor(t, "start", func(s State) bool { return s.Settings.Latency != "" })
	errc := make(chan error, 1)
	c.UpdateSettings(func(s *Settings) { s.RelayPort = 80 }, func(err error) { errc <- err })
	var p *Problem
	if err := <-errc; !errors.As(err, &p) || !strings.Contains(p.What, "80") {
		t.Fatalf("port 80: err = %v, want a Problem naming the port", err)
	}
	c.UpdateSettings(func(s *Settings) {
		s.HomeRelayURL = "moqt://relay.example.test:4443"
		s.Latency = LatencySmooth
	}, func(err error) { errc <- err })
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	got, err := loadSettings(c.ConfigDir())
	if err != nil || got.HomeRelayURL != "moqt://relay.example.test:4443" || got.Latency != LatencySmooth {
		t.Errorf("reloaded %+v, %v", got, err)
	}
	fi, err := os.Stat(filepath.Join(c.ConfigDir(), settingsFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("settings file mode = %v, %v; want 0600", fi.Mode(), err)
	}
}

func TestDamagedSettingsGiveDefaultsAndNotice(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, settingsFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	svc := services{}
	c := New(Options{ConfigDir: dir, services: &svc})
	w := watch(c)
	c.Start()
	defer c.Close()
	s := w.waitFor(t, "notice", func(s State) bool { return s.Notice != nil })
	if s.Settings.Latency != DefaultSettings().Latency {
		t.Errorf("settings = %+v, want defaults", s.Settings)
	}
}

func TestSignInAndLiveNow(t *testing.T) {
	fedi := &fakeFedi{streams: []Stream{
		// In display order, as fedi gives them (it sorts: live first, newest first).
		{ID: "2", Who: "Carol", Title: "New", State: StreamLive, StartedAt: time.Unix(200, 0), URLs: []string{"moqt://c/2"}},
		{ID: "1", Who: "Bob", Title: "Old", State: StreamLive, StartedAt: time.Unix(100, 0), URLs: []string{"moqt://b/1"}},
	}}
	c, w := newTestCore(t, services{relay: &fakeRelay{}, demo: fakeDemo{}, player: &fakePlayer{}, fedi: fedi})
	w.waitFor(t, "demo listed", func(s State) bool { return len(s.Streams.Items) == 1 })
	c.SignInWithCode("  @alice@example.test ")
	s := w.waitFor(t, "auth URL", func(s State) bool { return s.SignIn.AuthURL != "" })
	if !s.SignIn.Step.Busy || !s.SignIn.NeedsCode {
		t.Errorf("sign-in = %+v, want busy and waiting for a code", s.SignIn)
	}
	c.SubmitCode("bad")
	s = w.waitFor(t, "bad code", func(s State) bool { return s.SignIn.Err != nil })
	if s.SignIn.Step.Busy || len(s.Accounts) != 0 {
		t.Errorf("after a bad code: %+v", s.SignIn)
	}
	c.SignInWithCode("alice@example.test")
	w.waitFor(t, "auth URL again", func(s State) bool { return s.SignIn.NeedsCode })
	c.SubmitCode("good")
	s = w.waitFor(t, "streams", func(s State) bool { return len(s.Accounts) == 1 && len(s.Streams.Items) == 3 })
	if s.Streams.Items[0].Title != "New" || s.Streams.Items[1].Title != "Old" || !s.Streams.Items[2].Demo {
		t.Errorf("order = %v, %v, %v; want newest first, demo last", s.Streams.Items[0].Title, s.Streams.Items[1].Title, s.Streams.Items[2].Title)
	}
	c.SignOut("alice@example.test")
	w.waitFor(t, "signed out", func(s State) bool { return len(s.Accounts) == 0 && len(s.Streams.Items) == 1 })
}

func TestGoLive(t *testing.T) {
	fedi := &fakeFedi{accs: []Account{{ID: "alice@example.test", Handle: "@alice@example.test"}}}
	c, w := newTestCore(t, services{relay: &fakeRelay{}, player: &fakePlayer{}, fedi: fedi, live: fakeLive{}})
	w.waitFor(t, "relay and account", func(s State) bool { return s.Relay.Running && len(s.Accounts) == 1 })
	c.OpenGoLive()
	s := w.waitFor(t, "devices", func(s State) bool { return len(s.Live.Cameras) == 1 && s.Live.MicLevel > 0 })
	if s.Live.Options.Camera != "cam0" || s.Live.Options.Microphone != "mic0" {
		t.Errorf("options = %+v, want the first devices chosen", s.Live.Options)
	}
	c.GoLive()
	s = w.waitFor(t, "title error", func(s State) bool { return s.Live.Err != nil })
	if !strings.Contains(s.Live.Err.What, "title") {
		t.Errorf("err = %v", s.Live.Err)
	}
	o := s.Live.Options
	o.Title = "Morning stream"
	c.SetLiveOptions(o)
	c.GoLive()
	// On the personal relay (loopback): live, viewers from the relay's
	// figures, but not announced: followers could not open the link.
	s = w.waitFor(t, "live", func(s State) bool { return s.Live.Live && s.Live.Viewers == 2 })
	if s.Live.URL != "moqt://127.0.0.1:4443/example.test/alice/live" || s.Live.Announced != "" || s.Live.UploadKbps != 2500 {
		t.Errorf("live = %+v", s.Live)
	}
	if s.Live.Err == nil || !strings.Contains(s.Live.Err.Todo, "home relay") {
		t.Errorf("no word on the unannounced loopback stream: %v", s.Live.Err)
	}
	c.EndLive()
	w.waitFor(t, "ended", func(s State) bool { return !s.Live.Live && !s.Live.Step.Busy })

	// On a home relay others reach: announced, and marked ended at the end.
	c.UpdateSettings(func(st *Settings) { st.HomeRelayURL = "moqt://relay.example.test:4443" }, nil)
	c.GoLive()
	s = w.waitFor(t, "live on the home relay", func(s State) bool { return s.Live.Live && s.Live.Announced != "" })
	if s.Live.URL != "moqt://relay.example.test:4443/example.test/alice/live" || s.Live.Viewers == 2 || s.Live.Err != nil {
		t.Errorf("live = %+v", s.Live)
	}
	c.EndLive()
	w.waitFor(t, "ended", func(s State) bool { return !s.Live.Live && !s.Live.Step.Busy })
	fedi.mu.Lock()
	defer fedi.mu.Unlock()
	if len(fedi.announced) != 1 || fedi.ended != 1 {
		t.Errorf("announced %v, ended %d", fedi.announced, fedi.ended)
	}
}

func TestStateIsACopy(t *testing.T) {
	c, w := newTestCore(t, services{relay: &fakeRelay{}, demo: fakeDemo{}, player: &fakePlayer{}})
	w.waitFor(t, "demo", func(s State) bool { return len(s.Streams.Items) == 1 })
	s := c.State()
	s.Streams.Items[0].URLs[0] = "changed"
	if c.State().Streams.Items[0].URLs[0] == "changed" {
		t.Error("changing a snapshot changed the core")
	}
}

func TestCloseIsIdempotentAndCallsAfterAreIgnored(t *testing.T) {
	c, _ := newTestCore(t, services{relay: &fakeRelay{}, demo: fakeDemo{}, player: &fakePlayer{}})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c.PlayURL("moqt://x/y")
	errc := make(chan error, 1)
	c.UpdateSettings(func(*Settings) {}, func(err error) { errc <- err })
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

func TestCheckStreamURL(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"moqt://relay.example:4443/a/b", true},
		{"https://relay.example/watch/a", true},
		{"http://relay.example/", false},
		{"relay.example", false},
		{"moqt:///nohost", false},
		{"", false},
		{"%zz", false},
	} {
		if err := CheckStreamURL(tc.in); (err == nil) != tc.ok {
			t.Errorf("CheckStreamURL(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}

// TestPlaysThroughHomeRelay: a Fediverse stream plays through the home
// relay the account's server names, with the grant, and falls back to the
// streamer's own relay (without the grant) when the home relay fails.
func TestPlaysThroughHomeRelay(t *testing.T) {
	fedi := &fakeFedi{
		accs:    []Account{{ID: "bob@b.test", Handle: "@bob@b.test"}},
		streams: []Stream{{ID: "1", Who: "Alice", Title: "Live", State: StreamLive, URLs: []string{"moqt://relay.a.test:443/a.test/alice/live"}, CertHashes: []string{"aa"}, Federated: true}},
		home:    &homeGrant{relay: HomeRelay{URL: "moqt://relay.b.test:4443", Instance: "b.test", CertHashes: []string{"bb"}, Publish: []string{"b.test/bob"}}, token: "grant-of-bob"},
	}
	player := &fakePlayer{}
	c, w := newTestCore(t, services{relay: &fakeRelay{}, player: player, fedi: fedi})
	s := w.waitFor(t, "home relay and stream", func(s State) bool { return s.Home.Relay != nil && len(s.Streams.Items) > 0 })
	c.Play(s.Streams.Items[0])
	s = w.waitFor(t, "playing", func(s State) bool { return s.Player.Status == PlayerPlaying })
	if s.Player.Via != "via b.test" || s.Player.URL != "moqt://relay.b.test:4443/a.test/alice/live" {
		t.Fatalf("playing %q (%s), want the broadcast through relay.b.test, via b.test", s.Player.URL, s.Player.Via)
	}
	player.mu.Lock()
	o := player.opts[len(player.opts)-1]
	player.mu.Unlock()
	if o.Token != "grant-of-bob" || !slices.Contains(o.CertHashes, "bb") {
		t.Errorf("home relay opened with token %q pins %v, want the grant and its pin", o.Token, o.CertHashes)
	}
	player.lastEvents().status(PlayerFailed, errors.New("relay closed"))
	s = w.waitFor(t, "direct", func(s State) bool { return s.Player.Status == PlayerPlaying && s.Player.Via == "direct" })
	if s.Player.URL != "moqt://relay.a.test:443/a.test/alice/live" {
		t.Errorf("fell back to %q, want the streamer's relay", s.Player.URL)
	}
	player.mu.Lock()
	defer player.mu.Unlock()
	for i, u := range player.opened {
		home := strings.Contains(u, "relay.b.test")
		if !home && player.opts[i].Token != "" {
			t.Errorf("the grant was sent to %s", u)
		}
		if player.opts[i].Guard == home {
			t.Errorf("%s opened with Guard=%v: a post's address must go through the guard, the home relay's need not", u, player.opts[i].Guard)
		}
	}
}

// TestGoLiveOnHomeRelay: with no relay set by hand, Go live publishes to
// the home relay under the namespace the grant allows, with the grant.
func TestGoLiveOnHomeRelay(t *testing.T) {
	fedi := &fakeFedi{
		accs: []Account{{ID: "bob@b.test", Handle: "@bob@b.test"}},
		home: &homeGrant{relay: HomeRelay{URL: "moqt://relay.b.test:4443", Instance: "b.test", Publish: []string{"b.test/bob"}}, token: "grant-of-bob"},
	}
	live := &recordingLive{}
	c, w := newTestCore(t, services{relay: &fakeRelay{}, player: &fakePlayer{}, fedi: fedi, live: live})
	w.waitFor(t, "home relay", func(s State) bool { return s.Home.Relay != nil })
	c.OpenGoLive()
	c.SetLiveOptions(LiveOptions{Title: "Hello", Announce: true, Visibility: VisibilityPublic})
	c.GoLive()
	w.waitFor(t, "live", func(s State) bool { return s.Live.Live })
	tg := live.target()
	if tg.RelayURL != "moqt://relay.b.test:4443" || strings.Join(tg.Path, "/") != "b.test/bob/live" || tg.TokenFunc == nil {
		t.Fatalf("target = %+v, want the home relay, b.test/bob/live and a grant", tg)
	}
	if tok, err := tg.TokenFunc(context.Background()); err != nil || tok != "grant-of-bob" {
		t.Errorf("token = %q, %v", tok, err)
	}
}

// TestPlayerGuardsPostAddresses: a stream address named by a post is
// dialled through the address guard: a private or loopback relay is
// refused before any packet is sent.
func TestPlayerGuardsPostAddresses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := playerReal{log: slog.New(slog.DiscardHandler), noAudio: true}
	for _, u := range []string{"moqt://127.0.0.1:9/a.test/alice/live", "moqt://10.0.0.1:443/a.test/alice/live", "moqt://[::1]:443/x/y"} {
		h, err := p.open(ctx, u, playOptions{Guard: true}, playEvents{frame: func(image.Image) {}, status: func(PlayerStatus, error) {}})
		if err == nil {
			h.close()
			t.Errorf("%s: a post's private address was dialled", u)
		} else if !strings.Contains(err.Error(), "not a public") && !strings.Contains(err.Error(), "blocked") {
			t.Errorf("%s: %v, want the guard's refusal", u, err)
		}
	}
}

// TestChatFollowsThePlayedStream: playing a Fediverse stream shows the
// replies to its post; a message is sent as a reply to that post, to its
// author; an over-long message is refused; stopping ends the chat; going
// live shows the chat of the user's own announcement.
func TestChatFollowsThePlayedStream(t *testing.T) {
	fedi := &fakeFedi{
		accs:    []Account{{ID: "bob@b.test", Handle: "@bob@b.test"}},
		streams: []Stream{{ID: "1", Who: "Alice", Handle: "@alice@a.test", Title: "Live", State: StreamLive, URLs: []string{"moqt://a.test/a.test/alice/live"}, PostID: "p1"}},
		chat: map[string][]ChatMessage{
			"p1": {{ID: "r1", Who: "Carol", Handle: "@carol@b.test", Text: "hi"}},
			"1":  {{ID: "r2", Who: "Dan", Handle: "@dan@c.test", Text: "go alice"}},
		},
		// A home relay others reach, so going live announces.
		home: &homeGrant{relay: HomeRelay{URL: "moqt://relay.b.test:4443", Instance: "b.test", Publish: []string{"b.test/bob"}}, token: "g"},
	}
	c, w := newTestCore(t, services{relay: &fakeRelay{}, player: &fakePlayer{}, fedi: fedi, live: fakeLive{}})
	s := w.waitFor(t, "stream", func(s State) bool { return len(s.Streams.Items) > 0 })
	c.Play(s.Streams.Items[0])
	s = w.waitFor(t, "chat", func(s State) bool { return len(s.Chat.Messages) == 1 })
	if !s.Chat.Available || s.Chat.Messages[0].Text != "hi" {
		t.Errorf("chat = %+v", s.Chat)
	}
	c.SendChat("  hello alice  ")
	s = w.waitFor(t, "sent", func(s State) bool { return len(s.Chat.Messages) == 2 && !s.Chat.Sending })
	if s.Chat.Messages[1].Text != "hello alice" {
		t.Errorf("sent message shown as %+v", s.Chat.Messages[1])
	}
	c.SendChat(strings.Repeat("x", 501))
	s = w.waitFor(t, "too long", func(s State) bool { return s.Chat.Err != nil })
	fedi.mu.Lock()
	replies := append([]string(nil), fedi.replies...)
	fedi.mu.Unlock()
	if len(replies) != 1 || replies[0] != "p1 alice@a.test hello alice" {
		t.Errorf("replies sent: %q, want one to p1 by alice@a.test", replies)
	}
	c.StopPlaying()
	w.waitFor(t, "chat closed", func(s State) bool { return !s.Chat.Available && len(s.Chat.Messages) == 0 })

	c.OpenGoLive()
	c.SetLiveOptions(LiveOptions{Title: "Mine", Announce: true, Visibility: VisibilityPublic})
	c.GoLive()
	s = w.waitFor(t, "live chat", func(s State) bool { return s.Live.Live && len(s.Live.Chat.Messages) == 1 })
	if s.Live.Chat.Messages[0].Text != "go alice" {
		t.Errorf("live chat = %+v", s.Live.Chat)
	}
	c.EndLive()
	w.waitFor(t, "live chat closed", func(s State) bool { return !s.Live.Live && !s.Live.Chat.Available })
}
