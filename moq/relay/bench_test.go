package relay

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/tributary-live/tributary/moq"
)

// Benchmarks of docs/BENCHMARKS.md, section "relay". Each runs a fixed
// window of real time (use -benchtime=1x) and reports its figures with
// b.ReportMetric. Subscribers run in the same process as the relay, so
// their CPU is counted too; the raw quic-go reference is measured the same
// way, in the same run.

// The synthetic track: 2.5 Mbit/s at 30 fps, a group every 2 s.
const (
	benchFPS      = 30
	benchBitrate  = 2_500_000
	benchObject   = benchBitrate / 8 / benchFPS // 10416 bytes
	benchGroupLen = 2 * benchFPS
	benchWindow   = 4 * time.Second
)

// pacedPublisher writes the synthetic track in real time until ctx ends.
func pacedPublisher(ctx context.Context, w *moq.TrackWriter, size, perGroup int, fps int) {
	tick := time.NewTicker(time.Second / time.Duration(fps))
	defer tick.Stop()
	var gw *moq.GroupWriter
	n := 0
	for {
		select {
		case <-ctx.Done():
			if gw != nil {
				gw.Close()
			}
			w.Close(nil)
			return
		case <-tick.C:
		}
		if n%perGroup == 0 {
			if gw != nil {
				gw.Close()
			}
			var err error
			if gw, err = w.AppendGroup(); err != nil {
				return
			}
		}
		gw.WriteObject(payloadOf(gw.ID(), uint64(n%perGroup), size), nil)
		n++
	}
}

// latencies collects delivery latencies from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) within(limit time.Duration) (float64, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0
	}
	ok := 0
	for _, d := range l.d {
		if d <= limit {
			ok++
		}
	}
	return float64(ok) / float64(len(l.d)) * 100, len(l.d)
}

func (l *latencies) quantile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), l.d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fanoutResult is one measured window.
type fanoutResult struct {
	okPct     float64 // objects delivered within 100 ms of publishing
	objects   int
	expected  int
	egressMbs float64 // payload Mbit/s delivered to all subscribers
	cpuPct    float64 // process CPU over the window (200% = both cores)
	heapKB    float64 // heap growth per subscriber
}

func (f fanoutResult) report(b *testing.B, prefix string) {
	b.ReportMetric(f.okPct, prefix+"ok100ms_%")
	b.ReportMetric(f.egressMbs, prefix+"egress_Mbit/s")
	b.ReportMetric(f.cpuPct, prefix+"cpu_%")
	b.ReportMetric(f.heapKB, prefix+"heap_KB/sub")
	b.ReportMetric(float64(f.objects)/float64(max(1, f.expected))*100, prefix+"received_%")
}

// measure runs window while subscribers add latencies, and returns the figures.
func measure(subs int, lat *latencies, window time.Duration, start func()) fanoutResult {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap0 := ms.HeapInuse
	cpu0, t0 := cpuTime(), time.Now()
	start()
	time.Sleep(window) // the measured window itself, not synchronisation
	cpu := cpuTime() - cpu0
	el := time.Since(t0)
	runtime.ReadMemStats(&ms)
	pct, n := lat.within(100 * time.Millisecond)
	exp := subs * int(window.Seconds()*benchFPS)
	return fanoutResult{
		okPct: pct, objects: n, expected: exp,
		egressMbs: float64(n) * benchObject * 8 / el.Seconds() / 1e6,
		cpuPct:    float64(cpu) / float64(el) * 100,
		heapKB:    (float64(ms.HeapInuse) - float64(heap0)) / 1024 / float64(subs),
	}
}

// BenchmarkFanout: one relay serves N subscribers of the 2.5 Mbit/s track;
// the raw quic-go reference sends the same objects on plain QUIC streams
// to N connections in the same run.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{25, 50, 100, 150, 200, 300} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				raw := benchRawQUIC(b, n)
				relay := benchRelayFanout(b, n)
				raw.report(b, "raw_")
				relay.report(b, "relay_")
				if raw.egressMbs > 0 {
					b.ReportMetric(relay.egressMbs/raw.egressMbs*100, "relay/raw_%")
				}
			}
		})
	}
}

