package moq

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"slices"
	"sync"
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
// same bytes in the same stream pattern over bare quic-go.

const (
	benchObjectSize  = 10 << 10 // a video frame at ~2.5 Mbit/s, 30 fps
	benchGroupLength = 30       // objects per group: one second of video
)

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

func BenchmarkMoQThroughput(b *testing.B) {
	env, _, w := benchEnv(b)
	sess, err := Dial(env.ctx, "moqt://"+env.addr.String()+"/", nil, &DialOptions{CertHashes: [][]byte{env.hash}})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	sub, err := sess.Subscribe(env.ctx, testName("bench"), &SubscribeOptions{
		Filter: &wire.SubscriptionFilter{Type: wire.FilterNextGroupStart}, Track: &TrackConfig{MaxGroups: 4}})
	if err != nil {
		b.Fatal(err)
	}
	r := sub.Track().Reader(&ReaderOptions{Start: new(uint64)})
	defer r.Close()
	payload := make([]byte, benchObjectSize)
	done := make(chan int)
	// The reader reports every object it reads, so the publisher's
	// throttle below waits no longer than it must.
	var received atomic.Int64
	progress := make(chan struct{}, 1)
	go func() {
		n := 0
		for {
			g, err := r.NextGroup(env.ctx)
			if err != nil {
				done <- n
				return
			}
			for {
				if _, err := g.ReadObject(env.ctx); err != nil {
					break
				}
				n++
				received.Store(int64(n))
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		}
	}()
	b.SetBytes(benchObjectSize)
	b.ResetTimer()
	var gw *GroupWriter
	for i := 0; i < b.N; i++ {
		if i%benchGroupLength == 0 {
			if gw != nil {
				gw.Close()
			}
			// Keep the publisher at most a couple of groups ahead of the
			// reader, as a live source would be: the cache never evicts
			// a group before it is read.
			if gw, err = w.AppendGroup(); err != nil {
				b.Fatal(err)
			}
		}
		gw.WriteObject(payload, nil)
		for int64(i)-received.Load() > 2*benchGroupLength {
			<-progress
		}
	}
	gw.Close()
	w.Close(nil)
	got := <-done
	b.StopTimer()
	if got < b.N*9/10 {
		b.Fatalf("received %d of %d objects", got, b.N)
	}
}

func BenchmarkRawQUICThroughput(b *testing.B) {
	cert, _, err := DevCert("127.0.0.1")
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
	received := make(chan int64)
	go func() {
		c, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		var total int64
		var mu sync.Mutex
		for {
			s, err := c.AcceptUniStream(ctx)
			if err != nil {
				mu.Lock()
				received <- total
				mu.Unlock()
				return
			}
			// Streams are read concurrently, as a MoQ session does.
			go func() {
				buf := make([]byte, 64<<10)
				for {
					n, err := s.Read(buf)
					mu.Lock()
					total += int64(n)
					mu.Unlock()
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
	payload := make([]byte, benchObjectSize)
	b.SetBytes(benchObjectSize)
	b.ResetTimer()
	var s *quic.SendStream
	for i := 0; i < b.N; i++ {
		if i%benchGroupLength == 0 {
			if s != nil {
				s.Close()
			}
			if s, err = c.OpenUniStreamSync(ctx); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := s.Write(payload); err != nil {
			b.Fatal(err)
		}
	}
	s.Close()
	c.CloseWithError(0, "")
	<-received
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
