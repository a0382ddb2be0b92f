package player

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/relay"
	"github.com/tributary-live/tributary/moq/wire"
	"github.com/tributary-live/tributary/player/jitter"
)

// Glass-to-glass benchmark set-up: 1280x720 at 30 fps, 2 s groups (60
// frames), 10 s of media; the viewer joins 1 s into a group.
const (
	g2gFrames = 300
	g2gGOP    = 60
	g2gJoinAt = 30
	g2gJitter = 30 * time.Millisecond
)

var (
	g2gMediaOnce sync.Once
	g2gMedia     media
	g2gMediaOK   bool
)

// glassToGlassMedia encodes the benchmark's media once per process (ffmpeg,
// 720p: seconds of CPU on a shared machine).
func glassToGlassMedia(b *testing.B) media {
	g2gMediaOnce.Do(func() {
		g2gMedia = benchMedia(b, 1280, 720, g2gFrames, g2gGOP)
		g2gMediaOK = true
	})
	if !g2gMediaOK {
		b.Skip("the benchmark media could not be encoded (see the first sub-benchmark)")
	}
	return g2gMedia
}

// relayChain starts n relays (moq/relay, in process, on loopback), the
// first pulling the broadcast from the test publisher's server, each next
// one from the one before; it returns the last.
func relayChain(b testing.TB, bc *broadcast, n int) *relay.Relay {
	upstream, hash := "moqt://"+bc.addr.String(), bc.hash
	var last *relay.Relay
	for i := range n {
		r, err := relay.New(relay.Config{
			Listen:                "127.0.0.1:0",
			Name:                  "bench-relay-" + strconv.Itoa(i),
			DevCert:               true,
			Upstreams:             map[string][]string{"*": {upstream}},
			UpstreamCertHashes:    []string{hex.EncodeToString(hash)},
			AllowPrivateUpstreams: true,
			DisableWellKnown:      true,
			Logger:                slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = r.Start(ctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		upstream, hash, last = r.URL(), r.CertHash(), r
	}
	return last
}

// loadAverage reads the 1-minute load average (0 where /proc is missing).
func loadAverage() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// g2gRun is one playback's figures.
type g2gRun struct {
	s       Stats
	steady  []float64 // latency of the pictures shown 1 s or more after the first live one
	first   float64   // latency of the first picture shown
	maxLate float64   // the largest latency of any picture shown
}

// playOnce publishes the benchmark media, plays it through hops relays
// (0: straight from the publisher's server) with or without jitter in front
// of the player, and returns the figures. warm: another viewer subscribed to
// the tracks at the last relay before the publisher started, so the chain
// carries them when the player joins.
func playOnce(b *testing.B, m media, hops int, warm bool, jitterNet time.Duration) g2gRun {
	bc := newBroadcastTB(b, testCatalog("avc1.64001f"))
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	addr, hash := bc.addr, bc.hash
	if hops > 0 {
		r := relayChain(b, bc, hops)
		addr, hash = r.Addr(), r.CertHash()
		if warm {
			keep, err := moq.Dial(ctx, r.URL(), nil, &moq.DialOptions{CertHashes: [][]byte{hash}})
			if err != nil {
				b.Fatal(err)
			}
			defer keep.Close()
			for _, name := range []string{"video", "audio"} {
				sub, err := keep.Subscribe(ctx, wire.FullTrackName{Namespace: bc.ns, Name: []byte(name)}, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer sub.Close()
			}
		}
	}
	started := make(chan struct{})
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		bc.publish(ctx, m, g2gGOP, g2gJoinAt, started, nil)
	}()
	defer func() { cancel(); <-pubDone }()
	<-started
	var r recorder
	opts := r.options(bc)
	opts.Dial = &moq.DialOptions{CertHashes: [][]byte{hash}}
	opts.Latency = jitter.Target{Mode: jitter.Realtime}
	var mu sync.Mutex
	var shown []VideoFrame
	opts.OnVideo = func(f VideoFrame) {
		f.Image = nil
		mu.Lock()
		shown = append(shown, f)
		mu.Unlock()
	}
	hostport := addr.String()
	if jitterNet > 0 {
		hostport = newLossyProxy(b, addr, jitterNet, 0).addr()
	}
	p, err := Open(ctx, "moqt://"+hostport+"/test/live", opts)
	if err != nil {
		b.Fatal(err)
	}
	select {
	case <-p.Done():
	case <-ctx.Done():
		b.Errorf("playback did not end; stats %+v", p.Stats())
	}
	s := p.Stats()
	p.Close()
	mu.Lock()
	defer mu.Unlock()
	out := g2gRun{s: s}
	if len(shown) == 0 {
		b.Fatalf("no picture shown; stats %+v", s)
	}
	lat := func(f VideoFrame) float64 {
		return ms(f.Presented.Sub(time.UnixMicro(int64(f.Timestamp / time.Microsecond))))
	}
	out.first = lat(shown[0])
	live := shown[0].Presented
	if s.LiveMS > 0 {
		live = p.start.Add(time.Duration(s.LiveMS * float64(time.Millisecond)))
	}
	for _, f := range shown {
		l := lat(f)
		out.maxLate = max(out.maxLate, l)
		if f.Presented.Sub(live) >= time.Second {
			out.steady = append(out.steady, l)
		}
	}
	return out
}

// percentile picks the p-quantile (nearest rank) of sorted samples.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// BenchmarkGlassToGlass720p plays 10 s of 1280x720 30 fps H.264 (x264
// veryfast zerolatency, 2 s groups) and Opus, published paced in real time
// by a test publisher on a loopback moq.Server, with the real-time latency
// target, joining 1 s into a group:
//
//   - direct: the player subscribes at the publisher's server (no relay),
//     the reference;
//   - relay1, relay3: through a chain of 1 or 3 moq/relay relays in this
//     process (each pulling from the previous one, cold: the first viewer);
//   - relay1-warm, relay3-warm: the same with another viewer on the last
//     relay since before the publisher started (the relays carry the
//     tracks and know where the publisher is when the player subscribes);
//   - "-jitter": with lossyProxy (0-30 ms random delay per datagram each
//     way, order kept) between the last hop and the player.
//
// Glass-to-glass latency is the LOC timestamp (set when the publisher writes
// the object; capture and encoding are not in the loop) to the moment the
// picture is handed out. Metrics: p50/p95/p99 of every picture shown;
// steady-p99 of the pictures shown from 1 s after the first live one; the
// first (join) picture's latency; join (session up to the first picture)
// and live (to the first picture published after the join point) times;
// stalls, late (decoded, not shown) and skipped frames; the load average at
// the start.
func BenchmarkGlassToGlass720p(b *testing.B) {
	for _, c := range []struct {
		hops int
		warm bool
	}{{0, false}, {1, false}, {3, false}, {1, true}, {3, true}} {
		for _, jit := range []time.Duration{0, g2gJitter} {
			hops := c.hops
			name := "direct"
			if hops > 0 {
				name = fmt.Sprintf("relay%d", hops)
			}
			if c.warm {
				name += "-warm"
			}
			if jit > 0 {
				name += "-jitter"
			}
			b.Run(name, func(b *testing.B) {
				m := glassToGlassMedia(b)
				load := loadAverage()
				var sum struct {
					p50, p95, p99, steady99, first, maxLate, join, live, stalls, late, skipped, frames, target float64
				}
				for range b.N {
					r := playOnce(b, m, hops, c.warm, jit)
					slices.Sort(r.steady)
					sum.p50 += r.s.Latency.P50
					sum.p95 += r.s.Latency.P95
					sum.p99 += r.s.Latency.P99
					sum.steady99 += percentile(r.steady, 0.99)
					sum.first += r.first
					sum.maxLate += r.maxLate
					sum.join += r.s.JoinMS
					sum.live += r.s.LiveMS
					sum.stalls += float64(r.s.Stalls)
					sum.late += float64(r.s.Late)
					sum.skipped += float64(r.s.Skipped)
					sum.frames += float64(r.s.Frames)
					sum.target += r.s.TargetMS
				}
				n := float64(b.N)
				b.ReportMetric(sum.p50/n, "p50-ms")
				b.ReportMetric(sum.p95/n, "p95-ms")
				b.ReportMetric(sum.p99/n, "p99-ms")
				b.ReportMetric(sum.steady99/n, "steady-p99-ms")
				b.ReportMetric(sum.maxLate/n, "max-ms")
				b.ReportMetric(sum.first/n, "first-ms")
				b.ReportMetric(sum.join/n, "join-ms")
				b.ReportMetric(sum.live/n, "live-ms")
				b.ReportMetric(sum.stalls/n, "stalls")
				b.ReportMetric(sum.late/n, "late")
				b.ReportMetric(sum.skipped/n, "skipped")
				b.ReportMetric(sum.frames/n, "frames")
				b.ReportMetric(sum.target/n, "target-ms")
				b.ReportMetric(load, "load1")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
