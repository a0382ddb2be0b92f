package codec

import (
	"bytes"
	"testing"
)

func FuzzSplitAnnexB(f *testing.F) {
	f.Add(readFile(f, "qcif.h264")[:200])
	f.Add([]byte{0, 0, 0, 1, 0x67, 0, 0, 1, 0x68, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		units, err := SplitAnnexB(b)
		if err != nil {
			return
		}
		if len(units) > MaxNALUnits {
			t.Fatalf("%d units", len(units))
		}
		// Re-joining and splitting again is stable for units without
		// trailing zeros or embedded start codes.
		again, err := SplitAnnexB(JoinAnnexB(nil, units...))
		if err != nil || len(again) > len(units)*2+1 {
			t.Fatalf("re-split: %d units, %v", len(again), err)
		}
	})
}

func FuzzSplitAVCC(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, 0x65, 0x88, 0, 0, 0, 1, 0x41}, 4)
	f.Add([]byte{2, 0x65, 0x88}, 1)
	f.Fuzz(func(t *testing.T, b []byte, size int) {
		units, err := SplitAVCC(b, size)
		if err != nil {
			return
		}
		total := 0
		for _, u := range units {
			total += len(u) + size
		}
		if total > len(b) {
			t.Fatalf("units cover %d bytes of %d", total, len(b))
		}
		out, err := ToAnnexB(nil, b, size)
		if err != nil && !IsAnnexB(b) {
			t.Fatalf("ToAnnexB failed after SplitAVCC succeeded: %v", err)
		}
		_ = out
	})
}

func FuzzParseAVCConfig(f *testing.F) {
	f.Add([]byte{1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 4, 0x67, 0x42, 0xc0, 0x1e, 1, 0, 2, 0x68, 0xce})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseAVCConfig(b)
		if err != nil {
			return
		}
		if c.LengthSize != 1 && c.LengthSize != 2 && c.LengthSize != 4 {
			t.Fatalf("length size %d", c.LengthSize)
		}
		for _, s := range append(c.SPS, c.PPS...) {
			if !bytes.Contains(b, s) {
				t.Fatal("parameter set not from the input")
			}
		}
	})
}

func FuzzParseSPS(f *testing.F) {
	f.Add(readFile(f, "sps1080.bin"))
	units, _ := SplitAnnexB(readFile(f, "qcif.h264"))
	f.Add(units[0])
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSPS(b)
		if err != nil {
			return
		}
		if s.Width <= 0 || s.Height <= 0 || s.Width > MaxPictureSide || s.Height > 2*MaxPictureSide {
			t.Fatalf("size %dx%d", s.Width, s.Height)
		}
	})
}

func FuzzSplitADTS(f *testing.F) {
	f.Add(readFile(f, "tone.aac")[:300])
	f.Fuzz(func(t *testing.T, b []byte) {
		frames, conf, err := SplitADTS(b)
		if err != nil {
			return
		}
		if len(frames) > 0 && (conf.SampleRate <= 0 || conf.ObjectType < 1) {
			t.Fatalf("config %+v", conf)
		}
		if len(frames) > 0 {
			h, err := ParseADTS(b)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseASC(h.ASC()); err != nil {
				t.Fatalf("ASC of a valid header: %v", err)
			}
		}
	})
}

func FuzzParseASC(f *testing.F) {
	f.Add([]byte{0x11, 0x88})
	f.Add([]byte{0x12, 0x10})
	f.Add([]byte{0xf8, 0x80, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseASC(b)
		if err != nil {
			return
		}
		if c.SampleRate <= 0 || c.Channels < 0 || c.Channels > 8 {
			t.Fatalf("config %+v", c)
		}
	})
}
