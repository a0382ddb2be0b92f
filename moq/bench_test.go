package moq

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/tributary-live/tributary/moq/wire"
)

// Benchmarks of one session on loopback. Run with
//
//	go test -run '^$' -bench 'Throughput|Latency' -benchtime 3s ./moq/
//
// BenchmarkRawQUICThroughput is the reference measured in the same run: the
// same bytes in the same pattern over bare quic-go. Both throughput
// benchmarks write 10 KiB objects, 30 to a unidirectional stream, one stream
// after the other; a reader on the other endpoint reads every stream as it
// arrives; the writer is kept at most two streams (60 objects) ahead of what
// that reader has read (benchThrottle), as a live source would be; the timer
// stops when the reader has the last byte. Both report cpu-ns/op: the CPU
// time (user + system) of the whole process, both endpoints, per object.

const (
	benchObjectSize  = 10 << 10 // a video frame at ~2.5 Mbit/s, 30 fps
	benchGroupLength = 30       // objects per group: one second of video
	benchAhead       = 2 * benchGroupLength * benchObjectSize
)

// benchThrottle keeps a writer at most benchAhead bytes ahead of its
// reader, the same way in both throughput benchmarks. A writer that got
// that far ahead resumes when a group's worth of room is free: one wake-up
// per group, whatever the reader's read sizes (a raw stream reader gets
// many objects per read, a MoQ reader one).
type benchThrottle struct {
	received atomic.Int64
	want     atomic.Int64 // what the waiting writer needs received; 0: none waits
	progress chan struct{}
}

func newBenchThrottle() *benchThrottle { return &benchThrottle{progress: make(chan struct{}, 1)} }

// read records n bytes read and wakes the writer once it may go on.
func (t *benchThrottle) read(n int) {
	r := t.received.Add(int64(n))
	if w := t.want.Load(); w > 0 && r >= w {
		select {
		case t.progress <- struct{}{}:
		default:
		}
	}
}

// wait blocks while the writer, having written sent bytes, is too far ahead.
func (t *benchThrottle) wait(sent int64) {
	if sent-t.received.Load() <= benchAhead {
		return
	}
	target := sent - benchAhead + benchGroupLength*benchObjectSize
	t.want.Store(target)
	for t.received.Load() < target {
		<-t.progress
	}
	t.want.Store(0)
}

// waitAll blocks until the reader has all sent bytes, at most 10 s.
func (t *benchThrottle) waitAll(b *testing.B, sent int64) {
	timeout := time.After(10 * time.Second)
	t.want.Store(sent)
	defer t.want.Store(0)
	for t.received.Load() < sent {
		select {
		case <-t.progress:
		case <-timeout:
			b.Fatalf("received %d of %d bytes", t.received.Load(), sent)
		}
	}
}

// benchCPU reports the process's CPU time per operation since start.
func benchCPU(b *testing.B, start time.Duration) {
	if now := processCPU(); now > 0 {
		b.ReportMetric(float64(now-start)/float64(b.N), "cpu-ns/op")
	}
}