func benchRelayFanout(b *testing.B, n int) fanoutResult {
	r := startRelay(b, "127.0.0.1", func(c *Config) { c.LocalOrigins = []string{origin}; c.Logger = slog.New(slog.DiscardHandler) })
	name := testName(origin)
	tr, w := moq.NewTrack(name, &moq.TrackConfig{MaxGroups: 2})
	r.Publish(tr)
	pctx, pcancel := context.WithCancel(context.Background())
	defer pcancel()
	go pacedPublisher(pctx, w, benchObject, benchGroupLen, benchFPS)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var lat latencies
	var measuring atomic.Bool
	ready := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := moq.Dial(ctx, r.URL(), nil, &moq.DialOptions{CertHashes: [][]byte{r.CertHash()}})
			if err != nil {
				ready <- struct{}{}
				return
			}
			defer s.Close()
			sub, err := s.Subscribe(ctx, name, nil)
			ready <- struct{}{}
			if err != nil {
				return
			}
			defer sub.Close()
			rd := sub.Track().Reader(nil)
			defer rd.Close()
			for {
				g, err := rd.NextGroup(ctx)
				if err != nil {
					return
				}
				for {
					o, err := g.ReadObject(ctx)
					if err != nil {
						break
					}
					if measuring.Load() {
						lat.add(o.Received.Sub(sentAt(o.Payload)))
					}
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		<-ready
	}
	res := measure(n, &lat, benchWindow, func() { measuring.Store(true) })
	cancel()
	wg.Wait()
	return res
}

// benchRawQUIC is the ceiling: a quic-go server writes each object to each
// of n connections (one unidirectional stream per group, the same framing
// cost as a MoQ subgroup stream minus MoQ), paced like the track.
func benchRawQUIC(b *testing.B, n int) fanoutResult {
	cert, _, err := moq.DevCert("127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	ln, err := quic.ListenAddr("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"bench"}}, &quic.Config{MaxIncomingUniStreams: 1000})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The server fans each object out to every connection's current stream.
	type conn struct {
		c   *quic.Conn
		str *quic.SendStream
		ch  chan []byte
	}
	var mu sync.Mutex
	var conns []*conn
	go func() {
		for {
			c, err := ln.Accept(ctx)
			if err != nil {
				return
			}
			cn := &conn{c: c, ch: make(chan []byte, 64)}
			mu.Lock()
			conns = append(conns, cn)
			mu.Unlock()
			go func() { // one writer per connection, like a MoQ session
				for p := range cn.ch {
					if p == nil { // new group
						if cn.str != nil {
							cn.str.Close()
						}
						cn.str, err = c.OpenUniStreamSync(ctx)
						if err != nil {
							return
						}
						continue
					}
					var hdr [4]byte
					binary.BigEndian.PutUint32(hdr[:], uint32(len(p)))
					cn.str.Write(hdr[:])
					if _, err := cn.str.Write(p); err != nil {
						return
					}
				}
			}()
		}
	}()
	var lat latencies
	var measuring atomic.Bool
	var wg sync.WaitGroup
	dialed := make(chan struct{}, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := quic.DialAddr(ctx, ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"bench"}}, &quic.Config{MaxIncomingUniStreams: 1000})
			dialed <- struct{}{}
			if err != nil {
				return
			}
			defer c.CloseWithError(0, "")
			for {
				str, err := c.AcceptUniStream(ctx)
				if err != nil {
					return
				}
				go func() {
					var hdr [4]byte
					buf := make([]byte, benchObject)
					for {
						if _, err := io.ReadFull(str, hdr[:]); err != nil {
							return
						}
						m := int(binary.BigEndian.Uint32(hdr[:]))
						if m > len(buf) {
							return
						}
						if _, err := io.ReadFull(str, buf[:m]); err != nil {
							return
						}
						if measuring.Load() {
							lat.add(time.Since(sentAt(buf[:m])))
						}
					}
				}()
			}
		}()
	}
	for i := 0; i < n; i++ {
		<-dialed
	}
	pub := func() {
		tick := time.NewTicker(time.Second / benchFPS)
		defer tick.Stop()
		for k := 0; ; k++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			p := payloadOf(uint64(k/benchGroupLen), uint64(k%benchGroupLen), benchObject)
			mu.Lock()
			if ctx.Err() != nil { // the channels are being closed
				mu.Unlock()
				return
			}
			for _, cn := range conns {
				if k%benchGroupLen == 0 {
					select {
					case cn.ch <- nil:
					default:
					}
				}
				select {
				case cn.ch <- p:
				default: // a full queue drops, as a relay drops for a slow viewer
				}
			}
			mu.Unlock()
		}
	}
	// The first object opens the streams.
	go pub()
	res := measure(n, &lat, benchWindow, func() { measuring.Store(true) })
	cancel()
	mu.Lock()
	for _, cn := range conns {
		close(cn.ch)
		cn.c.CloseWithError(0, "")
	}
	mu.Unlock()
	wg.Wait()
	return res
}

