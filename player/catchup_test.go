package player

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
)

// TestPlayJoinCatchUp joins a 720p broadcast 1.5 s into a 2 s group through
// 0-30 ms of jitter each way. The relay's cached frames of the joined group
// (about 800 kB) trickle in for a few hundred milliseconds, faster than
// real time: the player shows the group's keyframe at once, decodes the
// rest without showing it, and goes on with the live frames at the target
// delay. Before the join point was taken into account, the catch-up's
// transit held both tracks' playout clocks back, and the cached frames were
// shown at real-time pace more than a second late (p95 942 ms, p99 1283 ms
// in docs/BENCHMARKS.md).
//
// "direct": the publisher's server says where it was in SUBSCRIBE_OK
// (Largest Location); "cold relay": a relay that did not carry the track
// yet does not, and the player tells the catch-up from live frames by
// their transit (and the playout clock jumps to the live edge when it
// was placed on a catch-up's).
func TestPlayJoinCatchUp(t *testing.T) {
	if testing.Short() {
		t.Skip("720p encode and 5 s of playback")
	}
	const frames, gop, joinAt = 150, 60, 45
	m := benchMedia(t, 1280, 720, frames, gop)
	for _, hops := range []int{0, 1} {
		name := "direct"
		if hops > 0 {
			name = "cold relay"
		}
		t.Run(name, func(t *testing.T) {
			bc := newBroadcastTB(t, testCatalog("avc1.64001f"))
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			var addr net.Addr = bc.addr
			hash := bc.hash
			if hops > 0 {
				r := relayChain(t, bc, hops)
				addr, hash = r.Addr(), r.CertHash()
			}
			proxy := newLossyProxy(t, addr, 30*time.Millisecond, 0)
			started := make(chan struct{})
			pubDone := make(chan struct{})
			go func() {
				defer close(pubDone)
				bc.publish(ctx, m, gop, joinAt, started, nil)
			}()
			defer func() { cancel(); <-pubDone }()
			<-started
			var r recorder
			opts := r.options(bc)
			opts.Dial = &moq.DialOptions{CertHashes: [][]byte{hash}}
			var mu sync.Mutex
			var shown []VideoFrame
			opts.OnVideo = func(f VideoFrame) {
				f.Image = nil
				mu.Lock()
				shown = append(shown, f)
				mu.Unlock()
			}
			p, err := Open(ctx, "moqt://"+proxy.addr()+"/test/live", opts)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			waitDone(t, p, 30*time.Second)
			if err := p.Err(); err != nil && !errors.Is(err, errEnded) {
				t.Logf("ended: %v", err)
			}
			s := p.Stats()
			mu.Lock()
			defer mu.Unlock()
			if len(shown) < 30 {
				t.Fatalf("%d pictures shown; stats %+v", len(shown), s)
			}
			latency := func(f VideoFrame) time.Duration {
				return f.Presented.Sub(time.UnixMicro(int64(f.Timestamp / time.Microsecond)))
			}
			// The join picture is the group's keyframe, 1.5 s old or more.
			if shown[0].Group != 0 || shown[0].Object != 0 || latency(shown[0]) < time.Second {
				t.Fatalf("first picture %d/%d, %v old: want the joined group's keyframe", shown[0].Group, shown[0].Object, latency(shown[0]))
			}
			// After it nothing is shown late by more than the target (300 ms
			// here), the transit and tooLateVideo allow: no catch-up frame.
			for i, f := range shown[1:] {
				if l := latency(f); l > 800*time.Millisecond {
					t.Fatalf("picture %d (%d/%d) shown %v after capture: a catch-up frame shown late (stats %+v)", i+1, f.Group, f.Object, l, s)
				}
				if prev := shown[i]; f.Group < prev.Group || f.Group == prev.Group && f.Object <= prev.Object {
					t.Fatalf("picture %d/%d after %d/%d", f.Group, f.Object, prev.Group, prev.Object)
				}
			}
			// And the live frames play at the target (300 ms, fixed) plus the
			// transit: the clock was not placed on the catch-up's transit.
			if s.Latency.P50 > 460 {
				t.Fatalf("latency %+v: want the live frames at the 300 ms target", s.Latency)
			}
			if s.LiveMS < s.JoinMS || s.Stalls > 1 { // (one stall tolerated on a loaded CI machine, as in TestPlayLossyNetwork)
				t.Fatalf("stats %+v: want live after the join and no stall", s)
			}
			t.Logf("join %.0f ms, live %.0f ms, %d pictures (the second %d/%d), latency %+v, late %d, skipped %d",
				s.JoinMS, s.LiveMS, s.Frames, shown[1].Group, shown[1].Object, s.Latency, s.Late, s.Skipped)
		})
	}
}