func benchEnv(b *testing.B) (*testEnv, *Track, *TrackWriter) {
	cert, hash, err := DevCert("127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	origin := &testOrigin{}
	srv := &Server{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, Config: &Config{Tracks: origin}}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	track, w := NewTrack(testName("bench"), &TrackConfig{MaxGroups: 4})
	origin.add(track)
	return &testEnv{srv: srv, addr: addr, hash: hash, origin: origin, ctx: ctx}, track, w
}

// benchPipe carries objects of benchObjectSize bytes from a writer on one
// endpoint to a reader on the other. send writes n objects, in groups of
// benchGroupLength, and returns once the reader has them all.
type benchPipe struct {
	th   *benchThrottle
	sent int64 // bytes written so far
	send func(b *testing.B, n int)
}

// run sends n objects and waits until they were all read.
func (p *benchPipe) run(b *testing.B, n int) {
	p.send(b, n)
	p.th.waitAll(b, p.sent)
}

// newMoQPipe publishes objects on a track served by one endpoint to a
// subscriber on the other: one group per subgroup stream, read back
// through the subscriber's track, payloads borrowed as a relay reads them.
func newMoQPipe(b *testing.B) *benchPipe {
	env, _, w := benchEnv(b)
	sess, err := Dial(env.ctx, "moqt://"+env.addr.String()+"/", nil, &DialOptions{CertHashes: [][]byte{env.hash}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sess.Close() })
	sub, err := sess.Subscribe(env.ctx, testName("bench"), &SubscribeOptions{
		Filter: &wire.SubscriptionFilter{Type: wire.FilterNextGroupStart}, Track: &TrackConfig{MaxGroups: 4}})
	if err != nil {
		b.Fatal(err)
	}
	r := sub.Track().Reader(&ReaderOptions{Start: new(uint64)})
	b.Cleanup(r.Close)
	p := &benchPipe{th: newBenchThrottle()}
	go func() {
		for {
			g, err := r.NextGroup(env.ctx)
			if err != nil {
				return
			}
			for {
				o, err := g.ReadObjectBorrowed(env.ctx)
				if err != nil {
					break
				}
				p.th.read(len(o.Payload))
			}
			g.Close()
		}
	}()
	payload := make([]byte, benchObjectSize)
	p.send = func(b *testing.B, n int) {
		for i := 0; i < n; i += benchGroupLength {
			gw, err := w.AppendGroup()
			if err != nil {
				b.Fatal(err)
			}
			for range min(benchGroupLength, n-i) {
				if err := gw.WriteObject(payload, nil); err != nil {
					b.Fatal(err)
				}
				p.sent += benchObjectSize
				p.th.wait(p.sent)
			}
			gw.Close()
		}
	}
	b.Cleanup(func() { w.Close(nil) })
	return p
}

// newRawPipe writes the same bytes in the same pattern on bare quic-go
// streams: the reference for the MoQ pipe.
func newRawPipe(b *testing.B) *benchPipe {
	cert, _, err := DevCert("127.0.0.1")
	if err != nil {
		b.Fatal(err)
	}
	ln, err := quic.ListenAddr("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"bench"}}, &quic.Config{MaxIncomingUniStreams: 1000})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	p := &benchPipe{th: newBenchThrottle()}
	go func() {
		c, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		for {
			s, err := c.AcceptUniStream(ctx)
			if err != nil {
				return
			}
			// Streams are read concurrently, as a MoQ session does.
			go func() {
				buf := make([]byte, 64<<10)
				for {
					n, err := s.Read(buf)
					p.th.read(n)
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	c, err := quic.DialAddr(ctx, ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"bench"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.CloseWithError(0, "") })
	payload := make([]byte, benchObjectSize)
	p.send = func(b *testing.B, n int) {
		for i := 0; i < n; i += benchGroupLength {
			s, err := c.OpenUniStreamSync(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for range min(benchGroupLength, n-i) {
				if _, err := s.Write(payload); err != nil {
					b.Fatal(err)
				}
				p.sent += benchObjectSize
				p.th.wait(p.sent)
			}
			s.Close()
		}
	}
	return p
}

// BenchmarkMoQThroughput is the throughput of one MoQ session (newMoQPipe).
func BenchmarkMoQThroughput(b *testing.B) { benchPipeThroughput(b, newMoQPipe(b)) }

// BenchmarkRawQUICThroughput is the reference for BenchmarkMoQThroughput:
// the same bytes in the same pattern over bare quic-go (newRawPipe).
func BenchmarkRawQUICThroughput(b *testing.B) { benchPipeThroughput(b, newRawPipe(b)) }

// benchPipeThroughput sends b.N objects through p and reports bytes and CPU.
func benchPipeThroughput(b *testing.B, p *benchPipe) {
	b.SetBytes(benchObjectSize)
	b.ResetTimer()
	cpu := processCPU()
	p.run(b, b.N)
	b.StopTimer()
	benchCPU(b, cpu)
}

// benchRound is the number of objects each side sends per round of
// BenchmarkMoQVsRawThroughput: 100 groups, about 5 ms at 500 MB/s.
const benchRound = 100 * benchGroupLength

// BenchmarkMoQVsRawThroughput sends b.N objects through a MoQ session and
// b.N through bare quic-go, alternating rounds of benchRound objects, so
// both see the same machine: a shared machine's load changes over seconds
// and skews two benchmarks run one after the other. It reports each side's
// MB/s and CPU per object, and the MoQ throughput as a percentage of raw
// (pct-of-raw: the median of the rounds' ratios).
func BenchmarkMoQVsRawThroughput(b *testing.B) {
	pipes := [2]*benchPipe{newMoQPipe(b), newRawPipe(b)}
	var elapsed, cpu [2]time.Duration
	var ratios []float64
	b.ResetTimer()
	for left := b.N; left > 0; left -= benchRound {
		n := min(left, benchRound)
		var round [2]time.Duration
		for i, p := range pipes {
			c, t := processCPU(), time.Now()
			p.run(b, n)
			round[i] = time.Since(t)
			elapsed[i] += round[i]
			cpu[i] += processCPU() - c
		}
		ratios = append(ratios, float64(round[1])/float64(round[0]))
	}
	b.StopTimer()
	slices.Sort(ratios)
	mb := float64(b.N) * benchObjectSize / 1e6
	b.ReportMetric(mb/elapsed[0].Seconds(), "moq-MB/s")
	b.ReportMetric(mb/elapsed[1].Seconds(), "raw-MB/s")
	b.ReportMetric(float64(cpu[0])/float64(b.N), "moq-cpu-ns/obj")
	b.ReportMetric(float64(cpu[1])/float64(b.N), "raw-cpu-ns/obj")
	b.ReportMetric(100*ratios[len(ratios)/2], "pct-of-raw")
}

// BenchmarkMoQLatency measures publisher -> subscriber latency per object
// on loopback, one object every 2 ms, and reports p50 and p99.
func BenchmarkMoQLatency(b *testing.B) {
	env, _, w := benchEnv(b)
	sess, err := Dial(env.ctx, "moqt://"+env.addr.String()+"/", nil, &DialOptions{CertHashes: [][]byte{env.hash}})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	sub, err := sess.Subscribe(env.ctx, testName("bench"), &SubscribeOptions{Filter: &wire.SubscriptionFilter{Type: wire.FilterNextGroupStart}})
	if err != nil {
		b.Fatal(err)
	}
	r := sub.Track().Reader(&ReaderOptions{Start: new(uint64)})
	defer r.Close()
	lat := make([]time.Duration, 0, b.N)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for len(lat) < b.N {
			g, err := r.NextGroup(env.ctx)
			if err != nil {
				return
			}
			for {
				o, err := g.ReadObject(env.ctx)
				if err != nil {
					break
				}
				sent := time.Unix(0, int64(binary.BigEndian.Uint64(o.Payload)))
				lat = append(lat, time.Since(sent))
			}
		}
	}()
	payload := make([]byte, 1200)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	var gw *GroupWriter
	for i := 0; i < b.N; i++ {
		if i%benchGroupLength == 0 {
			if gw != nil {
				gw.Close()
			}
			gw, _ = w.AppendGroup()
		}
		<-tick.C
		binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
		gw.WriteObject(slices.Clone(payload), nil)
	}
	gw.Close()
	w.Close(nil)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		b.Fatal("objects did not arrive")
	}
	b.StopTimer()
	if len(lat) == 0 {
		b.Fatal("no latency samples")
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
