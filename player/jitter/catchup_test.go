package jitter

import (
	"testing"
	"time"
)

// catchUp makes n frames at 30 fps in groups of groupLen, captured from t0:
// frames before live arrive as a catch-up (the relay's cache of the joined
// group) at the times given by at(i), the rest live with the given transit.
func catchUp(n, groupLen, live int, at func(i int) time.Time, transit time.Duration) []arrival {
	in := stream(n, groupLen, constant(transit))
	for i := range in[:live] {
		in[i].at = at(i)
	}
	return in
}

// released checks that every frame from index `from` on was released at its
// capture time plus want, within a millisecond.
func released(t *testing.T, out []popped, from int, want time.Duration) {
	t.Helper()
	n := 0
	for _, p := range out {
		i := int(time.Duration(p.f.Timestamp-time.Duration(t0.UnixNano())) / frameDur)
		if i < from {
			continue
		}
		n++
		if d := p.at.Sub(time.Unix(0, int64(p.f.Timestamp))) - want; d.Abs() > time.Millisecond {
			t.Fatalf("frame %d/%d released %v after capture, want %v", p.f.Group, p.f.Object, p.at.Sub(time.Unix(0, int64(p.f.Timestamp))), want)
		}
	}
	if n == 0 {
		t.Fatalf("no frame from %d on released", from)
	}
}

// TestJoinPointCatchUp: with the join point known (SetJoin), the joined
// group's cached frames, trickling in at three times real time, are
// released at once as CatchUp (the first is the join picture) and marked
// Cached; they feed neither the transit nor the jitter estimate, so the
// live frames play at their transit plus the target from the start.
func TestJoinPointCatchUp(t *testing.T) {
	const live = 45
	start := t0.Add(time.Second)
	in := catchUp(150, 60, live, func(i int) time.Time { return start.Add(time.Duration(i) * 11 * time.Millisecond) }, 10*time.Millisecond)
	b := New(Config{Target: Target{Mode: Fixed, Delay: 50 * time.Millisecond}, NeedKeyframe: true, Nudge: 0.03})
	b.SetJoin(0, live-1)
	out, errs := simulate(t, b, in, t0, t0.Add(6*time.Second))
	checkOrdered(t, out)
	if len(errs) != 0 || len(out) != 150 {
		t.Fatalf("%d frames released, errors %v", len(out), errs)
	}
	if f := out[0]; !f.f.CatchUp || !f.f.Cached || !f.at.Equal(start) {
		t.Fatalf("first frame %+v at %v: want the join picture released on arrival", f.f, f.at.Sub(t0))
	}
	for _, p := range out {
		if p.f.Cached != (p.f.Group == 0 && p.f.Object < live) {
			t.Fatalf("frame %d/%d: Cached %v", p.f.Group, p.f.Object, p.f.Cached)
		}
		if p.f.CatchUp && !p.f.Cached {
			t.Fatalf("live frame %d/%d released as CatchUp", p.f.Group, p.f.Object)
		}
	}
	if s := b.Stats(); s.CatchUp < live-5 || s.Jitter > time.Millisecond || s.Skips != 0 {
		t.Fatalf("stats %+v: want the catch-up released at once, no jitter measured from it, no skip", s)
	}
	// The clock starts on live frames (after settleFrames of them).
	released(t, out, live+settleFrames, 60*time.Millisecond)
}

// TestCatchUpWithoutJoinPoint: a relay that did not say where the publisher
// was delivers the joined group's cache in bursts, a congestion window per
// round trip. Each burst lowers the smallest transit, so the catch-up's
// transit is not offered to the other tracks (Transit), and the clock
// starts on the live frames.
func TestCatchUpWithoutJoinPoint(t *testing.T) {
	const live = 30
	// Frames 0..29 in bursts of 6, 1 ms apart, every 20 ms from 0.94 s.
	at := func(i int) time.Time {
		return t0.Add(940*time.Millisecond + time.Duration(i/6)*20*time.Millisecond + time.Duration(i%6)*time.Millisecond)
	}
	in := catchUp(120, 60, live, at, 30*time.Millisecond)
	b := New(Config{Target: Target{Mode: Fixed, Delay: 100 * time.Millisecond}, NeedKeyframe: true, Nudge: 0.03})
	out, _ := simulate(t, b, in[:live], t0, at(live-1))
	if _, ok := b.Transit(); ok {
		t.Fatal("Transit offered during the catch-up")
	}
	rest, errs := simulate(t, b, in[live:], at(live-1), t0.Add(5*time.Second))
	out = append(out, rest...)
	checkOrdered(t, out)
	if len(errs) != 0 || len(out) != 120 {
		t.Fatalf("%d frames released, errors %v", len(out), errs)
	}
	if d, ok := b.Transit(); !ok || d != 30*time.Millisecond {
		t.Fatalf("Transit %v, %v: want the live 30ms", d, ok)
	}
	released(t, out, live+settleFrames, 130*time.Millisecond)
}

// TestCatchUpJump: the end of a catch-up can arrive at about real time
// (transit falling by less than settleTolerance a frame), which passes for
// live frames: the clock starts 130 ms behind the live edge. When the live
// frames show the edge, the clock jumps to the target at once instead of
// nudging there for seconds (3 % would take over 4 s).
func TestCatchUpJump(t *testing.T) {
	const live = 60
	// Frames 0..39 in one fast burst from 1.4 s, 2 ms apart; frames 40..59
	// every 26.2 ms (transit falling from 170 ms to 35 ms); then live.
	at := func(i int) time.Time {
		if i < 40 {
			return t0.Add(1400*time.Millisecond + time.Duration(i)*2*time.Millisecond)
		}
		return t0.Add(1478*time.Millisecond + time.Duration(i-39)*26200*time.Microsecond)
	}
	in := catchUp(240, 60, live, at, 30*time.Millisecond)
	b := New(Config{Target: Target{Mode: Fixed, Delay: 100 * time.Millisecond}, NeedKeyframe: true, Nudge: 0.03})
	out, errs := simulate(t, b, in, t0, t0.Add(9*time.Second))
	checkOrdered(t, out)
	if len(errs) != 0 {
		t.Fatalf("errors %v", errs)
	}
	if s := b.Stats(); s.Skips == 0 {
		t.Fatalf("stats %+v: want the clock to have jumped", s)
	}
	// One second after the live frames began they play at 30 + 100 ms.
	released(t, out, live+30, 130*time.Millisecond)
}

// TestJoinPointNoLiveFrame: joining a broadcast that has just ended gives
// only cached frames. Those that cannot be on time are released at once;
// for the rest the clock starts on the cached frames' transit settleTimeout
// after the last of them, so every frame comes out.
func TestJoinPointNoLiveFrame(t *testing.T) {
	in := catchUp(30, 30, 30, func(i int) time.Time { return t0.Add(2*time.Second + time.Duration(i)*time.Millisecond) }, 0)
	b := New(Config{Target: Target{Mode: Fixed, Delay: 300 * time.Millisecond}, NeedKeyframe: true})
	b.SetJoin(0, 29)
	out, errs := simulate(t, b, in, t0, t0.Add(5*time.Second))
	checkOrdered(t, out)
	if len(errs) != 0 || len(out) != 30 {
		t.Fatalf("%d frames released, errors %v (stats %+v)", len(out), errs, b.Stats())
	}
	if last := out[len(out)-1]; last.at.Before(in[29].at.Add(settleTimeout)) {
		t.Fatalf("last frame at %v, before the clock could start", last.at.Sub(t0))
	}
}
