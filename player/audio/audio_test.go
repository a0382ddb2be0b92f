package audio

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var capturePath string

// TestMain points ALSA at a configuration whose default device is the 'file'
// plugin, so oto's real output lands in a file the tests read.
func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "tributary-audio")
	if err != nil {
		panic(err)
	}
	// A FIFO, read as the device writes: the file plugin writes silence
	// unpaced whenever nothing plays, which would fill a disk.
	capturePath = filepath.Join(home, "out.fifo")
	if err := syscall.Mkfifo(capturePath, 0o600); err != nil {
		panic(err)
	}
	dev = startDevice(capturePath)
	conf := `pcm.!default { type file; slave.pcm "null"; file "` + capturePath + `"; format "raw" }` + "\n"
	if err := os.WriteFile(filepath.Join(home, ".asoundrc"), []byte(conf), 0o600); err != nil {
		panic(err)
	}
	os.Setenv("HOME", home)
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

func tone(freq float64, rate, channels int, d time.Duration) []float32 {
	n := int(d.Seconds() * float64(rate))
	out := make([]float32, n*channels)
	for i := range n {
		v := float32(0.5 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		for c := range channels {
			out[i*channels+c] = v
		}
	}
	return out
}

var dev *device

// device reads oto's float32 stereo output from the FIFO and keeps the
// non-silent frames (at most 10 s), draining the rest.
type device struct {
	mu  sync.Mutex
	pcm []float32
}

func startDevice(path string) *device {
	d := &device{}
	go func() {
		f, err := os.Open(path) // blocks until ALSA opens the FIFO
		if err != nil {
			return
		}
		defer f.Close()
		buf := make([]byte, 1<<16)
		var rest []byte
		for {
			n, err := f.Read(buf)
			data := append(rest, buf[:n]...)
			d.mu.Lock()
			i := 0
			for ; i+8 <= len(data); i += 8 {
				l := math.Float32frombits(binary.LittleEndian.Uint32(data[i:]))
				r := math.Float32frombits(binary.LittleEndian.Uint32(data[i+4:]))
				if (l != 0 || r != 0) && len(d.pcm) < 2*10*Rate {
					d.pcm = append(d.pcm, l, r)
				}
			}
			d.mu.Unlock()
			rest = append(rest[:0], data[i:]...)
			if err != nil {
				return
			}
		}
	}()
	return d
}

func (d *device) samples() []float32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]float32(nil), d.pcm...)
}

func TestOutputReachesDevice(t *testing.T) {
	errs := make(chan error, 1)
	o, err := Open(func(err error) { errs <- err })
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer o.Close()
	// 0.5 s of 440 Hz mono at 44.1 kHz, converted to 48 kHz stereo.
	pcm := tone(440, 44100, 1, 500*time.Millisecond)
	start := 10 * time.Second
	for i := 0; i < len(pcm); i += 441 {
		if err := o.Write(pcm[i:i+441], 44100, 1, start+time.Duration(i)*time.Second/44100); err != nil {
			t.Fatal(err)
		}
	}
	var got []float32
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && len(got)/2 < 23000 {
		time.Sleep(10 * time.Millisecond) // polling what the device reader collected
		got = dev.samples()
	}
	if len(got)/2 < 23000 {
		t.Fatalf("%d stereo samples reached the device, want about 24000", len(got)/2)
	}
	crossings := 0
	for i := 2; i < len(got); i += 2 {
		if (got[i-2] < 0) != (got[i] < 0) {
			crossings++
		}
	}
	if f := float64(crossings) / 2 / (float64(len(got)/2) / Rate); math.Abs(f-440) > 10 {
		t.Fatalf("tone at %.1f Hz on the device, want 440", f)
	}
	clock, ok := o.Clock(time.Now())
	if !ok || clock < start || clock > start+time.Second {
		t.Fatalf("audio clock %v (%v), want within the written span", clock, ok)
	}
	select {
	case err := <-errs:
		t.Fatalf("device error: %v", err)
	default:
	}
}

func TestConvert(t *testing.T) {
	in := tone(1000, 24000, 1, 100*time.Millisecond)
	out := Convert(in, 24000, 1)
	if len(out) != 2*4800 {
		t.Fatalf("%d samples, want 9600", len(out))
	}
	for i := 0; i < len(out); i += 2 {
		if out[i] != out[i+1] {
			t.Fatal("mono not duplicated")
		}
	}
	six := make([]float32, 6*10)
	if got := Convert(six, 48000, 6); len(got) != 20 {
		t.Fatalf("5.1 to stereo: %d samples", len(got))
	}
}
