package capture

import (
	"image"
	"math/rand"
	"testing"
	"time"
)

// benchVideo encodes the test pattern and reports ns per frame, the real-time
// factor (frame interval over encode time: how many such streams one core
// could encode) and bytes per frame.
func benchVideo(b *testing.B, codec Codec, p Preset, noisy bool) {
	cfg := VideoConfig{Codec: codec, Width: p.Width, Height: p.Height, FrameRate: p.FrameRate, Bitrate: p.VideoBitrate}
	enc, err := NewVideoEncoder(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	pat := NewPattern(p.Width, p.Height)
	frames := make([]image.Image, 60)
	rng := rand.New(rand.NewSource(1))
	for i := range frames {
		img := pat.Draw(PatternStamp{Frame: uint32(i)})
		if noisy { // camera-like sensor noise: far harder to compress than the pattern
			for j := range img.Y {
				img.Y[j] += uint8(rng.Intn(24))
			}
		}
		frames[i] = img
	}
	now := time.Now()
	var bytes int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		au, err := enc.Encode(frames[i%len(frames)], now)
		if err != nil {
			b.Fatal(err)
		}
		bytes += len(au.Data)
	}
	b.StopTimer()
	nsPerFrame := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(nsPerFrame, "ns/frame")
	b.ReportMetric(1e9/p.FrameRate/nsPerFrame, "x-realtime")
	b.ReportMetric(float64(bytes)/float64(b.N), "B/frame")
}

func BenchmarkEncodeH264(b *testing.B) {
	for _, p := range Presets {
		b.Run(p.Name+"30", func(b *testing.B) { benchVideo(b, H264, p, false) })
		if p.Name != "360p" {
			b.Run(p.Name+"30-noisy", func(b *testing.B) { benchVideo(b, H264, p, true) })
		}
	}
}

func BenchmarkEncodeVP8(b *testing.B) {
	p, _ := PresetByName("720p")
	b.Run("720p30", func(b *testing.B) { benchVideo(b, VP8, p, false) })
}

func BenchmarkEncodeOpus(b *testing.B) {
	enc, err := NewAudioEncoder(AudioConfig{SampleRate: 48000, Channels: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	tone := NewTone(48000, 1, time.Now())
	pcm := make([]int16, 960)
	tone.Next(pcm)
	now := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := enc.Encode(pcm, now); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(20e6/(float64(b.Elapsed().Nanoseconds())/float64(b.N)), "x-realtime")
}

func BenchmarkPatternDraw720p(b *testing.B) {
	p := NewPattern(1280, 720)
	img := p.Draw(PatternStamp{})
	for i := 0; i < b.N; i++ {
		p.DrawInto(img, PatternStamp{Frame: uint32(i)})
	}
}

func BenchmarkReadPattern720p(b *testing.B) {
	img := NewPattern(1280, 720).Draw(PatternStamp{Frame: 77})
	for i := 0; i < b.N; i++ {
		if _, ok := ReadPattern(img); !ok {
			b.Fatal("unreadable")
		}
	}
}

func BenchmarkToneTime20ms(b *testing.B) {
	pcm := make([]int16, 960)
	NewTone(48000, 1, time.Now()).Next(pcm)
	for i := 0; i < b.N; i++ {
		if _, ok := ToneTimeInt16(pcm, 1, 48000); !ok {
			b.Fatal("unreadable")
		}
	}
}
