package capture

import (
	"bytes"
	"errors"
	"image"
	"image/draw"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/pion/opus"
)

// encodePattern encodes n frames of the test pattern and returns the access units.
func encodePattern(t testing.TB, cfg VideoConfig, n int, start time.Time) []AccessUnit {
	t.Helper()
	enc, err := NewVideoEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	p := NewPattern(cfg.Width, cfg.Height)
	var aus []AccessUnit
	for i := 0; i < n; i++ {
		at := start.Add(time.Duration(float64(i) / cfg.FrameRate * float64(time.Second)))
		img := p.Draw(PatternStamp{Frame: uint32(i), ClockMillis: uint64(at.UnixMilli())})
		au, err := enc.Encode(img, at)
		if err != nil {
			t.Fatal(err)
		}
		aus = append(aus, au)
	}
	return aus
}

func TestH264GroupsStartWithIDR(t *testing.T) {
	cfg := VideoConfig{Codec: H264, Width: 640, Height: 360, FrameRate: 30, Bitrate: 800_000, KeyframeInterval: 10}
	aus := encodePattern(t, cfg, 35, time.Now())
	for i, au := range aus {
		if len(au.Data) == 0 {
			t.Fatalf("frame %d: no output", i)
		}
		types := NALTypes(au.Data)
		wantKey := i%10 == 0
		if au.Keyframe != wantKey {
			t.Errorf("frame %d: keyframe %v, NAL types %v", i, au.Keyframe, types)
		}
		if wantKey && (!slices.Contains(types, NALSPS) || !slices.Contains(types, NALPPS) || !slices.Contains(types, NALIDR)) {
			t.Errorf("keyframe %d lacks SPS/PPS/IDR: %v", i, types)
		}
		if !wantKey && slices.Contains(types, NALIDR) {
			t.Errorf("frame %d: IDR inside a group", i)
		}
		if !bytes.HasPrefix(au.Data, []byte{0, 0, 0, 1}) && !bytes.HasPrefix(au.Data, []byte{0, 0, 1}) {
			t.Errorf("frame %d: not Annex-B: % x", i, au.Data[:4])
		}
	}
	if cs := H264CodecString(aus[0].Data); len(cs) != len("avc3.42c01f") || cs[:5] != "avc3." {
		t.Errorf("codec string %q", cs)
	}
}

func TestForceKeyframeAndBitrate(t *testing.T) {
	cfg := VideoConfig{Codec: H264, Width: 640, Height: 360, FrameRate: 30, Bitrate: 2_000_000, KeyframeInterval: 1000}
	enc, err := NewVideoEncoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	p := NewPattern(640, 360)
	now := time.Now()
	rng := rand.New(rand.NewSource(3))
	size := func(from, to int) int {
		total := 0
		for i := from; i < to; i++ {
			img := p.Draw(PatternStamp{Frame: uint32(i)})
			for j := range img.Y { // noise, so that the bitrate matters
				img.Y[j] += uint8(rng.Intn(32))
			}
			au, err := enc.Encode(img, now)
			if err != nil {
				t.Fatal(err)
			}
			// openh264 may add IDRs of its own on noisy input; the
			// publisher starts a group at every keyframe anyway.
			if (i == 0 || i == 45) && !au.Keyframe {
				t.Errorf("frame %d is not a keyframe", i)
			}
			if !au.Keyframe {
				total += len(au.Data)
			}
			if i == 44 {
				enc.ForceKeyframe()
			}
		}
		return total
	}
	high := size(0, 60)
	if err := enc.SetBitrate(150_000); err != nil {
		t.Fatal(err)
	}
	if enc.Bitrate() != 150_000 {
		t.Errorf("Bitrate() = %d", enc.Bitrate())
	}
	size(60, 90) // let rate control settle
	low := size(90, 150)
	t.Logf("bytes of 60 delta frames: %d at 2 Mbit/s, %d at 150 kbit/s", high, low)
	if low*2 > high {
		t.Errorf("lowering the bitrate did not shrink the output: %d -> %d", high, low)
	}
	if err := enc.SetBitrate(5); err == nil {
		t.Error("absurd bitrate accepted")
	}
	if _, err := enc.Encode(image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420), now); !errors.Is(err, ErrBadFrame) {
		t.Errorf("wrong size: %v", err)
	}
	enc.Close()
	if _, err := enc.Encode(p.Draw(PatternStamp{}), now); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

// ffmpegDecodeGray decodes an elementary stream with Debian's ffmpeg into 8-bit grey frames.
func ffmpegDecodeGray(t *testing.T, format string, stream []byte, w, h int) []*image.Gray {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("TRIBUTARY_REQUIRE_FIXTURES") != "" {
			t.Fatal("ffmpeg not installed: run scripts/deps.sh")
		}
		t.Skip("ffmpeg not installed: run scripts/deps.sh")
	}
	cmd := exec.Command(bin, "-hide_banner", "-loglevel", "error", "-f", format, "-i", "pipe:0",
		"-f", "rawvideo", "-pix_fmt", "gray", "pipe:1")
	cmd.Stdin = bytes.NewReader(stream)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, stderr.String())
	}
	var frames []*image.Gray
	for len(out) >= w*h {
		g := image.NewGray(image.Rect(0, 0, w, h))
		copy(g.Pix, out[:w*h])
		frames = append(frames, g)
		out = out[w*h:]
	}
	return frames
}

