package ui

import (
	"image"
	"testing"
	"time"

	"github.com/tributary-live/tributary/capture"
)

// TestWindowPlaysDemo starts the app with no account (and no network beyond
// loopback): within 10 s the video area shows the demo pattern, and two
// screenshots a second apart show its burned-in frame counter advancing.
func TestWindowPlaysDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the app and runs it under Xvfb")
	}
	requireTools(t, "Xvfb", "import", "xdotool")
	bin := buildApp(t)
	x := startXvfb(t)
	started := time.Now()
	startApp(t, bin, x, nil)

	var shot image.Image
	var pic image.Rectangle
	var first capture.PatternStamp
	deadline := started.Add(10 * time.Second)
	win := ""
	for tries := 0; ; tries++ {
		if win == "" {
			win = x.window(t, "Tributary")
		}
		var err error
		if win == "" {
			shot, err = x.tryScreenshot("root")
		} else {
			shot, err = x.tryScreenshot(win)
		}
		if err != nil {
			t.Logf("not yet: %v", err)
		} else if r, ok := videoRect(shot); ok && win != "" {
			if s, ok := capture.ReadPattern(crop(shot, r)); ok {
				pic, first = r, s
				break
			}
		}
		if time.Now().After(deadline) || tries > 100 {
			if shot != nil {
				saveShot(t, "demo-timeout.png", shot)
			}
			t.Fatalf("no demo pattern in the video area within 10 s")
		}
		time.Sleep(200 * time.Millisecond) // polling the screen, not synchronising
	}
	t.Logf("demo pattern on screen %v after start, frame %d, picture %v", time.Since(started).Round(time.Millisecond), first.Frame, pic)

	a := x.screenshot(t, win)
	time.Sleep(time.Second) // the two screenshots must be a second apart
	b := x.screenshot(t, win)
	ra, oka := videoRect(a)
	rb, okb := videoRect(b)
	if !oka || !okb {
		saveShot(t, "demo-a.png", a)
		saveShot(t, "demo-b.png", b)
		t.Fatal("the video area disappeared")
	}
	sa, oka := capture.ReadPattern(crop(a, ra))
	sb, okb := capture.ReadPattern(crop(b, rb))
	if !oka || !okb {
		saveShot(t, "demo-a.png", a)
		saveShot(t, "demo-b.png", b)
		t.Fatalf("pattern unreadable: first ok=%v second ok=%v", oka, okb)
	}
	if sb.Frame <= sa.Frame {
		saveShot(t, "demo-a.png", a)
		saveShot(t, "demo-b.png", b)
		t.Fatalf("frame counter went from %d to %d in a second", sa.Frame, sb.Frame)
	}
	// The counter cells (top two rows of the picture) differ between the crops.
	cell := ra.Dx() / 48
	counter := image.Rect(ra.Min.X, ra.Min.Y, ra.Max.X, ra.Min.Y+2*cell)
	if ra == rb && sameCrop(a, b, counter) {
		t.Fatal("the counter area is identical in both screenshots")
	}
	t.Logf("frame counter %d -> %d over one second (%d fps shown)", sa.Frame, sb.Frame, sb.Frame-sa.Frame)
}
