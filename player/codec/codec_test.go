package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSplitAnnexBRealStream(t *testing.T) {
	units, err := SplitAnnexB(readFile(t, "qcif.h264"))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	for _, u := range units {
		counts[NALType(u)]++
	}
	// 10 frames, a keyframe every 5: two IDR slices, 8 others, SPS/PPS.
	if counts[NALIDR] != 2 || counts[NALSlice] != 8 || counts[NALSPS] < 1 || counts[NALPPS] < 1 {
		t.Fatalf("NAL unit types %v", counts)
	}
	var sps []byte
	for _, u := range units {
		if NALType(u) == NALSPS {
			sps = u
			break
		}
	}
	s, err := ParseSPS(sps)
	if err != nil {
		t.Fatal(err)
	}
	if s.Width != 176 || s.Height != 144 || s.Profile != 66 {
		t.Fatalf("SPS %+v, want 176x144 baseline", s)
	}
}

func TestParseSPSCropped1080p(t *testing.T) {
	s, err := ParseSPS(readFile(t, "sps1080.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Width != 1920 || s.Height != 1080 || s.Profile != 100 || s.ChromaFormat != 1 {
		t.Fatalf("SPS %+v, want 1920x1080 high 4:2:0", s)
	}
}

func TestAVCCRoundTrip(t *testing.T) {
	units, err := SplitAnnexB(readFile(t, "qcif.h264"))
	if err != nil {
		t.Fatal(err)
	}
	var sps, pps []byte
	var avcc []byte
	for _, u := range units {
		switch NALType(u) {
		case NALSPS:
			sps = u
		case NALPPS:
			pps = u
		}
		avcc = binary.BigEndian.AppendUint32(avcc, uint32(len(u)))
		avcc = append(avcc, u...)
	}
	back, err := SplitAVCC(avcc, 4)
	if err != nil || len(back) != len(units) {
		t.Fatalf("SplitAVCC: %d units, %v", len(back), err)
	}
	annexB, err := ToAnnexB(nil, avcc, 4)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := SplitAnnexB(annexB)
	for i := range units {
		if !bytes.Equal(again[i], units[i]) {
			t.Fatalf("unit %d differs after AVCC -> Annex-B", i)
		}
	}
	// avcC record with one SPS and one PPS.
	rec := []byte{1, sps[1], sps[2], sps[3], 0xff, 0xe1}
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(sps)))
	rec = append(rec, sps...)
	rec = append(rec, 1)
	rec = binary.BigEndian.AppendUint16(rec, uint16(len(pps)))
	rec = append(rec, pps...)
	c, err := ParseAVCConfig(rec)
	if err != nil {
		t.Fatal(err)
	}
	if c.LengthSize != 4 || len(c.SPS) != 1 || len(c.PPS) != 1 || !bytes.Equal(c.SPS[0], sps) || c.Profile != 66 {
		t.Fatalf("config %+v", c)
	}
	for n := range rec {
		if _, err := ParseAVCConfig(rec[:n]); err == nil {
			t.Fatalf("truncated avcC of %d bytes accepted", n)
		}
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name string
		err  error
		f    func() error
	}{
		{"AVCC length past the end", ErrTruncated, func() error { _, err := SplitAVCC([]byte{0, 0, 0, 9, 1, 2}, 4); return err }},
		{"AVCC length field cut", ErrTruncated, func() error { _, err := SplitAVCC([]byte{0, 0, 1}, 4); return err }},
		{"AVCC length size 3", ErrBadConfig, func() error { _, err := SplitAVCC([]byte{0, 0, 1}, 3); return err }},
		{"Annex-B without start code", ErrTruncated, func() error { _, err := SplitAnnexB([]byte{9, 9, 9, 9}); return err }},
		{"SPS that is a PPS", ErrBadSPS, func() error { _, err := ParseSPS([]byte{0x68, 1, 2, 3}); return err }},
		{"SPS cut short", ErrBadSPS, func() error { _, err := ParseSPS([]byte{0x67, 0x64, 0, 0x1f}); return err }},
		{"ADTS without sync", ErrBadAAC, func() error { _, err := ParseADTS([]byte{1, 2, 3, 4, 5, 6, 7}); return err }},
		{"ADTS cut", ErrTruncated, func() error { _, err := ParseADTS([]byte{0xff, 0xf1}); return err }},
		{"ADTS frame past the end", ErrTruncated, func() error {
			_, _, err := SplitADTS(readFile(t, "tone.aac")[:100])
			return err
		}},
		{"ASC empty", ErrBadAAC, func() error { _, err := ParseASC(nil); return err }},
		{"ASC bad rate index", ErrBadAAC, func() error { _, err := ParseASC([]byte{0x16, 0x88}); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.f(); !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
		})
	}
}

func TestADTSRealStream(t *testing.T) {
	frames, conf, err := SplitADTS(readFile(t, "tone.aac"))
	if err != nil {
		t.Fatal(err)
	}
	// 0.25 s at 48 kHz in 1024-sample frames: about 12 frames (plus priming).
	if len(frames) < 11 || conf.SampleRate != 48000 || conf.Channels != 1 || conf.ObjectType != 2 {
		t.Fatalf("%d frames, config %+v", len(frames), conf)
	}
	h, _ := ParseADTS(readFile(t, "tone.aac"))
	asc := h.ASC()
	c, err := ParseASC(asc)
	if err != nil || c != conf {
		t.Fatalf("ASC %x parses as %+v, %v; want %+v", asc, c, err, conf)
	}
	if !bytes.Equal(asc, []byte{0x11, 0x88}) {
		t.Fatalf("ASC %x, want 1188 (AAC LC, 48 kHz, mono)", asc)
	}
}

func TestIsAnnexB(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want bool
	}{
		{[]byte{0, 0, 0, 1, 0x65}, true},
		{[]byte{0, 0, 1, 0x65}, true},
		{[]byte{0, 0, 0, 5, 0x65}, false},
		{[]byte{0, 0}, false},
	} {
		if got := IsAnnexB(tc.in); got != tc.want {
			t.Errorf("IsAnnexB(%x) = %v", tc.in, got)
		}
	}
}