func TestPatternCounterSurvivesH264(t *testing.T) {
	for _, c := range []struct {
		w, h, bitrate int
	}{{640, 360, 300_000}, {1280, 720, 1_000_000}} {
		cfg := VideoConfig{Codec: H264, Width: c.w, Height: c.h, FrameRate: 30, Bitrate: c.bitrate, KeyframeInterval: 30}
		start := time.UnixMilli(1763900000000)
		aus := encodePattern(t, cfg, 45, start)
		var stream []byte
		for _, au := range aus {
			stream = append(stream, au.Data...)
		}
		frames := ffmpegDecodeGray(t, "h264", stream, c.w, c.h)
		if len(frames) != len(aus) {
			t.Fatalf("%dx%d: decoded %d frames of %d", c.w, c.h, len(frames), len(aus))
		}
		for i, f := range frames {
			s, ok := ReadPattern(f)
			if !ok || s.Frame != uint32(i) {
				t.Fatalf("%dx%d frame %d: read %+v %v", c.w, c.h, i, s, ok)
			}
			if got, want := s.Time(start), aus[i].Captured.Truncate(time.Millisecond); !got.Equal(want) {
				t.Errorf("frame %d clock %v, want %v", i, got, want)
			}
		}
	}
}

func TestVP8(t *testing.T) {
	cfg := VideoConfig{Codec: VP8, Width: 320, Height: 240, FrameRate: 30, Bitrate: 300_000, KeyframeInterval: 10}
	aus := encodePattern(t, cfg, 21, time.Now())
	for i, au := range aus {
		if len(au.Data) == 0 || au.Keyframe != (i%10 == 0) {
			t.Errorf("frame %d: %d bytes, keyframe %v", i, len(au.Data), au.Keyframe)
		}
	}
	var ivf bytes.Buffer
	writeIVF(&ivf, 320, 240, aus)
	frames := ffmpegDecodeGray(t, "ivf", ivf.Bytes(), 320, 240)
	if len(frames) != len(aus) {
		t.Fatalf("decoded %d of %d", len(frames), len(aus))
	}
	for i, f := range frames {
		if n, ok := ReadPatternCounter(f); !ok || n != uint32(i) {
			t.Errorf("frame %d read %d %v", i, n, ok)
		}
	}
}

// writeIVF wraps VP8 frames in an IVF file for ffmpeg.
func writeIVF(w *bytes.Buffer, width, height int, aus []AccessUnit) {
	le16 := func(v int) { w.Write([]byte{byte(v), byte(v >> 8)}) }
	le32 := func(v int) { w.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}) }
	w.WriteString("DKIF")
	le16(0)
	le16(32)
	w.WriteString("VP80")
	le16(width)
	le16(height)
	le32(30)
	le32(1)
	le32(len(aus))
	le32(0)
	for i, au := range aus {
		le32(len(au.Data))
		le32(i)
		le32(0)
		w.Write(au.Data)
	}
}