// BenchmarkHopLatency: objects published at an origin reach viewers at the
// origin, one relay away and two relays away; the per-hop difference of the
// same objects' arrival is the latency a relay adds.
func BenchmarkHopLatency(b *testing.B) {
	for i := 0; i < b.N; i++ {
		o := startRelay(b, "127.0.0.1", func(c *Config) { c.Name = "origin"; c.LocalOrigins = []string{origin} })
		a := startRelay(b, "127.0.0.2", func(c *Config) {
			c.Upstreams = map[string][]string{origin: {o.URL()}}
			c.UpstreamCertHashes = []string{pin(o)}
		})
		bb := startRelay(b, "127.0.0.3", func(c *Config) {
			c.Upstreams = map[string][]string{origin: {a.URL()}}
			c.UpstreamCertHashes = []string{pin(a)}
		})
		name := testName(origin)
		tr, w := moq.NewTrack(name, nil)
		o.Publish(tr)
		pctx, pcancel := context.WithCancel(context.Background())
		go pacedPublisher(pctx, w, 1200, benchGroupLen, 100)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		type arrival map[[2]uint64]time.Time
		var mu sync.Mutex
		arrivals := make([]arrival, 3)
		var wg sync.WaitGroup
		subscribed := make(chan struct{}, 3)
		for k, r := range []*Relay{o, a, bb} {
			arrivals[k] = arrival{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := moq.Dial(ctx, r.URL(), nil, &moq.DialOptions{CertHashes: [][]byte{r.CertHash()}})
				if err != nil {
					b.Error(err)
					subscribed <- struct{}{}
					return
				}
				defer s.Close()
				sub, err := s.Subscribe(ctx, name, nil)
				subscribed <- struct{}{}
				if err != nil {
					b.Error(err)
					return
				}
				rd := sub.Track().Reader(nil)
				for {
					g, err := rd.NextGroup(ctx)
					if err != nil {
						return
					}
					for {
						obj, err := g.ReadObject(ctx)
						if err != nil {
							break
						}
						mu.Lock()
						arrivals[k][[2]uint64{obj.Group, obj.ID}] = obj.Received
						mu.Unlock()
					}
				}
			}()
		}
		for k := 0; k < 3; k++ {
			<-subscribed
		}
		time.Sleep(benchWindow) // the measured window
		cancel()
		pcancel()
		wg.Wait()
		var hop1, hop2 latencies
		for key, t0 := range arrivals[0] {
			if t1, ok := arrivals[1][key]; ok {
				hop1.add(t1.Sub(t0))
				if t2, ok := arrivals[2][key]; ok {
					hop2.add(t2.Sub(t1))
				}
			}
		}
		b.ReportMetric(float64(hop1.quantile(0.5).Microseconds()), "hop1_p50_µs")
		b.ReportMetric(float64(hop1.quantile(0.99).Microseconds()), "hop1_p99_µs")
		b.ReportMetric(float64(hop2.quantile(0.5).Microseconds()), "hop2_p50_µs")
		b.ReportMetric(float64(hop2.quantile(0.99).Microseconds()), "hop2_p99_µs")
		_, n := hop2.within(time.Hour)
		b.ReportMetric(float64(n), "objects")
	}
}

// BenchmarkJoin: with 2 s groups, a viewer subscribing (JoinGroup) at a
// relay that already carries the track gets the current group's first
// object; the time from Subscribe to that object is the join time. "cold"
// subscribes at a relay that does not carry the track yet (it subscribes
// upstream first).
func BenchmarkJoin(b *testing.B) {
	o := startRelay(b, "127.0.0.1", func(c *Config) { c.Name = "origin"; c.LocalOrigins = []string{origin} })
	mk := func(ip string) *Relay {
		return startRelay(b, ip, func(c *Config) {
			c.Upstreams = map[string][]string{origin: {o.URL()}}
			c.UpstreamCertHashes = []string{pin(o)}
			c.GracePeriod = time.Millisecond
		})
	}
	warm := mk("127.0.0.2")
	name := testName(origin)
	tr, w := moq.NewTrack(name, nil)
	o.Publish(tr)
	pctx, pcancel := context.WithCancel(context.Background())
	defer pcancel()
	go pacedPublisher(pctx, w, benchObject, benchGroupLen, benchFPS)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Keep the warm relay carrying the track.
	keep := dialRelay(b, warm, nil)
	if _, err := keep.Subscribe(ctx, name, nil); err != nil {
		b.Fatal(err)
	}
	join := func(r *Relay) (time.Duration, uint64) {
		s := dialRelay(b, r, nil)
		defer s.Close()
		t0 := time.Now()
		sub, err := s.Subscribe(ctx, name, &moq.SubscribeOptions{JoinGroup: true})
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Close()
		rd := sub.Track().Reader(nil)
		defer rd.Close()
		g, err := rd.NextGroup(ctx)
		if err != nil {
			b.Fatal(err)
		}
		obj, err := g.ReadObject(ctx)
		if err != nil {
			b.Fatal(err)
		}
		return time.Since(t0), obj.ID
	}
	for _, kind := range []string{"warm", "cold"} {
		b.Run(kind, func(b *testing.B) {
			var l latencies
			notFirst := 0
			for i := 0; i < b.N; i++ {
				r := warm
				if kind == "cold" {
					r = mk("127.0.0.3")
				}
				d, id := join(r)
				l.add(d)
				if id != 0 {
					notFirst++
				}
				if kind == "cold" {
					r.Close()
				}
			}
			b.ReportMetric(float64(l.quantile(0.5).Microseconds())/1000, "join_p50_ms")
			b.ReportMetric(float64(l.quantile(0.99).Microseconds())/1000, "join_p99_ms")
			b.ReportMetric(float64(notFirst), "not_at_group_start")
		})
	}
}
