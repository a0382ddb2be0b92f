package decode

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tributary-live/tributary/player/codec"
)

// ffmpeg runs Debian's ffmpeg binary to make test media; without it the test
// is skipped (or fails under TRIBUTARY_REQUIRE_FIXTURES=1: scripts/deps.sh installs it).
func ffmpeg(t testing.TB, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("TRIBUTARY_REQUIRE_FIXTURES") != "" {
			t.Fatal("ffmpeg not found: run scripts/deps.sh")
		}
		t.Skip("ffmpeg not found: run scripts/deps.sh")
	}
	cmd := exec.Command(bin, append([]string{"-v", "error", "-nostdin", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// h264Clip encodes n frames of the test pattern at w x h as Annex-B with an
// access unit delimiter before each access unit, and returns the access
// units and ffmpeg's own decode of them as raw I420.
func h264Clip(t testing.TB, w, h, n, gop int) (aus [][]byte, raw []byte) {
	t.Helper()
	dir := t.TempDir()
	es := filepath.Join(dir, "v.h264")
	size := itoa(w) + "x" + itoa(h)
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30", "-frames:v", itoa(n),
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-bf", "0", "-g", itoa(gop),
		"-pix_fmt", "yuv420p", "-bsf:v", "h264_metadata=aud=insert", "-f", "h264", es)
	yuv := filepath.Join(dir, "v.yuv")
	ffmpeg(t, "-i", es, "-f", "rawvideo", "-pix_fmt", "yuv420p", yuv)
	data, err := os.ReadFile(es)
	if err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile(yuv)
	if err != nil {
		t.Fatal(err)
	}
	return splitAUs(t, data), raw
}

// splitAUs groups an Annex-B stream into access units at each delimiter.
func splitAUs(t testing.TB, data []byte) [][]byte {
	units, err := codec.SplitAnnexB(append([]byte(nil), data...))
	if err != nil {
		t.Fatal(err)
	}
	var aus [][]byte
	var cur [][]byte
	for _, u := range units {
		if codec.NALType(u) == codec.NALAUD && len(cur) > 0 {
			aus = append(aus, codec.JoinAnnexB(nil, cur...))
			cur = nil
		}
		cur = append(cur, u)
	}
	if len(cur) > 0 {
		aus = append(aus, codec.JoinAnnexB(nil, cur...))
	}
	return aus
}

// ivfFrames encodes with ffmpeg into IVF and returns the frames.
func ivfFrames(t testing.TB, args ...string) [][]byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "v.ivf")
	ffmpeg(t, append(args, "-f", "ivf", out)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 32 || string(b[:4]) != "DKIF" {
		t.Fatal("not an IVF file")
	}
	hdr := int(binary.LittleEndian.Uint16(b[6:]))
	b = b[hdr:]
	var frames [][]byte
	for len(b) >= 12 {
		n := int(binary.LittleEndian.Uint32(b))
		if 12+n > len(b) {
			t.Fatal("truncated IVF frame")
		}
		frames = append(frames, b[12:12+n])
		b = b[12+n:]
	}
	return frames
}

// oggPackets encodes with ffmpeg into Ogg and returns the packets after the
// two header packets.
func oggPackets(t testing.TB, args ...string) [][]byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "a.ogg")
	ffmpeg(t, append(args, "-f", "ogg", out)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var packets [][]byte
	var cur []byte
	for len(b) >= 27 && string(b[:4]) == "OggS" {
		nseg := int(b[26])
		lacing := b[27 : 27+nseg]
		p := 27 + nseg
		for _, l := range lacing {
			cur = append(cur, b[p:p+int(l)]...)
			p += int(l)
			if l < 255 {
				packets = append(packets, cur)
				cur = nil
			}
		}
		b = b[p:]
	}
	if len(packets) < 3 || !bytes.HasPrefix(packets[0], []byte("OpusHead")) {
		t.Fatalf("no Opus packets in the Ogg file (%d packets)", len(packets))
	}
	return packets[2:]
}

func itoa(i int) string { return strconv.Itoa(i) }

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
