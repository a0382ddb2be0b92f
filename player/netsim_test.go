package player

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"
)

// lossyProxy is a UDP relay on loopback that delays each datagram by a
// random 0..jitter and drops a fraction of them, in both directions: a
// stand-in for netem where the kernel has no netem qdisc (this machine's).
// Datagrams keep their order (a datagram never leaves before the one ahead
// of it, as in a queue), since reordering every packet of a burst would
// measure QUIC's loss detection rather than the player. It serves one client.
type lossyProxy struct {
	conn    *net.UDPConn
	server  *net.UDPAddr
	jitter  time.Duration
	loss    float64
	mu      sync.Mutex
	rng     *rand.Rand
	client  *net.UDPAddr
	up      *net.UDPConn
	closed  bool
	last    [2]time.Time // when the previous datagram leaves, per direction
	wg      sync.WaitGroup
	dropped int
	passed  int
}

func newLossyProxy(t testing.TB, server net.Addr, jitter time.Duration, loss float64) *lossyProxy {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	up, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{conn: c, up: up, server: server.(*net.UDPAddr), jitter: jitter, loss: loss, rng: rand.New(rand.NewPCG(1, 2))}
	p.wg.Add(2)
	go p.pump(c, true)
	go p.pump(up, false)
	t.Cleanup(p.close)
	return p
}

func (p *lossyProxy) addr() string { return p.conn.LocalAddr().String() }

// pump reads datagrams from one side and schedules them to the other.
func (p *lossyProxy) pump(from *net.UDPConn, fromClient bool) {
	defer p.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, src, err := from.ReadFromUDP(buf)
		if err != nil {
			return
		}
		pkt := append([]byte(nil), buf[:n]...)
		p.mu.Lock()
		if fromClient {
			p.client = src
		}
		drop := p.rng.Float64() < p.loss
		dir := 0
		if !fromClient {
			dir = 1
		}
		at := time.Now().Add(time.Duration(p.rng.Int64N(int64(p.jitter) + 1)))
		if at.Before(p.last[dir]) {
			at = p.last[dir]
		}
		p.last[dir] = at
		delay := time.Until(at)
		client := p.client
		if drop {
			p.dropped++
		} else {
			p.passed++
		}
		p.mu.Unlock()
		if drop {
			continue
		}
		time.AfterFunc(delay, func() {
			p.mu.Lock()
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return
			}
			if fromClient {
				_, _ = p.up.WriteToUDP(pkt, p.server)
			} else if client != nil {
				_, _ = p.conn.WriteToUDP(pkt, client)
			}
		})
	}
}

func (p *lossyProxy) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.conn.Close()
	p.up.Close()
	p.wg.Wait()
}

// TestPlayLossyNetwork plays through 30 ms of jitter and 1 % loss each way
// with the default (real-time) target: playback goes on, the target grows
// with the measured jitter and RTT, and what the player skipped or dropped
// is counted.
func TestPlayLossyNetwork(t *testing.T) {
	const frames, gop = 150, 30
	m := testMedia(t, frames, gop)
	b := newBroadcast(t, testCatalog("avc1.42e01e"), nil)
	proxy := newLossyProxy(t, b.addr, 30*time.Millisecond, 0.01)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var r recorder
	opts := r.options(b)
	opts.Latency.Mode, opts.Latency.Delay = 0, 0 // real-time, the default
	p, err := Open(ctx, "moqt://"+proxy.addr()+"/test/live", opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	go b.publish(ctx, m, gop, 0, nil, nil)
	waitDone(t, p, 30*time.Second)
	if err := p.Err(); err != nil && !errors.Is(err, errEnded) {
		t.Logf("ended: %v", err)
	}
	s := p.Stats()
	proxy.mu.Lock()
	t.Logf("proxy: %d datagrams passed, %d dropped; stats %+v", proxy.passed, proxy.dropped, s)
	dropped := proxy.dropped
	proxy.mu.Unlock()
	if dropped == 0 {
		t.Fatal("the proxy dropped nothing")
	}
	// No stall at the default target (one is tolerated for a loaded CI
	// machine; none was seen in runs here).
	if s.Frames < frames*7/10 || s.TargetMS <= 20 || s.RTTMS <= 0 || s.Stalls > 1 {
		t.Fatalf("stats %+v: want most frames shown, a target above the floor and a measured RTT", s)
	}
	if int64(frames)-s.Frames > s.Dropped+30 {
		t.Fatalf("%d frames neither shown nor counted as dropped (stats %+v)", int64(frames)-s.Frames-s.Dropped, s)
	}
}
