package capture

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestPatternSourceUnpaced(t *testing.T) {
	start := time.UnixMilli(1763900000000)
	s := NewPatternSource(320, 240, 30, false, start)
	for i := 0; i < 5; i++ {
		f, release, err := s.Read()
		if err != nil {
			t.Fatal(err)
		}
		st, ok := ReadPattern(f.Image)
		if !ok || st.Frame != uint32(i) || !st.Time(start).Equal(f.Captured.Truncate(time.Millisecond)) {
			t.Errorf("frame %d: %+v %v at %v", i, st, ok, f.Captured)
		}
		release()
	}
	s.Close()
	if _, _, err := s.Read(); !errors.Is(err, ErrClosed) {
		t.Errorf("after close: %v", err)
	}
}

func TestPacedSourcesClose(t *testing.T) {
	v := NewPatternSource(96, 64, 1, true, time.Now())
	if _, _, err := v.Read(); err != nil { // the first tick is immediate
		t.Fatal(err)
	}
	a := NewToneSource(48000, 1, 20*time.Millisecond, true, time.Now())
	f, _, err := a.Read()
	if err != nil || len(f.PCM) != 960 {
		t.Fatalf("tone chunk: %d %v", len(f.PCM), err)
	}
	sec, ok := ToneTimeInt16(f.PCM, 1, 48000)
	if want := math.Mod(float64(f.Captured.UnixMicro())/1e6, 1); !ok || math.Abs(ToneOffset(sec, want)) > 0.001 {
		t.Errorf("tone time %v %v, want %v", sec, ok, want)
	}
	errs := make(chan error, 2)
	go func() { _, _, err := v.Read(); errs <- err }() // blocks about a second
	v.Close()
	a.Close()
	if err := <-errs; !errors.Is(err, ErrClosed) {
		t.Errorf("blocked read: %v", err)
	}
	if _, _, err := a.Read(); !errors.Is(err, ErrClosed) {
		t.Errorf("tone after close: %v", err)
	}
}
