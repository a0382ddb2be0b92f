package jitter

import (
	"errors"
	"math"
	"sort"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const frameDur = time.Second / 30

// arrival is one frame reaching the buffer.
type arrival struct {
	f  Frame
	at time.Time
}

// popped is one frame released by the buffer.
type popped struct {
	f  Frame
	at time.Time
}

// stream makes n frames at 30 fps in groups of groupLen, captured from t0,
// arriving after transit(i).
func stream(n, groupLen int, transit func(i int) time.Duration) []arrival {
	var out []arrival
	for i := range n {
		ts := time.Duration(i) * frameDur
		f := Frame{
			Group:     uint64(i / groupLen),
			Object:    uint64(i % groupLen),
			Keyframe:  i%groupLen == 0,
			Timestamp: time.Duration(t0.UnixNano()) + ts,
			Payload:   make([]byte, 100),
		}
		out = append(out, arrival{f, t0.Add(ts + transit(i))})
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].at.Before(out[b].at) })
	return out
}

// simulate pushes the arrivals at their times and pops every frame as soon as
// it is due, the way the player's loop does; it returns what was popped and
// the errors of Push.
func simulate(t *testing.T, b *Buffer, in []arrival, from, until time.Time) ([]popped, []error) {
	t.Helper()
	var out []popped
	var errs []error
	now := from
	i := 0
	for steps := 0; steps < 100000; steps++ {
		for i < len(in) && !in[i].at.After(now) {
			if err := b.Push(in[i].f, in[i].at); err != nil {
				errs = append(errs, err)
			}
			i++
		}
		for {
			f, ok := b.Pop(now)
			if !ok {
				break
			}
			out = append(out, popped{f, now})
		}
		if b.Len() > b.cfg.MaxFrames {
			t.Fatalf("buffer holds %d frames, bound %d", b.Len(), b.cfg.MaxFrames)
		}
		// Next event: an arrival or a due frame.
		next := until
		if i < len(in) && in[i].at.Before(next) {
			next = in[i].at
		}
		if due, ok := b.NextDue(now); ok && due.Before(next) {
			next = due
		}
		if !next.After(now) {
			next = now.Add(time.Millisecond)
		}
		if next.After(until) {
			return out, errs
		}
		now = next
	}
	t.Fatal("simulation did not end")
	return nil, nil
}

func checkOrdered(t *testing.T, out []popped) {
	t.Helper()
	for i := 1; i < len(out); i++ {
		a, b := out[i-1].f, out[i].f
		if !after(b.Group, b.Object, a.Group, a.Object) {
			t.Fatalf("frame %d (%d/%d) released after %d/%d", i, b.Group, b.Object, a.Group, a.Object)
		}
	}
}

func constant(d time.Duration) func(int) time.Duration { return func(int) time.Duration { return d } }

