package hang

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tributary-live/tributary/moq/msf"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The examples of draft-lcurley-moq-hang, Sections 4.2 and 4.3.
func TestParseSpecExample(t *testing.T) {
	cat, err := Parse(read(t, "catalog.json"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range cat.Tracks {
		names = append(names, tr.Name+":"+tr.Packaging)
	}
	// cmaf and the rendition of another broadcast are left out.
	if got := strings.Join(names, ","); got != "480p:hang-loc,720p:hang-legacy,stereo:hang-legacy" {
		t.Fatalf("tracks %s", got)
	}
	v, _ := cat.Find("", "720p")
	if v.Kind() != msf.RoleVideo || v.Width != 1280 || v.Height != 720 || v.Framerate != 30 || v.Bitrate != 6000000 ||
		v.AltGroup != 1 || v.RenderGroup != 1 || v.DisplayWidth != 1280 || v.Buffers == nil || v.Buffers.Min != 33 || !v.IsLive {
		t.Errorf("video %+v", v)
	}
	a, _ := cat.Find("", "stereo")
	if a.Kind() != msf.RoleAudio || a.SampleRate != 48000 || a.Channels() != 2 || a.AltGroup != 2 || a.Codec != "opus" {
		t.Errorf("audio %+v", a)
	}
}

func TestParseStringContainerAndDescription(t *testing.T) {
	cat, err := Parse(read(t, "bbb.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Tracks) != 2 {
		t.Fatalf("%d tracks", len(cat.Tracks))
	}
	v := cat.Tracks[0]
	init, err := cat.InitData(&v)
	want, _ := hex.DecodeString("0164001fffe100196764001fac2484014016ec0440000003004000000c23c60c9201000568ee32c8b0")
	if err != nil || !bytes.Equal(init, want) {
		t.Errorf("description %x %v", init, err)
	}
	if cat.Tracks[1].Codec != "mp4a.40.2" || cat.Tracks[1].Packaging != msf.PackagingHangLegacy {
		t.Errorf("audio %+v", cat.Tracks[1])
	}
}

func TestParseOldSchema(t *testing.T) {
	cat, err := Parse(read(t, "old.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Tracks) != 2 || cat.Tracks[0].Name != "video" || cat.Tracks[1].Name != "audio" || cat.Tracks[1].SampleRate != 48000 {
		t.Errorf("tracks %+v", cat.Tracks)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	src := &Catalog{
		Video: &Video{Renditions: map[string]Rendition{"v": {Codec: "avc1.42e01f", CodedWidth: 640, CodedHeight: 360, Container: &Container{Kind: ContainerLOC}}}},
		Audio: &Audio{Renditions: map[string]Rendition{"a": {Codec: "opus", SampleRate: 48000, NumberOfChannels: 1}}},
	}
	b, err := src.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	cat, err := Parse(b)
	if err != nil || len(cat.Tracks) != 2 || cat.Tracks[0].Packaging != msf.PackagingHangLOC || cat.Tracks[1].Packaging != msf.PackagingHangLegacy {
		t.Fatalf("%+v %v", cat, err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, json string
		want       error
	}{
		{"not json", `[`, ErrMalformed},
		{"video not object", `{"video": 3}`, ErrMalformed},
		{"audio not object", `{"audio": "x"}`, ErrMalformed},
		{"bad old list", `{"video": [1]}`, ErrMalformed},
		{"old unnamed", `{"audio": [{"config": {"codec": "opus"}}]}`, ErrMalformed},
		{"bad description", `{"video": {"renditions": {"v": {"codec": "avc1", "description": "zz"}}}}`, ErrMalformed},
		{"empty name", `{"video": {"renditions": {"": {"codec": "avc1"}}}}`, ErrMalformed},
		{"huge", `{"x":"` + strings.Repeat("a", msf.MaxCatalogSize) + `"}`, ErrTooLarge},
		{"long description", `{"video": {"renditions": {"v": {"codec": "avc1", "description": "` + strings.Repeat("00", msf.MaxInitData+1) + `"}}}}`, ErrTooLarge},
	}
	for _, c := range cases {
		if _, err := Parse([]byte(c.json)); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
	if cat, err := Parse([]byte(`{}`)); err != nil || len(cat.Tracks) != 0 {
		t.Errorf("empty catalog: %v", err)
	}
}

// The QUIC varint examples of RFC 9000, Appendix A.1, as legacy timestamps.
func TestLegacyFrame(t *testing.T) {
	cases := []struct {
		hex string
		v   uint64
	}{
		{"c2197c5eff14e88c", 151288809941952652},
		{"9d7f3e7d", 494878333},
		{"7bbd", 15293},
		{"25", 37},
		{"4025", 37},
	}
	for _, c := range cases {
		b, _ := hex.DecodeString(c.hex)
		ts, payload, err := ParseLegacyFrame(append(b, 0xaa))
		if err != nil || ts != c.v || !bytes.Equal(payload, []byte{0xaa}) {
			t.Errorf("%s: %d %x %v", c.hex, ts, payload, err)
		}
		if _, _, err := ParseLegacyFrame(b[:len(b)-1]); err == nil {
			t.Errorf("%s truncated: no error", c.hex)
		}
	}
	for _, v := range []uint64{0, 63, 64, 16383, 16384, 1<<30 - 1, 1 << 30, MaxTimestamp} {
		b, err := AppendLegacyFrame(nil, v, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if ts, p, err := ParseLegacyFrame(b); err != nil || ts != v || string(p) != "x" {
			t.Errorf("round trip %d: %d %v", v, ts, err)
		}
	}
	if _, err := AppendLegacyFrame(nil, MaxTimestamp+1, nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge timestamp: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"catalog.json", "bbb.json", "old.json"} {
		f.Add(read(f, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseHang(b)
		if err != nil {
			return
		}
		cat, err := c.Convert()
		if err != nil {
			return
		}
		for i := range cat.Tracks {
			_, _ = cat.InitData(&cat.Tracks[i])
		}
		if out, err := c.Marshal(); err != nil {
			t.Fatalf("re-marshal: %v", err)
		} else if _, err := ParseHang(out); err != nil {
			t.Fatalf("re-parse: %v\n%s", err, out)
		}
	})
}

func FuzzParseLegacyFrame(f *testing.F) {
	f.Add([]byte{0x25, 0, 0, 0, 1, 0x65})
	f.Add([]byte{0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c})
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, payload, err := ParseLegacyFrame(b)
		if err != nil {
			return
		}
		out, err := AppendLegacyFrame(nil, ts, payload)
		if err != nil {
			t.Fatal(err)
		}
		ts2, p2, err := ParseLegacyFrame(out)
		if err != nil || ts2 != ts || !bytes.Equal(p2, payload) {
			t.Fatalf("round trip: %d %d %v", ts, ts2, err)
		}
	})
}
