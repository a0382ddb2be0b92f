package jitter

import (
	"testing"
	"time"
)

// FuzzBuffer drives the buffer with a sequence of operations decoded from
// the input and checks its invariants: bounded by count and bytes, frames
// released in (group, object) order, held frames sorted, no panic.
func FuzzBuffer(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add([]byte{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3})
	f.Add([]byte{0x10, 0x80, 0x21, 0x33, 0x41, 0xff, 0x00, 0x13, 0x22})
	f.Fuzz(func(t *testing.T, ops []byte) {
		cfg := Config{MaxFrames: 16, MaxBytes: 4096, Nudge: 0.04, NeedKeyframe: len(ops)%2 == 0}
		b := New(cfg)
		now := t0
		var group, object uint64
		ts := time.Duration(t0.UnixNano())
		var lastG, lastO uint64
		released := false
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i], ops[i+1]
			switch op % 6 {
			case 0, 1: // push the next frame, maybe in a new group
				if arg&1 != 0 {
					group++
					object = 0
				} else {
					object++
				}
				ts += time.Duration(arg) * time.Millisecond
				fr := Frame{Group: group, Object: object, Keyframe: object == 0, Timestamp: ts, Payload: make([]byte, int(arg)*8)}
				_ = b.Push(fr, now)
			case 2: // push an old or reordered frame
				g := group - min(group, uint64(arg>>4))
				fr := Frame{Group: g, Object: uint64(arg & 15), Keyframe: arg&15 == 0, Timestamp: ts - time.Duration(arg)*time.Millisecond}
				_ = b.Push(fr, now)
			case 3: // advance time and pop everything due
				now = now.Add(time.Duration(arg) * time.Millisecond)
				for n := 0; n < 100; n++ {
					fr, ok := b.Pop(now)
					if !ok {
						break
					}
					if released && !after(fr.Group, fr.Object, lastG, lastO) {
						t.Fatalf("released %d/%d after %d/%d", fr.Group, fr.Object, lastG, lastO)
					}
					lastG, lastO, released = fr.Group, fr.Object, true
				}
			case 4: // change the target
				switch arg % 3 {
				case 0:
					b.SetTarget(Target{Mode: Fixed, Delay: time.Duration(arg) * 4 * time.Millisecond})
				case 1:
					b.SetTarget(Target{Mode: Range, Min: time.Duration(arg) * time.Millisecond, Max: time.Duration(arg) * 3 * time.Millisecond})
				default:
					b.SetTarget(Target{Mode: Realtime})
				}
			case 5:
				if arg&0x80 != 0 {
					// Follow a clock near the buffer's own, or stop following.
					if arg&0x40 != 0 {
						b.Follow(Clock{AnchorLocal: now, AnchorMedia: ts - time.Duration(arg&0x3f)*10*time.Millisecond, Rate: 1 + float64(arg&3)/100})
					} else {
						b.Unfollow()
					}
					b.SetTransitFloor(time.Duration(arg) * time.Millisecond)
					break
				}
				if arg&0x40 != 0 {
					// A join point at or near the newest frame.
					b.SetJoin(group, object+uint64(arg&3))
				}
				b.SetRTT(time.Duration(arg) * time.Millisecond)
				if arg == 0xff {
					b.Reset()
					released = false
				}
			}
			s := b.Stats()
			if s.Frames > cfg.MaxFrames || s.Bytes > cfg.MaxBytes || s.Bytes < 0 {
				t.Fatalf("out of bounds: %+v", s)
			}
			for j := b.head + 1; j < len(b.frames); j++ {
				if !after(b.frames[j].Group, b.frames[j].Object, b.frames[j-1].Group, b.frames[j-1].Object) {
					t.Fatalf("held frames out of order at %d", j)
				}
			}
			if _, ok := b.NextDue(now); ok != (b.Len() > 0) {
				t.Fatalf("NextDue disagrees with Len %d", b.Len())
			}
		}
	})
}