func TestBuffer(t *testing.T) {
	// jittery transit: 40 ms plus 0..30 ms in a fixed pseudo-random pattern.
	jittery := func(i int) time.Duration {
		return 40*time.Millisecond + time.Duration((i*7919)%31)*time.Millisecond
	}
	tests := []struct {
		name   string
		cfg    Config
		in     []arrival
		rtt    time.Duration
		until  time.Duration
		check  func(t *testing.T, b *Buffer, out []popped, errs []error)
		frames int // expected frames released; -1 to skip the check
	}{
		{
			name:   "fixed delay, steady network: every frame at capture+transit+delay",
			cfg:    Config{Target: Target{Mode: Fixed, Delay: 100 * time.Millisecond}},
			in:     stream(90, 30, constant(40*time.Millisecond)),
			frames: 90,
			check: func(t *testing.T, b *Buffer, out []popped, errs []error) {
				for _, p := range out {
					want := time.Unix(0, int64(p.f.Timestamp)).Add(140 * time.Millisecond)
					if d := p.at.Sub(want); d < -time.Millisecond || d > time.Millisecond {
						t.Fatalf("frame %d/%d at %v, want %v", p.f.Group, p.f.Object, p.at.Sub(t0), want.Sub(t0))
					}
					if p.f.Late > time.Millisecond {
						t.Fatalf("frame late by %v", p.f.Late)
					}
				}
			},
		},
		{
			name:   "fixed delay absorbs 30 ms of jitter: nothing late, order kept",
			cfg:    Config{Target: Target{Mode: Fixed, Delay: 60 * time.Millisecond}},
			in:     stream(300, 60, jittery),
			until:  12 * time.Second,
			frames: 300,
			check: func(t *testing.T, b *Buffer, out []popped, errs []error) {
				// The clock starts once arrivals settle (at most 200 ms):
				// frames before that play at once, the rest on time.
				for _, p := range out[10:] {
					if p.f.Late > time.Millisecond {
						t.Fatalf("frame %d/%d late by %v", p.f.Group, p.f.Object, p.f.Late)
					}
				}
				if s := b.Stats(); s.Jitter <= 0 || s.Skips != 0 {
					t.Fatalf("stats %+v: want jitter measured and no skip", s)
				}
			},
		},
		{
			name: "reordered arrivals are released in order",
			cfg:  Config{Target: Target{Mode: Fixed, Delay: 80 * time.Millisecond}},
			in: stream(60, 30, func(i int) time.Duration {
				if i%2 == 0 {
					return 70 * time.Millisecond // even frames overtaken by the next odd one
				}
				return 20 * time.Millisecond
			}),
			frames: 60,
		},
		{
			name: "a frame arriving after its successor was played is dropped as too late",
			cfg:  Config{Target: Target{Mode: Fixed, Delay: 50 * time.Millisecond}},
			in: stream(30, 30, func(i int) time.Duration {
				if i == 10 {
					return 500 * time.Millisecond
				}
				return 10 * time.Millisecond
			}),
			frames: 29,
			check: func(t *testing.T, b *Buffer, out []popped, errs []error) {
				if len(errs) != 1 || !errors.Is(errs[0], ErrTooLate) || b.Stats().TooLate != 1 {
					t.Fatalf("errs %v stats %+v: want one ErrTooLate", errs, b.Stats())
				}
			},
		},
		{
			name:   "duplicates are dropped",
			cfg:    Config{Target: Target{Mode: Fixed, Delay: 200 * time.Millisecond}},
			in:     append(stream(10, 10, constant(5*time.Millisecond)), stream(10, 10, constant(6*time.Millisecond))[3]),
			frames: 10,
			check: func(t *testing.T, b *Buffer, out []popped, errs []error) {
				if len(errs) != 1 || !errors.Is(errs[0], ErrDuplicate) {
					t.Fatalf("errs %v: want one ErrDuplicate", errs)
				}
			},
		},
		{
			name:   "joining mid-group: frames before the first keyframe are dropped",
			cfg:    Config{Target: Target{Mode: Fixed, Delay: 50 * time.Millisecond}, NeedKeyframe: true},
			in:     stream(60, 30, constant(10*time.Millisecond))[20:],
			frames: 30,
			check: func(t *testing.T, b *Buffer, out []popped, errs []error) {
				if !out[0].f.Keyframe || b.Stats().NoKeyframe != 10 {
					t.Fatalf("first %+v stats %+v: want a keyframe first and 10 dropped", out[0].f, b.Stats())
				}
			},
		},
		{
			name: "joining with the relay's cached group: the old group plays at once, then catches up",
			cfg:  Config{Target: Target{Mode: Fixed, Delay: 50 * time.Millisecond}, NeedKeyframe: true},
			// Frames 0..44 of a 60-frame group arrive together at 1.5 s (the
			// relay's cache), the rest live with 10 ms transit.
			in: func() []arrival {
				in := stream(120, 60, constant(10*time.Millisecond))
				for i := range in[:45] {
					in[i].at = t0.Add(45*frameDur + 10*time.Millisecond)
				}
				return in
			}(),
			frames: 120,
			check: func(t *testing.T, b *Buffer, out []popped, errs []error) {
				// The cache burst arrives at 1.51 s; the clock starts with
				// the next live frame, which shows where the live edge is.
				if d := out[0].at.Sub(t0.Add(45*frameDur + 10*time.Millisecond)); d < 0 || d > 2*frameDur {
					t.Fatalf("first frame at %v, want at once", out[0].at.Sub(t0))
				}
				last := out[len(out)-1]
				want := time.Unix(0, int64(last.f.Timestamp)).Add(60 * time.Millisecond)
				if d := last.at.Sub(want); d < -time.Millisecond || d > time.Millisecond {
					t.Fatalf("last frame at %v, want %v (caught up to the target)", last.at.Sub(t0), want.Sub(t0))
				}
			},
		},
		{
			name: "a stall then a burst: skip to the newest group",
			cfg:  Config{Target: Target{Mode: Fixed, Delay: 50 * time.Millisecond}, NeedKeyframe: true},
			// From frame 30 on, the network holds frames until 4.1 s.
			in: func() []arrival {
				in := stream(150, 30, constant(10*time.Millisecond))
				for i := 30; i < 150; i++ {
					if in[i].at.Before(t0.Add(4100 * time.Millisecond)) {
						in[i].at = t0.Add(4100 * time.Millisecond)
					}
				}
				sort.SliceStable(in, func(a, b int) bool { return in[a].at.Before(in[b].at) })
				return in
			}(),
			frames: -1,
			check: func(t *testing.T, b *Buffer, out []popped, errs []error) {
				s := b.Stats()
				if s.Skips == 0 || s.Skipped < 90 {
					t.Fatalf("stats %+v: want the three stale groups skipped", s)
				}
				for _, p := range out {
					if p.f.Group >= 1 && p.f.Group <= 3 {
						t.Fatalf("frame of stale group %d released", p.f.Group)
					}
				}
			},
		},
		{
			name: "bounded by count: oldest groups dropped, head stays a keyframe",
			cfg:  Config{Target: Target{Mode: Fixed, Delay: 5 * time.Second}, MaxFrames: 25, NeedKeyframe: true},
			in:   stream(100, 10, constant(10*time.Millisecond)),
			// Within 3 s nothing is due; the buffer keeps the newest groups.
			until:  3 * time.Second,
			frames: 0,
			check: func(t *testing.T, b *Buffer, out []popped, errs []error) {
				if b.Len() > 25 || !b.frames[b.head].Keyframe || b.Stats().Overflow == 0 {
					t.Fatalf("len %d head %+v stats %+v", b.Len(), b.frames[b.head], b.Stats())
				}
			},
		},
		{
			name:   "bounded by bytes",
			cfg:    Config{Target: Target{Mode: Fixed, Delay: 5 * time.Second}, MaxBytes: 1000},
			in:     stream(100, 10, constant(10*time.Millisecond)),
			until:  3 * time.Second,
			frames: 0,
			check: func(t *testing.T, b *Buffer, out []popped, errs []error) {
				if s := b.Stats(); s.Bytes > 1000 {
					t.Fatalf("holds %d bytes", s.Bytes)
				}
			},
		},
		{
			name:   "real-time target follows the round-trip time",
			cfg:    Config{Target: Target{Mode: Realtime}},
			rtt:    120 * time.Millisecond,
			in:     stream(60, 30, constant(30*time.Millisecond)),
			frames: 60,
			check: func(t *testing.T, b *Buffer, out []popped, errs []error) {
				if s := b.Stats(); s.Target < 120*time.Millisecond || s.Target > 200*time.Millisecond {
					t.Fatalf("target %v, want about RTT + margin", s.Target)
				}
			},
		},
		{
			name:   "range target clamps the real-time estimate",
			cfg:    Config{Target: Target{Mode: Range, Min: 150 * time.Millisecond, Max: 400 * time.Millisecond}},
			rtt:    5 * time.Millisecond,
			in:     stream(30, 30, constant(30*time.Millisecond)),
			frames: 30,
			check: func(t *testing.T, b *Buffer, out []popped, errs []error) {
				if s := b.Stats(); s.Target != 150*time.Millisecond {
					t.Fatalf("target %v, want the minimum 150ms", s.Target)
				}
				want := time.Unix(0, int64(out[0].f.Timestamp)).Add(180 * time.Millisecond)
				if out[0].at.Sub(want).Abs() > time.Millisecond {
					t.Fatalf("first frame at %v, want %v", out[0].at.Sub(t0), want.Sub(t0))
				}
			},
		},
		{
			name:  "empty buffer: nothing due",
			cfg:   Config{Target: Target{Mode: Fixed, Delay: 100 * time.Millisecond}},
			until: time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := New(tc.cfg)
			b.SetRTT(tc.rtt)
			until := tc.until
			if until == 0 {
				until = 10 * time.Second
			}
			out, errs := simulate(t, b, tc.in, t0, t0.Add(until))
			checkOrdered(t, out)
			if tc.frames >= 0 && len(out) != tc.frames {
				t.Fatalf("released %d frames, want %d (stats %+v)", len(out), tc.frames, b.Stats())
			}
			if tc.check != nil {
				tc.check(t, b, out, errs)
			}
		})
	}
}

