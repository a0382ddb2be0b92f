package capture

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestOpenFile(t *testing.T) {
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("TRIBUTARY_REQUIRE_FIXTURES") != "" {
			t.Fatal("ffmpeg not installed: run scripts/deps.sh")
		}
		t.Skip("ffmpeg not installed: run scripts/deps.sh")
	}
	path := filepath.Join(t.TempDir(), "clip.mkv")
	gen := exec.Command(bin, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1",
		"-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:v", "ffv1", "-c:a", "pcm_s16le", path)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("make clip: %v: %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, a, err := OpenFile(ctx, path, 160, 96, 25)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if a == nil {
		t.Fatal("no audio source for a clip with audio")
	}
	defer a.Close()
	for i := 0; i < 3; i++ {
		f, release, err := v.Read()
		if err != nil {
			t.Fatal(err)
		}
		if b := f.Image.Bounds(); b.Dx() != 160 || b.Dy() != 96 {
			t.Fatalf("frame size %v", b)
		}
		release()
		af, release, err := a.Read()
		if err != nil || len(af.PCM) != 960 {
			t.Fatalf("audio: %d %v", len(af.PCM), err)
		}
		release()
	}
	if _, _, err := OpenFile(ctx, filepath.Join(t.TempDir(), "missing.mp4"), 160, 96, 25); err == nil {
		t.Error("missing file opened")
	}
}
