package ui

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"image"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/capture/publish"
	"github.com/tributary-live/tributary/fedi"
	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/relay"
	"github.com/tributary-live/tributary/moq/wire"
)

// Where the window test clicks, in window coordinates of the 1180x760
// window: the sidebar's Sign in button, and the first row of Live now.
var (
	clickSignIn   = image.Pt(103, 733)
	clickFirstRow = image.Pt(600, 160)
)

// TestWindowSignInAndWatch is bob's first day: alice (another account on a
// real GoToSocial server) is live, streaming the test pattern through her
// relay and announcing it; bob starts the app, signs in through the real
// OAuth flow (the test plays his browser), sees alice's stream in Live now,
// opens it, and it plays.
func TestWindowSignInAndWatch(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the app, runs GoToSocial and the app under Xvfb")
	}
	requireTools(t, "Xvfb", "import", "xdotool")
	srv := startGTS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)

	// bob follows alice (GoToSocial asks alice to accept).
	alice, bob := srv.token(t, ctx, "alice"), srv.token(t, ctx, "bob")
	target, err := bob.AccountLookup(ctx, "alice")
	if err != nil {
		t.Fatalf("look up alice: %v", err)
	}
	rel, err := bob.AccountFollow(ctx, target.ID)
	if err != nil {
		t.Fatalf("bob follows alice: %v", err)
	}
	if !rel.Following {
		me, err := bob.GetAccountCurrentUser(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.FollowRequestAuthorize(ctx, me.ID); err != nil {
			t.Fatalf("alice accepts bob: %v", err)
		}
	}

	// alice's relay, with a certificate the app is told to trust.
	cert, _, err := moq.DevCert("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "relay.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := relay.New(relay.Config{Listen: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, OpenPublish: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	relayHost := strings.TrimPrefix(r.URL(), "moqt://")

	// alice streams the test pattern to it...
	now := time.Now()
	pub, err := publish.New(publish.Config{
		Namespace:        wire.NewNamespace("alice", "live"),
		Video:            capture.NewPatternSource(640, 360, 30, true, now),
		Audio:            capture.NewToneSource(48000, 1, 20*time.Millisecond, true, now),
		KeyframeInterval: 30,
		Logger:           log,
	})
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	t.Cleanup(func() { pcancel(); <-done; <-done })
	go func() { pub.Run(pctx); done <- struct{}{} }()
	go func() {
		pub.Connect(pctx, r.URL(), &publish.ConnectOptions{Config: moq.Config{Logger: log}, Dial: moq.DialOptions{CertHashes: [][]byte{moq.CertHash(cert.Certificate[0])}}})
		done <- struct{}{}
	}()

	// ...and announces it with the fedi package, signed in through its own OAuth flow.
	adir := t.TempDir()
	browserErr := make(chan error, 1)
	ac, err := fedi.New(fedi.Config{
		Dir: adir, Secrets: &fedi.FileStore{Path: filepath.Join(adir, "secrets.json")}, AllowLoopbackHTTP: true, Logger: log,
		OpenURL: func(u string) error {
			go func() {
				_, err := playBrowser(ctx, u, "alice@example.org", gtsPassword)
				browserErr <- err
			}()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := ac.SignIn(ctx, "alice@"+srv.host, fedi.SignInOptions{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("alice signs in: %v (browser: %v)", err, <-browserErr)
	}
	as, err := ac.Session(acc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.Announce(ctx, fedi.Announcement{Title: "Alice tests her camera", Relay: relayHost, Broadcast: "alice/live", Visibility: fedi.Public}); err != nil {
		t.Fatalf("alice announces: %v", err)
	}

	// bob's app, with a browser that tells the test which page to open.
	bin := buildApp(t)
	x := startXvfb(t)
	urls := filepath.Join(t.TempDir(), "opened-urls")
	fake := t.TempDir()
	script := "#!/bin/sh\nprintf '%s\\n' \"$1\" >> " + urls + "\n"
	if err := os.WriteFile(filepath.Join(fake, "xdg-open"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	startApp(t, bin, x, []string{"PATH=" + fake + ":" + os.Getenv("PATH")},
		"--no-demo", "--dev-allow-loopback-http", "--dev-ca-file", caFile)
	win := waitWindow(t, x, "Tributary", 15*time.Second)

	// Sign in: the sidebar's button, then the account, typed (the field has
	// the focus). Up to three tries, should a keystroke arrive before the
	// screen has switched.
	var authURL string
	for try := 0; authURL == ""; try++ {
		x.click(t, win, clickSignIn)
		x.xdotool(t, "key", "ctrl+a", "BackSpace")
		x.xdotool(t, "type", "--delay", "20", "bob@"+srv.host)
		x.xdotool(t, "key", "Return")
		authURL = firstLine(urls, 15*time.Second)
		if authURL == "" && try == 2 {
			saveShot(t, "signin.png", x.screenshot(t, win))
			t.Fatal("the app opened no sign-in page within 15 s, three times")
		}
	}
	if _, err := playBrowser(ctx, authURL, "bob@example.org", gtsPassword); err != nil {
		saveShot(t, "signin.png", x.screenshot(t, win))
		t.Fatalf("bob's browser: %v", err)
	}

	// Live now lists alice's stream (first row); opening it plays her pattern.
	deadline := time.Now().Add(60 * time.Second)
	var stamp capture.PatternStamp
	var shot image.Image
	for tries := 0; ; tries++ {
		shot = x.screenshot(t, win)
		if r, ok := videoRect(shot); ok {
			if s, ok := capture.ReadPattern(crop(shot, r)); ok {
				stamp = s
				break
			}
		}
		if time.Now().After(deadline) || tries > 60 {
			saveShot(t, "watch-timeout.png", shot)
			t.Fatal("alice's stream did not play within 60 s of signing in")
		}
		if tries%3 == 0 {
			if os.Getenv("TRIBUTARY_SHOTS") != "" {
				saveShot(t, "livenow-signed-in.png", shot)
			}
			x.click(t, win, clickFirstRow) // Live now shows after sign-in; the row appears once discovered
		}
		time.Sleep(time.Second) // polling the screen
	}
	time.Sleep(time.Second) // a second later the counter must have moved
	b := x.screenshot(t, win)
	rb, ok := videoRect(b)
	if !ok {
		saveShot(t, "watch-b.png", b)
		t.Fatal("the video area disappeared")
	}
	sb, ok := capture.ReadPattern(crop(b, rb))
	if !ok || sb.Frame <= stamp.Frame {
		saveShot(t, "watch-b.png", b)
		t.Fatalf("frame counter %d then %d (readable %v)", stamp.Frame, sb.Frame, ok)
	}
	t.Logf("alice's stream plays in bob's window: frame %d -> %d", stamp.Frame, sb.Frame)
	if os.Getenv("TRIBUTARY_SHOTS") != "" {
		saveShot(t, "watch-alice.png", b)
	}
}

// xdotool runs xdotool on the display.
func (x *xvfb) xdotool(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", args...)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xdotool %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// click clicks at p in window coordinates.
func (x *xvfb) click(t *testing.T, win string, p image.Point) {
	t.Helper()
	x.xdotool(t, "mousemove", "--window", win, fmt.Sprint(p.X), fmt.Sprint(p.Y), "click", "1")
}

// waitWindow waits for the window titled title and for it to be drawn.
func waitWindow(t *testing.T, x *xvfb, title string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	for i := 0; ; i++ {
		if w := x.window(t, title); w != "" {
			if _, err := x.tryScreenshot(w); err == nil {
				return w
			}
		}
		if time.Now().After(deadline) || i > 200 {
			t.Fatalf("no window %q within %v", title, limit)
		}
		time.Sleep(200 * time.Millisecond) // polling X
	}
}

// firstLine waits up to limit for the first line in file ("" if none).
func firstLine(file string, limit time.Duration) string {
	deadline := time.Now().Add(limit)
	for i := 0; ; i++ {
		if b, err := os.ReadFile(file); err == nil {
			if line, _, _ := strings.Cut(string(b), "\n"); strings.TrimSpace(line) != "" {
				return strings.TrimSpace(line)
			}
		}
		if time.Now().After(deadline) || i > 1000 {
			return ""
		}
		time.Sleep(100 * time.Millisecond) // polling the file
	}
}
