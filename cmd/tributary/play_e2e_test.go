package main

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/capture/publish"
	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/relay"
	"github.com/tributary-live/tributary/moq/wire"
	"github.com/tributary-live/tributary/player"
	"github.com/tributary-live/tributary/player/jitter"
)

// TestPlayEndToEnd: test pattern and tone -> publisher -> relay on loopback
// -> player. The burned-in counters of the presented pictures show
// no frame lost or reordered (gaps only where the presenter dropped a late
// picture, which a loaded machine causes and the stats count); the audio that
// reaches oto, captured by ALSA's file plugin, is the tone; video follows the
// audio clock within 40 ms.
func TestPlayEndToEnd(t *testing.T) {
	// ALSA reads its configuration once per process, and packages linked
	// into this binary (mediadevices' audio driver) may read it at start-up:
	// so the test runs itself again in a child whose HOME, from the start,
	// holds an .asoundrc sending the default device to a file.
	home := os.Getenv("TRIBUTARY_E2E_HOME")
	if home == "" {
		home = t.TempDir()
		// The file plugin writes silence unpaced whenever nothing plays
		// (about 70 MB/s here), so its "file" is a FIFO the child reads
		// and filters as it goes.
		if err := syscall.Mkfifo(filepath.Join(home, "out.fifo"), 0o600); err != nil {
			t.Fatal(err)
		}
		conf := `pcm.!default { type file; slave.pcm "null"; file "` + filepath.Join(home, "out.fifo") + `"; format "raw" }` + "\n"
		if err := os.WriteFile(filepath.Join(home, ".asoundrc"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestPlayEndToEnd$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "HOME="+home, "TRIBUTARY_E2E_HOME="+home)
		out, err := cmd.CombinedOutput()
		t.Logf("child:\n%s", out)
		if err != nil {
			t.Fatalf("end-to-end run failed: %v", err)
		}
		return
	}
	device := startDeviceReader(filepath.Join(home, "out.fifo"), 48000*3)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns := wire.NewNamespace("e2e", "live")
	quiet := slog.New(slog.DiscardHandler)
	pub, err := publish.New(publish.Config{
		Namespace:        ns,
		Video:            capture.NewPatternSource(320, 180, 30, true, time.Now()),
		Audio:            capture.NewToneSource(48000, 1, 20*time.Millisecond, true, time.Now()),
		VideoBitrate:     400_000,
		KeyframeInterval: 30,
		Logger:           quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	pubCtx, stopPub := context.WithCancel(ctx)
	var pubWG sync.WaitGroup
	pubWG.Add(1)
	go func() { defer pubWG.Done(); _ = pub.Run(pubCtx) }()
	defer func() { stopPub(); pubWG.Wait() }()
	select {
	case <-pub.Ready():
	case <-ctx.Done():
		t.Fatal("publisher not ready")
	}

	// The publisher sends to `tributary relay`'s relay, and the player
	// plays from it: publisher -> relay -> player.
	cert, hash, err := moq.DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	rl, err := relay.New(relay.Config{Listen: "127.0.0.1:0", TLS: &tls.Config{Certificates: []tls.Certificate{cert}},
		OpenPublish: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := rl.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer rl.Close()
	pubWG.Add(1)
	go func() {
		defer pubWG.Done()
		_ = pub.Connect(pubCtx, rl.URL()+"/", &publish.ConnectOptions{Config: moq.Config{Logger: quiet},
			Dial: moq.DialOptions{CertHashes: [][]byte{hash}}, MinBackoff: 50 * time.Millisecond})
	}()
	announced := time.NewTicker(20 * time.Millisecond)
	for !slices.Contains(rl.Stats().Announced, "e2e/live") {
		select {
		case <-announced.C:
		case <-ctx.Done():
			t.Fatal("the publisher never announced e2e/live to the relay")
		}
	}
	announced.Stop()
	addr := rl.Addr()

	const want = 150
	var mu sync.Mutex
	var counters []uint32
	unreadable := 0
	enough := make(chan struct{})
	p, err := player.Open(ctx, fmt.Sprintf("moqt://%s/e2e/live", addr), player.Options{
		Dial:    &moq.DialOptions{CertHashes: [][]byte{hash}},
		Latency: jitter.Target{Mode: jitter.Fixed, Delay: 300 * time.Millisecond},
		Logger:  quiet,
		OnVideo: func(f player.VideoFrame) {
			n, ok := capture.ReadPatternCounter(f.Image)
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				unreadable++
				return
			}
			counters = append(counters, n)
			if len(counters) == want {
				close(enough)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-enough:
	case <-p.Done():
		t.Fatalf("player stopped: %v", p.Err())
	case <-ctx.Done():
		t.Fatalf("only %d frames in time; stats %+v", len(counters), p.Stats())
	}
	s := p.Stats()
	p.Close()
	t.Logf("stats: %+v", s)

	mu.Lock()
	defer mu.Unlock()
	gaps := 0
	for i := 1; i < len(counters); i++ {
		if counters[i] <= counters[i-1] {
			t.Fatalf("frame %d presented after frame %d: reordered or repeated", counters[i], counters[i-1])
		}
		gaps += int(counters[i] - counters[i-1] - 1)
	}
	// Every missing counter must be a picture the player chose not to show
	// because it was late (presenter) or behind (jitter buffer skip): a
	// loaded CI machine causes some; a loss in transport would be uncounted.
	if unreadable > 0 || int64(gaps) > s.Late+s.Skipped || s.DecodeErrors != 0 {
		t.Fatalf("%d unreadable counters, %d frames missing, %d late, %d skipped: frames lost (stats %+v)", unreadable, gaps, s.Late, s.Skipped, s)
	}
	if s.Clock != "audio" || s.AudioError != "" {
		t.Fatalf("video ran on the %s clock (audio error %q), want the audio clock", s.Clock, s.AudioError)
	}
	if math.Abs(s.AVOffsetMS) > 40 {
		t.Fatalf("A/V offset %.1f ms, want within 40 ms", s.AVOffsetMS)
	}

	// The sound that reached oto: windows of 100 ms of non-silent output must
	// fit the tone (its phase encodes the capture time).
	pcm := device.samples()
	if len(pcm) < 48000 {
		t.Fatalf("%d samples reached the device, want seconds of tone", len(pcm))
	}
	// 50 ms windows: the non-silent samples are joined across the gaps the
	// unpaced device fills with silence, and across packets the player
	// dropped as late on a loaded machine; a window straddling such a jump
	// does not fit the tone.
	windows, tone := 0, 0
	for i := 0; i+2400 <= len(pcm); i += 2400 {
		windows++
		if _, ok := capture.ToneTime(pcm[i:i+2400], 48000); ok {
			tone++
		}
	}
	t.Logf("%d of %d windows of device output are the tone", tone, windows)
	if tone < windows*6/10 {
		t.Fatalf("%d of %d windows of device output are the tone", tone, windows)
	}
}

// deviceReader reads oto's float32 stereo output from the file plugin's
// FIFO and keeps the left channel of non-silent frames, up to max samples;
// it keeps draining after that so the device never blocks.
type deviceReader struct {
	mu  sync.Mutex
	pcm []float32
}

func startDeviceReader(path string, max int) *deviceReader {
	d := &deviceReader{}
	go func() {
		f, err := os.Open(path) // blocks until ALSA opens the FIFO for writing
		if err != nil {
			return
		}
		defer f.Close()
		buf := make([]byte, 1<<16)
		var rest []byte
		for {
			n, err := f.Read(buf)
			data := append(rest, buf[:n]...)
			d.mu.Lock()
			i := 0
			for ; i+8 <= len(data); i += 8 {
				l := math.Float32frombits(binary.LittleEndian.Uint32(data[i:]))
				if l != 0 && len(d.pcm) < max {
					d.pcm = append(d.pcm, l)
				}
			}
			d.mu.Unlock()
			rest = append(rest[:0], data[i:]...)
			if err != nil {
				return
			}
		}
	}()
	return d
}

func (d *deviceReader) samples() []float32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]float32(nil), d.pcm...)
}