// TestNudge checks that a lowered target is reached by playing a few percent
// faster, without a skip, and that the rate returns to 1.
func TestNudge(t *testing.T) {
	b := New(Config{Target: Target{Mode: Fixed, Delay: 300 * time.Millisecond}, Nudge: 0.05})
	in := stream(600, 60, constant(20*time.Millisecond))
	// First 2 s at 300 ms, then target 200 ms.
	out, _ := simulate(t, b, in[:60], t0, t0.Add(2*time.Second))
	b.SetTarget(Target{Mode: Fixed, Delay: 200 * time.Millisecond})
	sawFast := false
	for i := 60; i < len(in); i++ {
		o, _ := simulate(t, b, in[i:i+1], in[i-1].at, in[i].at)
		out = append(out, o...)
		if b.Rate() > 1 {
			sawFast = true
		}
		if r := b.Rate(); math.Abs(r-1) > 0.05+1e-9 {
			t.Fatalf("rate %v beyond the 5%% nudge", r)
		}
	}
	checkOrdered(t, out)
	s := b.Stats()
	if !sawFast || s.Skips != 0 {
		t.Fatalf("sawFast %v stats %+v: want nudging, no skip", sawFast, s)
	}
	if d := s.Delay - 200*time.Millisecond; d.Abs() > 25*time.Millisecond || s.Rate != 1 {
		t.Fatalf("delay %v rate %v: want about 200ms at rate 1", s.Delay, s.Rate)
	}
}

