package player

import (
	"context"
	"testing"
	"time"

	"github.com/tributary-live/tributary/player/jitter"
)

// benchmarkGlassToGlass publishes ffmpeg-encoded H.264 and Opus over a
// loopback MoQ server (one hop, no relay) and plays it with the real-time
// target; it reports the player's latency percentiles (LOC timestamp, set
// when the publisher writes the object, to presentation: transport, jitter
// buffer, decode and presentation, not capture and encode) and the join time
// (Open to first picture, joining mid-group with 2 s groups).
func benchmarkGlassToGlass(b *testing.B, w, h int, jitterNet time.Duration) {
	m := benchMedia(b, w, h, 150, 60)
	var p50, p95, p99, join, late, target, stalls float64
	for range b.N {
		bc := newBroadcastTB(b, testCatalog("avc1.64001f"))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		started := make(chan struct{})
		go bc.publish(ctx, m, 60, 30, started, nil)
		<-started
		var r recorder
		opts := r.options(bc)
		opts.Latency = jitter.Target{Mode: jitter.Realtime}
		url := bc.url()
		if jitterNet > 0 {
			url = "moqt://" + newLossyProxy(b, bc.addr, jitterNet, 0).addr() + "/test/live"
		}
		p, err := Open(ctx, url, opts)
		if err != nil {
			b.Fatal(err)
		}
		select {
		case <-p.Done():
		case <-ctx.Done():
		}
		s := p.Stats()
		p.Close()
		cancel()
		p50 += s.Latency.P50
		p95 += s.Latency.P95
		p99 += s.Latency.P99
		join += s.JoinMS
		late += float64(s.Late)
		target += s.TargetMS
		stalls += float64(s.Stalls)
	}
	n := float64(b.N)
	b.ReportMetric(p50/n, "p50-ms")
	b.ReportMetric(p95/n, "p95-ms")
	b.ReportMetric(p99/n, "p99-ms")
	b.ReportMetric(join/n, "join-ms")
	b.ReportMetric(late/n, "late-frames")
	b.ReportMetric(target/n, "target-ms")
	b.ReportMetric(stalls/n, "stalls")
}

func BenchmarkGlassToGlass720p(b *testing.B) { benchmarkGlassToGlass(b, 1280, 720, 0) }

// BenchmarkGlassToGlass720pJitter adds 0..30 ms of random delay to every
// datagram each way (lossyProxy, no loss).
func BenchmarkGlassToGlass720pJitter(b *testing.B) {
	benchmarkGlassToGlass(b, 1280, 720, 30*time.Millisecond)
}
