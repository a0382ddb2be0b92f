package player

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPlayWithoutSoundCard: when the default sound device cannot be opened,
// playback goes on without sound, video on the wall clock, and the stats
// say why. ALSA reads its configuration once per process, so the test runs
// itself in a child whose HOME holds an .asoundrc naming a card that does
// not exist.
func TestPlayWithoutSoundCard(t *testing.T) {
	if os.Getenv("TRIBUTARY_NOSOUND_CHILD") == "" {
		home := t.TempDir()
		conf := "pcm.!default { type hw; card 63 }\nctl.!default { type hw; card 63 }\n"
		if err := os.WriteFile(filepath.Join(home, ".asoundrc"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestPlayWithoutSoundCard$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "HOME="+home, "TRIBUTARY_NOSOUND_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("child: %v\n%s", err, out)
		}
		return
	}
	m := testMedia(t, 45, 30)
	b := newBroadcast(t, testCatalog("avc1.42e01e"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r recorder
	opts := r.options(b)
	opts.NoAudio = false
	p, err := Open(ctx, b.url(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	go b.publish(ctx, m, 30, 0, nil, nil)
	waitDone(t, p, 20*time.Second)
	s := p.Stats()
	if s.AudioError == "" || s.Clock != "wall" || s.Frames == 0 || s.AudioFrames == 0 {
		t.Fatalf("stats %+v: want frames, decoded audio, an audio error and the wall clock", s)
	}
	t.Logf("audio error: %s", s.AudioError)
}