// TestCeilingSkip checks that a delay beyond the range's maximum makes the
// buffer jump to the target at once.
func TestCeilingSkip(t *testing.T) {
	b := New(Config{Target: Target{Mode: Fixed, Delay: 800 * time.Millisecond}})
	in := stream(300, 30, constant(20*time.Millisecond))
	simulate(t, b, in[:60], t0, t0.Add(2*time.Second))
	b.SetTarget(Target{Mode: Range, Min: 100 * time.Millisecond, Max: 300 * time.Millisecond})
	simulate(t, b, in[60:], t0.Add(2*time.Second), t0.Add(10*time.Second))
	s := b.Stats()
	if s.Skips == 0 || s.Delay > 300*time.Millisecond {
		t.Fatalf("stats %+v: want a skip down to the range", s)
	}
}

func TestReset(t *testing.T) {
	b := New(Config{Target: Target{Mode: Fixed, Delay: time.Second}})
	for _, a := range stream(10, 5, constant(0)) {
		if err := b.Push(a.f, a.at); err != nil {
			t.Fatal(err)
		}
	}
	b.Reset()
	if b.Len() != 0 || b.Stats().Bytes != 0 || b.Stats().Pushed != 10 {
		t.Fatalf("after reset: %+v", b.Stats())
	}
	if err := b.Push(Frame{Group: 0, Object: 0, Keyframe: true}, t0); err != nil {
		t.Fatalf("push after reset: %v", err)
	}
}

func TestTooBig(t *testing.T) {
	b := New(Config{MaxBytes: 10})
	if err := b.Push(Frame{Payload: make([]byte, 11)}, t0); !errors.Is(err, ErrTooBig) {
		t.Fatalf("err %v, want ErrTooBig", err)
	}
}

// TestTransitFloor: two buffers with different transit times play in step
// once both get the larger transit as floor.
func TestTransitFloor(t *testing.T) {
	cfg := Config{Target: Target{Mode: Fixed, Delay: 100 * time.Millisecond}}
	audio, video := New(cfg), New(cfg)
	a := stream(30, 30, constant(5*time.Millisecond))
	v := stream(30, 30, constant(45*time.Millisecond))
	for i := range a {
		_ = audio.Push(a[i].f, a[i].at)
		_ = video.Push(v[i].f, v[i].at)
	}
	ta, _ := audio.Transit()
	tv, _ := video.Transit()
	floor := max(ta, tv)
	audio.SetTransitFloor(floor)
	video.SetTransitFloor(floor)
	now := t0.Add(2 * time.Second)
	fa, _ := audio.Pop(now)
	fv, _ := video.Pop(now)
	if fa.Late != fv.Late || audio.MediaNow(now) != video.MediaNow(now) {
		t.Fatalf("clocks differ: audio %v video %v", audio.MediaNow(now), video.MediaNow(now))
	}
}

// TestFollow: a buffer following another's clock releases frames with the
// same timestamps at the same moments, and does not skip on its own.
func TestFollow(t *testing.T) {
	cfg := Config{Target: Target{Mode: Fixed, Delay: 100 * time.Millisecond}, Nudge: 0.05}
	master, follower := New(cfg), New(cfg)
	a := stream(60, 60, constant(5*time.Millisecond))
	v := stream(60, 30, constant(60*time.Millisecond))
	var got []time.Time
	for i := range a {
		_ = master.Push(a[i].f, a[i].at)
		_ = follower.Push(v[i].f, v[i].at)
	}
	now := t0.Add(500 * time.Millisecond)
	for range 200 {
		master.Pop(now)
		if c, ok := master.Clock(); ok {
			follower.Follow(c)
		}
		if f, ok := follower.Pop(now); ok {
			got = append(got, now)
			if f.Timestamp > master.MediaNow(now) {
				t.Fatalf("follower released %v ahead of the master clock %v", f.Timestamp, master.MediaNow(now))
			}
		}
		now = now.Add(10 * time.Millisecond)
	}
	if len(got) == 0 || follower.Stats().Skips != 0 {
		t.Fatalf("follower released %d frames, stats %+v", len(got), follower.Stats())
	}
}
