package jitter

import (
	"testing"
	"time"
)

// BenchmarkPushPop pushes one 30 fps frame and pops what is due, as the
// player does per frame, with 2 s groups and a 100 ms fixed target.
func BenchmarkPushPop(b *testing.B) {
	buf := New(Config{Target: Target{Mode: Fixed, Delay: 100 * time.Millisecond}, NeedKeyframe: true})
	payload := make([]byte, 4000)
	base := time.Duration(t0.UnixNano())
	i := 0
	for b.Loop() {
		ts := time.Duration(i) * frameDur
		at := t0.Add(ts + 20*time.Millisecond)
		_ = buf.Push(Frame{Group: uint64(i / 60), Object: uint64(i % 60), Keyframe: i%60 == 0, Timestamp: base + ts, Payload: payload}, at)
		for {
			if _, ok := buf.Pop(at); !ok {
				break
			}
		}
		i++
	}
}
