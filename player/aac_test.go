package player

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tributary-live/tributary/player/codec"
	"github.com/tributary-live/tributary/player/decode"
)

// TestPlayAAC plays AAC audio (as OBS and MediaMTX send it): raw AAC frames
// in LOC objects, the AudioSpecificConfig as the catalog's inline init data.
func TestPlayAAC(t *testing.T) {
	m := testMedia(t, 60, 30)
	dir := t.TempDir()
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2.2", "-ac", "2",
		"-c:a", "aac", "-b:a", "128k", "-f", "adts", filepath.Join(dir, "a.aac"))
	adts, err := os.ReadFile(filepath.Join(dir, "a.aac"))
	if err != nil {
		t.Fatal(err)
	}
	frames, _, err := codec.SplitADTS(adts)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := codec.ParseADTS(adts)
	m.audio = frames
	m.audioDur = 1024 * time.Second / 48000

	cat := testCatalog("avc1.42e01e")
	cat.Tracks[1].Codec = "mp4a.40.2"
	cat.SetInitData(&cat.Tracks[1], "asc", h.ASC())
	b := newBroadcast(t, cat, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r recorder
	opts := r.options(b)
	var mu sync.Mutex
	var pcm []float32
	opts.OnAudio = func(a decode.AudioFrame) {
		mu.Lock()
		defer mu.Unlock()
		for i := 0; i < len(a.Samples); i += a.Channels {
			pcm = append(pcm, a.Samples[i])
		}
	}
	p, err := Open(ctx, b.url(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	go b.publish(ctx, m, 30, 0, nil, nil)
	waitDone(t, p, 20*time.Second)
	s := p.Stats()
	mu.Lock()
	defer mu.Unlock()
	if s.DecodeErrors != 0 || len(pcm) < 48000 || s.Frames == 0 {
		t.Fatalf("%d samples decoded, stats %+v", len(pcm), s)
	}
	crossings := 0
	for i := 1; i < len(pcm); i++ {
		if (pcm[i-1] < 0) != (pcm[i] < 0) {
			crossings++
		}
	}
	if f := float64(crossings) / 2 / (float64(len(pcm)) / 48000); math.Abs(f-440) > 15 {
		t.Fatalf("decoded tone at %.0f Hz, want 440 (codec %s)", f, s.AudioCodec)
	}
}
