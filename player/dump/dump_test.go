package dump

import (
	"encoding/binary"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestWriter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	w, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewYCbCr(image.Rect(0, 0, 16, 8), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = byte(i)
	}
	w.Picture(1, img)
	w.Picture(2, img)
	pcm := []float32{0, 0.5, -0.5, 1, -1, 2} // 3 stereo frames; 2 is clipped
	if err := w.Audio(pcm, 48000, 2); err != nil {
		t.Fatal(err)
	}
	if err := w.Audio(pcm, 44100, 2); err != nil { // another format: skipped
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"frame-000001.png", "frame-000002.png"} {
		f, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(f)
		f.Close()
		if err != nil || got.Bounds() != img.Bounds() {
			t.Fatalf("%s: %v %v", n, got.Bounds(), err)
		}
	}
	wav, err := os.ReadFile(filepath.Join(dir, "audio.wav"))
	if err != nil {
		t.Fatal(err)
	}
	if len(wav) != 44+12 || string(wav[:4]) != "RIFF" || binary.LittleEndian.Uint32(wav[24:]) != 48000 ||
		binary.LittleEndian.Uint16(wav[22:]) != 2 || binary.LittleEndian.Uint32(wav[40:]) != 12 {
		t.Fatalf("WAV header % x", wav[:44])
	}
	if v := int16(binary.LittleEndian.Uint16(wav[44+2*5:])); v != 32767 {
		t.Fatalf("clipped sample %d, want 32767", v)
	}
}
