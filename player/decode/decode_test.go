package decode

import (
	"encoding/binary"
	"errors"
	"image"
	"math"
	"testing"
	"time"

	"github.com/tributary-live/tributary/player/codec"
)

const frameDur = time.Second / 30

// checkI420 compares a decoded picture with ffmpeg's decode of frame i.
func checkI420(t *testing.T, img image.Image, raw []byte, i, w, h int) {
	t.Helper()
	y, ok := img.(*image.YCbCr)
	if !ok {
		t.Fatalf("frame %d is %T, want *image.YCbCr", i, img)
	}
	if b := y.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("frame %d is %v, want %dx%d", i, b, w, h)
	}
	frameSize := w*h + 2*((w+1)/2)*((h+1)/2)
	want := raw[i*frameSize : i*frameSize+w*h]
	for row := range h {
		got := y.Y[row*y.YStride : row*y.YStride+w]
		if string(got) != string(want[row*w:(row+1)*w]) {
			t.Fatalf("frame %d row %d of the luma plane differs from ffmpeg's decode", i, row)
		}
	}
	cw := (w + 1) / 2
	wantCb := raw[i*frameSize+w*h : i*frameSize+w*h+cw*((h+1)/2)]
	if string(y.Cb[:cw]) != string(wantCb[:cw]) {
		t.Fatalf("frame %d chroma differs", i)
	}
}

func TestH264AnnexB(t *testing.T) {
	const w, h, n = 320, 240, 30
	aus, raw := h264Clip(t, w, h, n, 10)
	if len(aus) != n {
		t.Fatalf("%d access units, want %d", len(aus), n)
	}
	d, err := NewVideo("avc1.42e01f", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	got := 0
	for i, au := range aus {
		frames, err := d.Decode(au, time.Duration(i)*frameDur)
		if err != nil {
			t.Fatalf("AU %d: %v", i, err)
		}
		for _, f := range frames {
			if f.Timestamp != time.Duration(got)*frameDur {
				t.Fatalf("frame %d has timestamp %v", got, f.Timestamp)
			}
			checkI420(t, f.Image, raw, got, w, h)
			got++
		}
	}
	if got != n {
		t.Fatalf("decoded %d frames of %d: low delay should give one per access unit", got, n)
	}
}

// TestH264AVCC feeds length-prefixed access units with an avcC description,
// the "avc" format of LOC.
func TestH264AVCC(t *testing.T) {
	const w, h, n = 176, 144, 12
	aus, raw := h264Clip(t, w, h, n, 6)
	var sps, pps []byte
	var avcc [][]byte
	for _, au := range aus {
		units, _ := codec.SplitAnnexB(au)
		var out []byte
		for _, u := range units {
			switch codec.NALType(u) {
			case codec.NALSPS:
				sps = u
				continue
			case codec.NALPPS:
				pps = u
				continue
			case codec.NALAUD:
				continue
			}
			out = binary.BigEndian.AppendUint32(out, uint32(len(u)))
			out = append(out, u...)
		}
		avcc = append(avcc, out)
	}
	rec := []byte{1, sps[1], sps[2], sps[3], 0xff, 0xe1}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(sps)))
	rec = append(append(rec, sps...), 1)
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(pps)))
	rec = append(rec, pps...)
	d, err := NewVideo("avc1.64001f", rec)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i, au := range avcc {
		frames, err := d.Decode(au, time.Duration(i)*frameDur)
		if err != nil || len(frames) != 1 {
			t.Fatalf("AU %d: %d frames, %v", i, len(frames), err)
		}
		checkI420(t, frames[0].Image, raw, i, w, h)
	}
}

func TestVPxAV1(t *testing.T) {
	src := []string{"-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30", "-frames:v", "10"}
	tests := []struct {
		codec string
		enc   []string
	}{
		{"vp8", []string{"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"}},
		{"vp09.00.10.08", []string{"-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"}},
		{"av01.0.04M.08", []string{"-c:v", "libaom-av1", "-cpu-used", "8", "-usage", "realtime"}},
	}
	for _, tc := range tests {
		t.Run(tc.codec, func(t *testing.T) {
			frames := ivfFrames(t, append(append([]string{}, src...), tc.enc...)...)
			d, err := NewVideo(tc.codec, nil)
			if errors.Is(err, ErrUnsupported) {
				t.Skipf("%s: %v", tc.codec, err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			got := 0
			for i, f := range frames {
				out, err := d.Decode(f, time.Duration(i)*frameDur)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				for _, v := range out {
					if b := v.Image.Bounds(); b.Dx() != 160 || b.Dy() != 120 {
						t.Fatalf("picture %v", b)
					}
				}
				got += len(out)
			}
			if got < len(frames)-2 {
				t.Fatalf("%d pictures from %d frames (%s)", got, len(frames), d.Codec())
			}
		})
	}
}

// toneFrequency estimates the frequency of a mono or first-channel signal by
// counting zero crossings.
func toneFrequency(pcm []float32, chans, rate int) float64 {
	crossings := 0
	n := len(pcm) / chans
	for i := 1; i < n; i++ {
		if (pcm[(i-1)*chans] < 0) != (pcm[i*chans] < 0) {
			crossings++
		}
	}
	return float64(crossings) / 2 / (float64(n) / float64(rate))
}

func TestAACADTS(t *testing.T) {
	dir := t.TempDir()
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "1", "-ac", "2", "-c:a", "aac", "-b:a", "96k", "-f", "adts", dir+"/a.aac")
	data := readFile(t, dir+"/a.aac")
	frames, conf, err := codec.SplitADTS(data)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		desc []byte
		feed func(i int) []byte
	}{
		{"ADTS frames, no description", nil, func(i int) []byte {
			// Re-cut the stream into whole ADTS frames.
			return adtsFrame(data, i)
		}},
		{"raw frames with AudioSpecificConfig", []byte{0x11, 0x90}, func(i int) []byte { return frames[i] }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := NewAudio("mp4a.40.2", tc.desc, conf.SampleRate, conf.Channels)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			var pcm []float32
			for i := range frames {
				out, err := d.Decode(tc.feed(i), time.Duration(i)*1024*time.Second/48000)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				for _, a := range out {
					if a.Channels != 2 || a.SampleRate != 48000 {
						t.Fatalf("PCM %d ch %d Hz", a.Channels, a.SampleRate)
					}
					pcm = append(pcm, a.Samples...)
				}
			}
			if n := len(pcm) / 2; n < 47000 {
				t.Fatalf("%d samples per channel, want about 48000", n)
			}
			if f := toneFrequency(pcm[4096:], 2, 48000); math.Abs(f-440) > 5 {
				t.Fatalf("tone at %.1f Hz, want 440", f)
			}
		})
	}
}

