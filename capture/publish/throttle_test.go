package publish

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// throttle is a UDP bottleneck on loopback between a client and a server:
// datagrams from the client leave at most at rate bytes per second, through
// a queue of queueLen datagrams that drops at its tail when full (a slow
// uplink with a modest buffer); the other direction is not limited.
type throttle struct {
	front  *net.UDPConn // where the client sends
	back   *net.UDPConn // connected to the server
	rate   atomic.Int64 // bytes per second client -> server; 0: no limit
	queue  chan []byte
	client atomic.Pointer[net.UDPAddr]
	drops  atomic.Int64
	in, wg sync.WaitGroup // in: fromClient; wg: pace and fromServer
}

const queueLen = 32

func newThrottle(t *testing.T, server *net.UDPAddr) *throttle {
	t.Helper()
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	back, err := net.DialUDP("udp", nil, server)
	if err != nil {
		front.Close()
		t.Fatal(err)
	}
	th := &throttle{front: front, back: back, queue: make(chan []byte, queueLen)}
	th.in.Add(1)
	th.wg.Add(2)
	go th.fromClient()
	go th.pace()
	go th.fromServer()
	t.Cleanup(func() {
		front.Close()
		th.in.Wait() // fromClient sends on queue no more
		close(th.queue)
		back.Close()
		th.wg.Wait()
	})
	return th
}

func (th *throttle) addr() *net.UDPAddr { return th.front.LocalAddr().(*net.UDPAddr) }

// fromClient queues the client's datagrams, dropping when the queue is full.
func (th *throttle) fromClient() {
	defer th.in.Done()
	for {
		buf := make([]byte, 2048)
		n, from, err := th.front.ReadFromUDP(buf)
		if err != nil {
			return
		}
		th.client.Store(from)
		select {
		case th.queue <- buf[:n]:
		default:
			th.drops.Add(1)
		}
	}
}

// pace sends queued datagrams to the server, no faster than rate.
func (th *throttle) pace() {
	defer th.wg.Done()
	next := time.Now()
	for b := range th.queue {
		if r := th.rate.Load(); r > 0 {
			now := time.Now()
			if next.Before(now) {
				next = now
			}
			next = next.Add(time.Duration(int64(len(b)) * int64(time.Second) / r))
			if d := time.Until(next); d > 0 {
				time.Sleep(d) // pacing the link, not synchronising the test
			}
		}
		th.back.Write(b) // a closed socket at the end: the queue still drains until closed
	}
}

// fromServer forwards the server's datagrams to the client.
func (th *throttle) fromServer() {
	defer th.wg.Done()
	buf := make([]byte, 2048)
	for {
		n, err := th.back.Read(buf)
		if err != nil {
			return
		}
		if c := th.client.Load(); c != nil {
			th.front.WriteToUDP(buf[:n], c)
		}
	}
}

// TestAdaptToThrottledUplink: a publisher with Adapt sends through a 120
// kbit/s uplink to Tributary's relay, with a viewer on the relay; its video
// bitrate must come down from the preset to what the link carries within
// seconds (not under the floor), and the viewer goes on receiving video.
func TestAdaptToThrottledUplink(t *testing.T) {
	cert, hash, err := moq.DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	r := startRelay(t, "127.0.0.1:0", cert)
	th := newThrottle(t, r.Addr())

	const start, floor = 1_500_000, 50_000
	p, err := New(Config{
		Namespace:        testNS,
		Video:            capture.NewPatternSource(640, 360, 30, true, time.Now()),
		Audio:            capture.NewToneSource(48000, 1, 20*time.Millisecond, true, time.Now()),
		VideoBitrate:     start,
		AudioBitrate:     16_000,
		MinVideoBitrate:  floor,
		KeyframeInterval: 30,
		Adapt:            true,
		Logger:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- p.Run(ctx) }()
	go func() {
		errs <- p.Connect(ctx, "moqt://"+th.addr().String()+"/", &ConnectOptions{Mode: ModePublish,
			Config: moq.Config{Logger: slog.New(slog.DiscardHandler)},
			Dial:   moq.DialOptions{CertHashes: [][]byte{hash}}, MinBackoff: 50 * time.Millisecond})
	}()
	defer func() {
		cancel()
		for range 2 {
			if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("publisher: %v", err)
			}
		}
	}()

	// A viewer on the relay, reading the video as it comes.
	sess, err := moq.Dial(ctx, r.URL(), &moq.Config{Logger: slog.New(slog.DiscardHandler)}, &moq.DialOptions{CertHashes: [][]byte{hash}})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var sub *moq.Subscription
	for attempt := 0; sub == nil; attempt++ {
		s, err := sess.Subscribe(ctx, wire.FullTrackName{Namespace: testNS, Name: []byte(VideoTrack)}, &moq.SubscribeOptions{JoinGroup: true})
		if err == nil {
			sub = s
			break
		}
		if attempt == 100 {
			t.Fatalf("subscribe through the relay: %v", err)
		}
		select {
		case <-time.After(100 * time.Millisecond): // the publisher is still connecting
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	defer sub.Close()
	var received atomic.Int64
	go func() {
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
				received.Add(int64(len(o.Payload)))
			}
		}
	}()

	// Unthrottled, the encoder makes what it makes of the pattern at the
	// preset: the link must be well below that for the test to mean anything.
	s0 := p.Stats()
	t0 := time.Now()
	waitStats(t, ctx, p, func(s Stats) bool { return s.VideoFrames >= s0.VideoFrames+45 })
	s1 := p.Stats()
	made := float64(s1.VideoBytes-s0.VideoBytes) * 8 / time.Since(t0).Seconds()
	const link = 120_000 // bit/s
	t.Logf("unthrottled: video %.0f kbit/s at a target of %d kbit/s", made/1000, s1.VideoBitrate/1000)
	if made < 1.5*link {
		t.Fatalf("the encoder makes %.0f kbit/s unthrottled, not enough above the %d kbit/s link", made/1000, link/1000)
	}

	th.rate.Store(link / 8)
	throttled := time.Now()
	waitStats(t, ctx, p, func(s Stats) bool { return s.VideoBitrate <= link })
	t.Logf("bitrate lowered to %d kbit/s %.1f s after the throttle (%d datagrams dropped at the bottleneck)",
		p.Stats().VideoBitrate/1000, time.Since(throttled).Seconds(), th.drops.Load())
	if b := p.Stats().VideoBitrate; b < floor {
		t.Errorf("bitrate %d under the floor %d", b, floor)
	}
	// The viewer goes on receiving video through the narrow link.
	r0 := received.Load()
	for received.Load() < r0+16<<10 {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatalf("the viewer received %d bytes of video after the bitrate came down", received.Load()-r0)
		}
	}
}

// waitStats polls the publisher's stats every 50 ms until cond holds.
func waitStats(t *testing.T, ctx context.Context, p *Publisher, cond func(Stats) bool) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond(p.Stats()) {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("waiting for the publisher: %v; stats %+v", ctx.Err(), p.Stats())
		}
	}
}
