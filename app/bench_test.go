package app

import (
	"image"
	"log/slog"
	"testing"
	"time"
)

type firstFrame chan struct{}

func (f firstFrame) VideoFrame(image.Image) {
	select {
	case f <- struct{}{}:
	default:
	}
}

// BenchmarkEmbeddedDefaultFirstFrame measures the embedded default from
// Start to the first decoded demo frame reaching the video sink: personal
// relay up, demo encoder and publisher connected, player subscribed,
// first picture decoded. Run with -benchtime=5x.
func BenchmarkEmbeddedDefaultFirstFrame(b *testing.B) {
	log := slog.New(slog.DiscardHandler)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		c := New(Options{ConfigDir: b.TempDir(), Logger: log, NoAudio: true})
		ff := make(firstFrame, 1)
		c.SetVideoSink(ff)
		start := time.Now()
		c.Start()
		select {
		case <-ff:
		case <-time.After(30 * time.Second):
			b.Fatal("no frame within 30 s")
		}
		total += time.Since(start)
		b.StopTimer()
		c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/first-frame")
}

// BenchmarkStateClone measures the copy every listener gets after a change,
// with a Live now list of 50 streams.
func BenchmarkStateClone(b *testing.B) {
	var s State
	for i := 0; i < 50; i++ {
		s.Streams.Items = append(s.Streams.Items, Stream{ID: "x", URLs: []string{"moqt://a/b", "https://a/b"}, CertHashes: []string{"ab"}})
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = s.clone()
	}
}
