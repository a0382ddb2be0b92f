package player_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"image"
	"log/slog"
	"math"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/interop/browsertest"
	"github.com/tributary-live/tributary/moq/relay"
	"github.com/tributary-live/tributary/player"
	"github.com/tributary-live/tributary/player/decode"
)

// TestPlayBrowserPublish: Chromium's fake camera and microphone, encoded with
// WebCodecs by @moq/publish (a publisher nobody here wrote) and published as
// a hang broadcast over WebTransport to `tributary relay`'s relay, played by
// the player over native QUIC. The pictures are the fake camera's (green,
// with a turning disc), in order and moving; the sound is its beep, twice a
// second; nothing fails to decode and video never stalls.
func TestPlayBrowserPublish(t *testing.T) {
	bundle, chromium := browsertest.Fixture(t, browsertest.EnvPublishBundle)
	r, err := relay.New(relay.Config{Listen: "127.0.0.1:0", DevCert: true, OpenPublish: true, Logger: browserLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })

	q := url.Values{}
	q.Set("url", r.WebTransportURL())
	q.Set("hash", hex.EncodeToString(r.CertHash()))
	q.Set("name", "alice/live")
	page := browsertest.Start(t, browsertest.Options{Bundle: bundle, Chromium: chromium, Query: q, Flags: browsertest.FakeMedia})

	// The page says "publishing" once its broadcast is set up; the relay
	// then has the namespace (PUBLISH_NAMESPACE).
	var version string
	for version == "" {
		raw, ok := page.Next(30 * time.Second)
		if !ok {
			t.Fatalf("the @moq/publish page posted nothing within 30s; chromium:\n%s", page.Output())
		}
		var res struct {
			Phase, Error, Version string
			OK                    bool
			Logs                  []string
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			t.Fatal(err)
		}
		for _, l := range res.Logs {
			t.Logf("browser: %s", l)
		}
		if !res.OK {
			t.Fatalf("the @moq/publish page failed: %s", res.Error)
		}
		if res.Phase == "publishing" {
			version = res.Version
		}
	}
	t.Logf("@moq/publish connected with %s", version)
	pollUntil(t, 20*time.Second, "the relay to have alice/live", func() bool {
		return slices.Contains(r.Stats().Announced, "alice/live")
	})

	const want = 90 // 3 s of 30 fps
	var (
		mu     sync.Mutex
		frames []player.VideoFrame
		pcm    []float32
		rate   int
		chans  int
	)
	enough := make(chan struct{})
	p, err := player.Open(ctx, r.URL()+"/alice/live", player.Options{
		Dial:    &moq.DialOptions{CertHashes: [][]byte{r.CertHash()}},
		NoAudio: true,
		Logger:  browserLog(),
		OnVideo: func(f player.VideoFrame) {
			mu.Lock()
			defer mu.Unlock()
			if len(frames) < want {
				frames = append(frames, f)
				if len(frames) == want {
					close(enough)
				}
			}
		},
		OnAudio: func(a decode.AudioFrame) {
			mu.Lock()
			defer mu.Unlock()
			if len(pcm) < 48000*2*4 {
				pcm = append(pcm, a.Samples...)
				rate, chans = a.SampleRate, a.Channels
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	select {
	case <-enough:
	case <-p.Done():
		t.Fatalf("player ended: %v", p.Err())
	case <-ctx.Done():
		t.Fatalf("%d of %d pictures within the deadline; stats %+v", len(frames), want, p.Stats())
	}
	st := p.Stats()
	p.Close()
	t.Logf("stats: %+v", st)
	if st.DecodeErrors != 0 || st.Stalls != 0 {
		t.Errorf("decode errors %d, stalls %d: want none", st.DecodeErrors, st.Stalls)
	}
	if st.VideoCodec == "" || st.AudioCodec == "" {
		t.Errorf("codecs: video %q, audio %q", st.VideoCodec, st.AudioCodec)
	}

	mu.Lock()
	defer mu.Unlock()
	// Pictures: in presentation order with rising timestamps and locations,
	// the fake camera's green, and moving (its disc turns).
	moving := 0
	for i, f := range frames {
		if g, rb := greenness(f.Image); g < 100 || rb > g/2 {
			t.Fatalf("picture %d is not the fake camera's green (G %d, R+B %d)", i, g, rb)
		}
		if i == 0 {
			continue
		}
		prev := frames[i-1]
		if f.Timestamp <= prev.Timestamp || f.Group < prev.Group || (f.Group == prev.Group && f.Object <= prev.Object) {
			t.Fatalf("picture %d (%d/%d at %v) does not follow %d/%d at %v", i, f.Group, f.Object, f.Timestamp, prev.Group, prev.Object, prev.Timestamp)
		}
		if i >= 5 && meanAbsDiff(f.Image, frames[i-5].Image) > 0.5 {
			moving++
		}
	}
	if moving < want/2 {
		t.Errorf("only %d of %d pictures differ from the one 5 before: the camera picture does not move", moving, want)
	}

	// Sound: the fake microphone beeps twice a second (a decaying tone, then
	// silence); count the beeps in what was decoded, in 100 ms windows.
	if rate == 0 || chans == 0 {
		t.Fatal("no audio decoded")
	}
	win := rate / 10
	var rms []float64
	for i := 0; (i+win)*chans <= len(pcm); i += win {
		var sum float64
		for j := i; j < i+win; j++ {
			v := float64(pcm[j*chans])
			sum += v * v
		}
		rms = append(rms, math.Sqrt(sum/float64(win)))
	}
	// A beep starts when a loud window follows a quiet one (hysteresis: a
	// beep that straddles two windows counts once).
	beeps, quiet := 0, true
	for _, v := range rms {
		switch {
		case quiet && v > 0.1:
			beeps++
			quiet = false
		case v < 0.02:
			quiet = true
		}
	}
	secs := float64(len(rms)) / 10
	if secs < 2 || float64(beeps) < 1.5*secs || float64(beeps) > 2.5*secs+1 {
		t.Errorf("%d beeps in %.1f s of decoded audio, want about 2 a second (window RMS %.3f)", beeps, secs, rms)
	}
}

// greenness is the mean green and the mean red+blue of a picture's samples.
func greenness(img image.Image) (g, rb uint32) {
	b := img.Bounds()
	var n uint32
	for y := b.Min.Y; y < b.Max.Y; y += 16 {
		for x := b.Min.X; x < b.Max.X; x += 16 {
			r, gg, bb, _ := img.At(x, y).RGBA()
			g += gg >> 8
			rb += (r + bb) >> 8
			n++
		}
	}
	return g / n, rb / n
}

// meanAbsDiff is the mean absolute difference of two pictures' green
// samples, on a 16-pixel grid.
func meanAbsDiff(a, b image.Image) float64 {
	ab, bb := a.Bounds(), b.Bounds()
	if ab != bb {
		return 255
	}
	var sum, n float64
	for y := ab.Min.Y; y < ab.Max.Y; y += 16 {
		for x := ab.Min.X; x < ab.Max.X; x += 16 {
			_, ga, _, _ := a.At(x, y).RGBA()
			_, gb, _, _ := b.At(x, y).RGBA()
			sum += math.Abs(float64(ga>>8) - float64(gb>>8))
			n++
		}
	}
	return sum / n
}

// pollUntil polls cond every 20 ms until it holds, failing the test after d.
func pollUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", d, what)
		}
		<-tick.C
	}
}

// browserLog logs warnings and errors to stderr.
func browserLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
