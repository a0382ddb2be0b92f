package capture

import (
	"image"
	"image/draw"
	"math"
	"math/rand"
	"testing"
	"time"
)

func TestPatternRoundTrip(t *testing.T) {
	now := time.UnixMilli(1763900000123)
	for _, size := range [][2]int{{96, 64}, {640, 360}, {1280, 720}, {1920, 1080}} {
		p := NewPattern(size[0], size[1])
		for _, frame := range []uint32{0, 1, 2, 0xdeadbeef, 0xffffffff} {
			s := PatternStamp{Frame: frame, ClockMillis: uint64(now.UnixMilli()+int64(frame%1000)) & clockMask}
			img := p.Draw(s)
			got, ok := ReadPattern(img)
			if !ok || got != s {
				t.Fatalf("%v frame %d: got %+v %v", size, frame, got, ok)
			}
			if got.Time(now).Sub(now) > time.Second || got.Time(now).Before(now) {
				t.Errorf("clock %v, near %v", got.Time(now), now)
			}
			// The same through a generic image (as a decoder's RGBA output).
			rgba := image.NewRGBA(img.Bounds())
			draw.Draw(rgba, rgba.Bounds(), img, image.Point{}, draw.Src)
			if f, ok := ReadPatternCounter(rgba); !ok || f != frame {
				t.Fatalf("%v RGBA frame %d: got %d %v", size, frame, f, ok)
			}
		}
	}
}

func TestPatternSurvivesNoise(t *testing.T) {
	p := NewPattern(640, 360)
	img := p.Draw(PatternStamp{Frame: 12345, ClockMillis: 999})
	rng := rand.New(rand.NewSource(1))
	for i := range img.Y {
		v := int(img.Y[i]) + rng.Intn(81) - 40
		img.Y[i] = uint8(min(max(v, 0), 255))
	}
	if f, ok := ReadPatternCounter(img); !ok || f != 12345 {
		t.Fatalf("noisy frame: %d %v", f, ok)
	}
}

func TestPatternRejects(t *testing.T) {
	if _, ok := ReadPatternCounter(image.NewGray(image.Rect(0, 0, 640, 360))); ok {
		t.Error("black frame read as a pattern")
	}
	if _, ok := ReadPatternCounter(image.NewGray(image.Rect(0, 0, 40, 40))); ok {
		t.Error("tiny frame read as a pattern")
	}
	img := NewPattern(640, 360).Draw(PatternStamp{Frame: 7})
	// Flip one counter cell: the checksum must catch it.
	cw := 640.0 / patternCells
	for y := 0; y < int(cw); y++ {
		for x := int(20*cw) + 1; x < int(21*cw); x++ {
			img.Y[y*img.YStride+x] = 255 - img.Y[y*img.YStride+x]
		}
	}
	if f, ok := ReadPatternCounter(img); ok {
		t.Errorf("corrupted stamp read as %d", f)
	}
}

func TestPatternStampTimeWraps(t *testing.T) {
	near := time.UnixMilli(5<<36 + 10)
	s := PatternStamp{ClockMillis: clockMask - 5} // just before the wrap
	if got := s.Time(near); near.Sub(got) != 16*time.Millisecond {
		t.Errorf("wrapped clock %v, near %v", got.UnixMilli(), near.UnixMilli())
	}
}

func TestToneTime(t *testing.T) {
	start := time.UnixMicro(1763900000700123) // the windows cross a wrap of the sweep
	for _, sr := range []int{48000, 44100} {
		tone := NewTone(sr, 2, start)
		buf := make([]int16, 2*sr/50) // 20 ms
		for i := 0; i < 30; i++ {
			at := tone.Next(buf)
			got, ok := ToneTimeInt16(buf, 2, sr)
			want := math.Mod(float64(at.UnixMicro())/1e6, 1)
			if !ok || math.Abs(ToneOffset(got, want)) > 0.0002 {
				t.Fatalf("sr %d chunk %d: got %.6f %v, want %.6f", sr, i, got, ok, want)
			}
		}
	}
	// Longer windows, some across the wrap of the sweep.
	tone := NewTone(48000, 1, start)
	for _, win := range []int{4800, 9600} {
		buf := make([]int16, win)
		for i := 0; i < 8; i++ {
			at := tone.Next(buf)
			got, ok := ToneTimeInt16(buf, 1, 48000)
			want := math.Mod(float64(at.UnixMicro())/1e6, 1)
			if !ok || math.Abs(ToneOffset(got, want)) > 0.0002 {
				t.Fatalf("window %d #%d: got %.6f %v, want %.6f", win, i, got, ok, want)
			}
		}
	}
	silence := make([]float32, 960)
	if _, ok := ToneTime(silence, 48000); ok {
		t.Error("silence read as the tone")
	}
	noise := make([]float32, 960)
	rng := rand.New(rand.NewSource(2))
	for i := range noise {
		noise[i] = float32(rng.NormFloat64())
	}
	if _, ok := ToneTime(noise, 48000); ok {
		t.Error("noise read as the tone")
	}
	if _, ok := ToneTime(make([]float32, 100), 48000); ok {
		t.Error("short window accepted")
	}
	if d := ToneOffset(0.95, 0.05); math.Abs(d+0.1) > 1e-9 {
		t.Errorf("ToneOffset wrap: %v", d)
	}
}