func TestOpusToneSurvives(t *testing.T) {
	enc, err := NewAudioEncoder(AudioConfig{SampleRate: 48000, Channels: 1, Bitrate: 64000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if enc.FrameSamples() != 960 {
		t.Fatalf("frame samples %d", enc.FrameSamples())
	}
	start := time.UnixMicro(1763900000250000)
	tone := NewTone(48000, 1, start)
	dec, err := opus.NewDecoderWithOutput(48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	var pcm []float32
	buf := make([]int16, 960)
	out := make([]float32, 5760)
	for i := 0; i < 50; i++ {
		at := tone.Next(buf)
		au, err := enc.Encode(buf, at)
		if err != nil {
			t.Fatal(err)
		}
		if len(au.Data) == 0 || !au.Keyframe || !au.Captured.Equal(at) {
			t.Fatalf("packet %d: %d bytes", i, len(au.Data))
		}
		n, err := dec.DecodeToFloat32(au.Data, out)
		if err != nil {
			t.Fatalf("decode packet %d: %v", i, err)
		}
		pcm = append(pcm, out[:n]...)
	}
	// Compare the decoded tone with the input clock, one window a packet after
	// the first second; Opus delays its output by its lookahead (6.5 ms).
	for k := 10; k < 49; k += 7 {
		got, ok := ToneTime(pcm[k*960:(k+1)*960], 48000)
		want := math.Mod(float64(tone.At(int64(k*960)).UnixMicro())/1e6, 1)
		off := ToneOffset(got, want)
		t.Logf("window %d: decoded tone time is input time %+.2f ms", k, off*1000)
		if !ok || math.Abs(off+0.0065) > 0.003 {
			t.Errorf("window %d: tone time %v %v, want %v - 6.5 ms", k, got, ok, want)
		}
	}
	if _, err := enc.Encode(buf[:100], start); !errors.Is(err, ErrBadFrame) {
		t.Errorf("short frame: %v", err)
	}
	if err := enc.SetBitrate(32000); err != nil {
		t.Error(err)
	}
}

func TestConfigErrors(t *testing.T) {
	bad := []VideoConfig{
		{Width: 641, Height: 360, FrameRate: 30, Bitrate: 1e6},
		{Width: 640, Height: 360, FrameRate: 0, Bitrate: 1e6},
		{Width: 640, Height: 360, FrameRate: 30, Bitrate: 10},
		{Width: 640, Height: 360, FrameRate: 30, Bitrate: 1e6, KeyframeInterval: -1},
		{Codec: "h265", Width: 640, Height: 360, FrameRate: 30, Bitrate: 1e6},
	}
	for _, c := range bad {
		if _, err := NewVideoEncoder(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := NewAudioEncoder(AudioConfig{SampleRate: 44100, Channels: 1}); err == nil {
		t.Error("44.1 kHz opus accepted")
	}
	if _, err := NewAudioEncoder(AudioConfig{SampleRate: 48000, Channels: 3}); err == nil {
		t.Error("3 channels accepted")
	}
	if p, err := PresetByName("720P"); err != nil || p.Width != 1280 {
		t.Errorf("preset %+v %v", p, err)
	}
	if _, err := PresetByName("4k"); err == nil {
		t.Error("unknown preset accepted")
	}
}

func TestSplitAnnexB(t *testing.T) {
	au := []byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5}
	nals := nalUnits(au)
	if len(nals) != 3 || !bytes.Equal(nals[0], []byte{0x67, 1, 2}) || !bytes.Equal(nals[1], []byte{0x68, 3}) || !bytes.Equal(nals[2], []byte{0x65, 4, 5}) {
		t.Errorf("nals %x", nals)
	}
	if !H264IsKeyframe(au) || H264CodecString(au) != "" || H264CodecString([]byte{0, 0, 1, 0x67, 0x42, 0xc0, 0x1f}) != "avc3.42c01f" {
		t.Error("keyframe or codec string")
	}
	if nalUnits([]byte{1, 2, 3}) != nil || H264IsKeyframe(nil) {
		t.Error("garbage")
	}
}

func FuzzSplitAnnexB(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3})
	f.Add([]byte{0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		for _, n := range nalUnits(b) {
			total += len(n)
		}
		if total > len(b) {
			t.Fatalf("NAL units longer than the input")
		}
		_ = H264CodecString(b)
	})
}

func TestAdapter(t *testing.T) {
	a := &Adapter{Min: 200_000, Max: 2_000_000}
	now := time.Unix(0, 0)
	var written, sent uint64
	step := func(w, s uint64) (int, bool) {
		now = now.Add(time.Second)
		written += w
		sent += s
		return a.Observe(now, written, sent)
	}
	a.Observe(now, 0, 0)
	if b, changed := step(250_000, 250_000); b != 2_000_000 || changed {
		t.Fatalf("steady: %d %v", b, changed)
	}
	step(250_000, 190_000)
	b, changed := step(250_000, 190_000)
	if !changed || b != 1_292_000 { // 85 % of the 1.52 Mbit/s carried, under 70 % of 2 Mbit/s
		t.Fatalf("after congestion: %d %v", b, changed)
	}
	step(250_000, 190_000)
	if b, changed := step(250_000, 190_000); !changed || b != 904_400 { // 70 % of 1.292 Mbit/s, under 85 % of 1.52
		t.Fatalf("after more congestion: %d %v", b, changed)
	}
	for i := 0; i < 20; i++ {
		step(100_000, 10_000)
	}
	if a.Bitrate() != 200_000 {
		t.Errorf("floor: %d", a.Bitrate())
	}
	for i := 0; i < 40; i++ {
		step(100_000, 100_000)
	}
	if a.Bitrate() <= 200_000 || a.Bitrate() > 2_000_000 {
		t.Errorf("recovery: %d", a.Bitrate())
	}
	a.Reset()
	if _, changed := a.Observe(now, 0, 0); changed {
		t.Error("changed on reset")
	}
}

// Frames that are not I420 (a camera's YUYV, an RGBA picture) are converted.
func TestEncodeConvertsRGBA(t *testing.T) {
	enc, err := NewVideoEncoder(VideoConfig{Width: 320, Height: 240, FrameRate: 30, Bitrate: 500_000})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	src := NewPattern(320, 240).Draw(PatternStamp{Frame: 42})
	rgba := image.NewRGBA(src.Bounds())
	draw.Draw(rgba, rgba.Bounds(), src, image.Point{}, draw.Src)
	au, err := enc.Encode(rgba, time.Now())
	if err != nil || !au.Keyframe || len(au.Data) == 0 {
		t.Fatalf("RGBA frame: %d bytes, key %v, %v", len(au.Data), au.Keyframe, err)
	}
	frames := ffmpegDecodeGray(t, "h264", au.Data, 320, 240)
	if len(frames) != 1 {
		t.Fatalf("decoded %d frames", len(frames))
	}
	if n, ok := ReadPatternCounter(frames[0]); !ok || n != 42 {
		t.Errorf("counter %d %v", n, ok)
	}
}
