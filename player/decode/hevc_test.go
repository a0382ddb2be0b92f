package decode

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tributary-live/tributary/player/codec"
)

// TestHEVCAnnexB decodes an HEVC stream with in-band parameter sets, cut
// into access units at each delimiter (NAL type 35).
func TestHEVCAnnexB(t *testing.T) {
	out := filepath.Join(t.TempDir(), "v.hevc")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=30", "-frames:v", "10", "-c:v", "libx265",
		"-preset", "ultrafast", "-x265-params", "bframes=0:log-level=error", "-bsf:v", "hevc_metadata=aud=insert", "-f", "hevc", out)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	units, err := codec.SplitAnnexB(data)
	if err != nil {
		t.Fatal(err)
	}
	var aus [][]byte
	var cur [][]byte
	for _, u := range units {
		if (u[0]>>1)&0x3f == 35 && len(cur) > 0 {
			aus = append(aus, codec.JoinAnnexB(nil, cur...))
			cur = nil
		}
		cur = append(cur, u)
	}
	aus = append(aus, codec.JoinAnnexB(nil, cur...))
	d, err := NewVideo("hev1.1.6.L93.B0", nil)
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
			if b := f.Image.Bounds(); b.Dx() != 160 || b.Dy() != 120 {
				t.Fatalf("picture %v", b)
			}
		}
		got += len(frames)
	}
	if got < len(aus)-2 || len(aus) != 10 {
		t.Fatalf("%d pictures from %d access units", got, len(aus))
	}
}
