package decode

import (
	"testing"
	"time"
)

// benchmarkH264 decodes a 2-second clip at 30 fps (keyframe every second)
// repeatedly; ns/op is the cost of one frame. CPU per 30 fps stream is
// ns/op * 30 / 1e9.
func benchmarkH264(b *testing.B, w, h int) {
	aus, _ := h264Clip(b, w, h, 60, 30)
	d, err := NewVideo("avc1.64001f", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := d.Decode(aus[i%len(aus)], time.Duration(i)*frameDur); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)*30/1e9*100, "%cpu@30fps")
}

func BenchmarkH264Decode720p(b *testing.B)  { benchmarkH264(b, 1280, 720) }
func BenchmarkH264Decode1080p(b *testing.B) { benchmarkH264(b, 1920, 1080) }

func BenchmarkOpusDecode(b *testing.B) {
	packets := oggPackets(b, "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000", "-t", "1", "-ac", "2", "-c:a", "libopus", "-b:a", "64k")
	d, _ := NewAudio("opus", nil, 48000, 2)
	for i := 0; b.Loop(); i++ {
		if _, err := d.Decode(packets[i%len(packets)], 0); err != nil {
			b.Fatal(err)
		}
	}
}