func adtsFrame(data []byte, i int) []byte {
	for ; i > 0; i-- {
		h, _ := codec.ParseADTS(data)
		data = data[h.FrameLen:]
	}
	h, _ := codec.ParseADTS(data)
	return data[:h.FrameLen]
}

func TestOpus(t *testing.T) {
	packets := oggPackets(t, "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000", "-t", "1", "-ac", "2", "-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20")
	d, err := NewAudio("opus", nil, 48000, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var pcm []float32
	for i, p := range packets {
		out, err := d.Decode(p, time.Duration(i)*20*time.Millisecond)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		for _, a := range out {
			pcm = append(pcm, a.Samples...)
		}
	}
	if n := len(pcm) / 2; n < 47000 {
		t.Fatalf("%d samples per channel", n)
	}
	if f := toneFrequency(pcm[9600:], 2, 48000); math.Abs(f-1000) > 10 {
		t.Fatalf("tone at %.1f Hz, want 1000", f)
	}
}

// TestBadInput: corrupt, truncated and unsupported input give errors, never
// a crash, and the decoder keeps decoding what follows.
func TestBadInput(t *testing.T) {
	aus, _ := h264Clip(t, 160, 120, 20, 10)
	d, err := NewVideo("avc1.42e01f", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	good := 0
	for i, au := range aus {
		in := append([]byte(nil), au...)
		switch i {
		case 3: // corrupt slice data
			for j := len(in) / 2; j < len(in); j += 3 {
				in[j] ^= 0x5a
			}
		case 4: // truncated
			in = in[:len(in)/3]
		case 5: // garbage without start codes, read as length prefixes
			in = []byte{0, 0, 7, 0xff, 1, 2, 3}
		case 6: // empty
			in = nil
		}
		out, _ := d.Decode(in, time.Duration(i)*frameDur)
		if i >= 10 {
			good += len(out)
		}
	}
	if good != 10 {
		t.Fatalf("after bad input, %d of the 10 frames of the next group decoded", good)
	}
	if _, err := d.Decode([]byte{0, 0, 7, 0xff, 1}, 0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated AVCC: %v, want ErrCorrupt", err)
	}

	for _, c := range []string{"mp3", "hvc9.1", "flac", ""} {
		if _, err := NewVideo(c, nil); !errors.Is(err, ErrUnsupported) {
			t.Errorf("NewVideo(%q): %v, want ErrUnsupported", c, err)
		}
		if _, err := NewAudio(c, nil, 48000, 2); !errors.Is(err, ErrUnsupported) {
			t.Errorf("NewAudio(%q): %v, want ErrUnsupported", c, err)
		}
	}
	if _, err := NewVideo("avc1.64001f", []byte{1, 2, 3}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("bad avcC: %v, want ErrBadConfig", err)
	}
	if _, err := NewAudio("mp4a.40.2", []byte{0xff}, 0, 0); !errors.Is(err, ErrBadConfig) {
		t.Errorf("bad ASC: %v, want ErrBadConfig", err)
	}
	o, _ := NewAudio("opus", nil, 48000, 2)
	for _, p := range [][]byte{nil, {0xff}, {0xfc, 0xff, 0xff, 0xff}, make([]byte, 2000)} {
		if _, err := o.Decode(p, 0); err == nil && len(p) == 0 {
			t.Errorf("Opus packet %x: no error", p)
		}
	}
	a, _ := NewAudio("mp4a.40.2", []byte{0x11, 0x90}, 48000, 2)
	defer a.Close()
	if _, err := a.Decode([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 0); !errors.Is(err, ErrCorrupt) {
		t.Errorf("garbage AAC: %v, want ErrCorrupt", err)
	}
}

func TestFamily(t *testing.T) {
	for in, want := range map[string]string{
		"avc1.64001f": "h264", "avc3.42e01e": "h264", "hev1.1.6.L93.B0": "hevc", "vp8": "vp8",
		"vp09.00.10.08": "vp9", "av01.0.04M.08": "av1", "mp4a.40.2": "aac", "Opus": "opus", "flac": "flac",
	} {
		if got := Family(in); got != want {
			t.Errorf("Family(%q) = %q, want %q", in, got, want)
		}
	}
}
