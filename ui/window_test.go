package ui

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Tests of the real app binary in a real window under Xvfb. They build
// cmd/tributary, start Xvfb on a display it picks itself (-displayfd), and
// look at the screen with ImageMagick's import. Every wait is bounded.

// requireTools skips (or, under make test, fails) when a tool is missing.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			msg := fmt.Sprintf("%s is not installed (scripts/deps.sh installs it)", tool)
			if os.Getenv("TRIBUTARY_REQUIRE_FIXTURES") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// moduleRoot is the folder holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// buildApp builds the tributary binary into a temporary folder.
func buildApp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tributary")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/tributary")
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/tributary: %v\n%s", err, out)
	}
	return bin
}

// xvfb is a virtual X display.
type xvfb struct {
	display string
	cmd     *exec.Cmd
}

// startXvfb starts Xvfb on a free display (Xvfb picks it and writes its
// number to a pipe) and stops it when the test ends.
func startXvfb(t *testing.T) *xvfb {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	x := &xvfb{cmd: cmd}
	t.Cleanup(func() { stop(cmd, 5*time.Second) })
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatalf("Xvfb gave no display number: %s", stderr.String())
		}
		x.display = ":" + n
	case <-time.After(15 * time.Second):
		t.Fatalf("Xvfb did not start within 15 s: %s", stderr.String())
	}
	return x
}

// importTool is ImageMagick's import: Debian's by its full path (another
// ImageMagick may come first on PATH), else whatever PATH has.
func importTool() string {
	if _, err := os.Stat("/usr/bin/import"); err == nil {
		return "/usr/bin/import"
	}
	return "import"
}

// stop ends a process with SIGTERM, then SIGKILL after grace.
func stop(cmd *exec.Cmd, grace time.Duration) {
	if cmd.Process == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		cmd.Process.Kill()
		<-done
	}
}

// window returns the X id of the window titled title, or "" if there is
// none yet.
func (x *xvfb) window(t *testing.T, title string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "xdotool", "search", "--name", "^"+title+"$")
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display)
	out, _ := cmd.Output()
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		return ""
	}
	return fields[0]
}

// screenshot grabs a window ("root" for the whole screen).
func (x *xvfb) screenshot(t *testing.T, win string) image.Image {
	t.Helper()
	img, err := x.tryScreenshot(win)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// tryScreenshot grabs a window, which may not be mapped yet.
func (x *xvfb) tryScreenshot(win string) (image.Image, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, importTool(), "-display", x.display, "-window", win, "png:-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("import -window %s: %w: %s", win, err, stderr.String())
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil {
		return nil, fmt.Errorf("decode screenshot: %w", err)
	}
	return img, nil
}

// saveShot keeps a screenshot next to the test's output for a person to
// look at when the test fails.
func saveShot(t *testing.T, name string, img image.Image) {
	dir := os.Getenv("TRIBUTARY_SHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		return
	}
	defer f.Close()
	png.Encode(f, img)
	t.Logf("screenshot: %s", p)
}

// startApp runs the app binary on x with a fresh home and config folder.
func startApp(t *testing.T, bin string, x *xvfb, env []string, args ...string) *exec.Cmd {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(bin, append([]string{"--config-dir", filepath.Join(home, "config")}, args...)...)
	cmd.Env = append(os.Environ(),
		"DISPLAY="+x.display, "LANG=en_US.UTF-8", "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_DATA_HOME="+filepath.Join(home, ".local"),
		"XDG_RUNTIME_DIR="+home,
	)
	cmd.Env = append(cmd.Env, env...)
	logf, err := os.Create(filepath.Join(home, "app.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start app: %v", err)
	}
	t.Cleanup(func() {
		stop(cmd, 10*time.Second)
		logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("app log:\n%s", b)
			}
		}
	})
	return cmd
}

// videoRect finds the video picture on a screenshot of the app's window.
// The video area is black (0,0,0) where the picture does not cover it: the
// letterbox bars are wide bands of pure black, which nothing else in the UI
// has (separators are pure black too, but one or two pixels thin). So the
// area is the bounding box of black runs of at least minRun pixels that
// form bands at least minBand runs thick (rows of a top or bottom bar, or
// columns of a side bar). The picture is the bounding box of the pixels
// inside the area that are not pure black.
func videoRect(img image.Image) (image.Rectangle, bool) {
	const minRun, minBand = 240, 6
	b := img.Bounds()
	black := func(x, y int) bool {
		r, g, bl, _ := img.At(x, y).RGBA()
		return r>>8 <= 2 && g>>8 <= 2 && bl>>8 <= 2
	}
	area := image.Rectangle{Min: b.Max, Max: b.Min}
	grow := func(r *image.Rectangle, x0, y0, x1, y1 int) {
		r.Min.X, r.Min.Y = min(r.Min.X, x0), min(r.Min.Y, y0)
		r.Max.X, r.Max.Y = max(r.Max.X, x1), max(r.Max.Y, y1)
	}
	// longest black run in a row (across) or a column (down)
	longest := func(n, m int, at func(i, j int) bool) (int, int) {
		best, bestEnd, run := 0, 0, 0
		for j := 0; j < m; j++ {
			if at(n, j) {
				run++
				if run > best {
					best, bestEnd = run, j+1
				}
			} else {
				run = 0
			}
		}
		return best, bestEnd
	}
	bands := func(count, length int, at func(i, j int) bool, add func(i, j0, j1 int)) {
		band := 0
		for i := 0; i <= count; i++ {
			ok := false
			if i < count {
				if run, _ := longest(i, length, at); run >= minRun {
					ok = true
				}
			}
			if ok {
				band++
				continue
			}
			if band >= minBand {
				for k := i - band; k < i; k++ {
					run, end := longest(k, length, at)
					add(k, end-run, end)
				}
			}
			band = 0
		}
	}
	w, h := b.Dx(), b.Dy()
	bands(h, w, func(i, j int) bool { return black(b.Min.X+j, b.Min.Y+i) }, func(i, j0, j1 int) {
		grow(&area, b.Min.X+j0, b.Min.Y+i, b.Min.X+j1, b.Min.Y+i+1)
	})
	bands(w, h, func(i, j int) bool { return black(b.Min.X+i, b.Min.Y+j) }, func(i, j0, j1 int) {
		grow(&area, b.Min.X+i, b.Min.Y+j0, b.Min.X+i+1, b.Min.Y+j1)
	})
	if area.Dx() < 64 || area.Dy() < 36 {
		return image.Rectangle{}, false
	}
	pic := image.Rectangle{Min: area.Max, Max: area.Min}
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			if !black(x, y) {
				grow(&pic, x, y, x+1, y+1)
			}
		}
	}
	if pic.Dx() < 64 || pic.Dy() < 36 {
		return image.Rectangle{}, false
	}
	return pic, true
}

type subImager interface {
	SubImage(r image.Rectangle) image.Image
}

// crop returns the part r of img.
func crop(img image.Image, r image.Rectangle) image.Image {
	return img.(subImager).SubImage(r)
}

// sameCrop reports whether two images are identical inside r.
func sameCrop(a, b image.Image, r image.Rectangle) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}
