package msf

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The example catalogs of draft-ietf-moq-msf, Sections 5.6.2, 5.6.4 and 5.6.5.
func TestSpecExamples(t *testing.T) {
	cat, delta, err := Parse(read(t, "simulcast.json"))
	if err != nil || delta != nil {
		t.Fatalf("Parse: %v %v", delta, err)
	}
	if len(cat.Tracks) != 4 || cat.Version != "draft-01" || cat.GeneratedAt != 1746104606044 {
		t.Fatalf("catalog %+v", cat)
	}
	a := cat.Tracks[3]
	if a.Kind() != RoleAudio || a.SampleRate != 48000 || a.Channels() != 2 || a.Bitrate != 32000 || a.Packaging != PackagingLOC {
		t.Errorf("audio track %+v", a)
	}
	if v := cat.TracksOf(RoleVideo); len(v) != 3 || v[0].Width != 1920 || v[0].AltGroup != 1 || v[0].Framerate != 30 {
		t.Errorf("video tracks %+v", v)
	}

	_, add, err := Parse(read(t, "delta-add.json"))
	if err != nil || add == nil {
		t.Fatalf("Parse delta: %v", err)
	}
	next, err := Apply(cat, add)
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Tracks) != 6 || next.GeneratedAt != 1746104606045 {
		t.Fatalf("after add: %d tracks", len(next.Tracks))
	}
	if hd, _ := next.Find("", "hd"); hd.Bitrate != 4000000 || hd.Width != 1920 {
		t.Errorf("updated hd %+v", hd)
	}
	if c, ok := next.Find("", "video-720"); !ok || c.Width != 1280 || c.Bitrate != 600000 || c.Codec != "av01" || c.ParentName != "" || !c.IsLive {
		t.Errorf("clone %+v", c)
	}
	if cat.Tracks[0].Bitrate != 5000000 {
		t.Error("Apply modified its base")
	}
	_, rm, err := Parse(read(t, "delta-remove.json"))
	if err != nil {
		t.Fatal(err)
	}
	last, err := Apply(next, rm)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tr := range last.Tracks {
		names = append(names, tr.Name)
	}
	if strings.Join(names, ",") != "hd,sd,audio,video-720" {
		t.Errorf("after remove: %v", names)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	cat := &Catalog{Version: Version, GeneratedAt: 1, Tracks: []Track{
		{Name: "video", Packaging: PackagingLOC, Role: RoleVideo, IsLive: true, Codec: "avc1.42e01f", Width: 1280, Height: 720,
			Framerate: 30, Bitrate: 2500000, RenderGroup: 1, AltGroup: 1, MaxGOPDuration: 2000},
		{Name: "audio", Packaging: PackagingLOC, Role: RoleAudio, IsLive: true, Codec: "opus", SampleRate: 48000, ChannelConfig: "1",
			Bitrate: 64000, RenderGroup: 1, Buffers: &Buffers{Target: 100}},
	}}
	cat.SetInitData(&cat.Tracks[0], "v", []byte{1, 0x42, 0xe0, 0x1f})
	b, err := cat.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCatalog(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cat) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, cat)
	}
	init, err := got.InitData(&got.Tracks[0])
	if err != nil || !bytes.Equal(init, []byte{1, 0x42, 0xe0, 0x1f}) {
		t.Errorf("init data %x %v", init, err)
	}
	if init, err := got.InitData(&got.Tracks[1]); init != nil || err != nil {
		t.Errorf("audio init data %x %v", init, err)
	}
	if !Equal(got, cat) {
		t.Error("Equal is false")
	}
	// Gzip, as MSF_COMPRESSION 1 (Section 12.1).
	plain, err := Decompress(CompressionGZIP, Compress(b))
	if err != nil || !bytes.Equal(plain, b) {
		t.Errorf("gzip round trip: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, json string
		want       error
	}{
		{"not json", `{`, ErrMalformed},
		{"no tracks", `{"version":"draft-01"}`, ErrMalformed},
		{"no version", `{"tracks":[]}`, ErrMalformed},
		{"bad version", `{"version":"v7","tracks":[]}`, ErrVersion},
		{"unnamed", `{"version":"draft-01","tracks":[{"isLive":true}]}`, ErrMalformed},
		{"duplicate", `{"version":"draft-01","tracks":[{"name":"a"},{"name":"a"}]}`, ErrMalformed},
		{"wrong type", `{"version":"draft-01","tracks":[{"name":"a","width":"wide"}]}`, ErrMalformed},
		{"delta with tracks", `{"deltaUpdate":[{"op":"add","tracks":[{"name":"x"}]}],"tracks":[]}`, ErrMalformed},
		{"empty delta", `{"deltaUpdate":[]}`, ErrMalformed},
		{"bad op", `{"deltaUpdate":[{"op":"explode","tracks":[{"name":"x"}]}]}`, ErrMalformed},
		{"op without tracks", `{"deltaUpdate":[{"op":"add","tracks":[]}]}`, ErrMalformed},
		{"track not object", `{"deltaUpdate":[{"op":"add","tracks":[3]}]}`, ErrMalformed},
		{"too large", `{"version":"draft-01","tracks":[],"x":"` + strings.Repeat("a", MaxCatalogSize) + `"}`, ErrTooLarge},
	}
	for _, c := range cases {
		if _, _, err := Parse([]byte(c.json)); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
	var many strings.Builder
	many.WriteString(`{"version":"draft-01","tracks":[`)
	for i := 0; i <= MaxTracks; i++ {
		if i > 0 {
			many.WriteByte(',')
		}
		many.WriteString(`{"name":"t` + strings.Repeat("x", i%3) + string(rune('a'+i%26)) + `","namespace":"` + string(rune('a'+i/26%26)) + string(rune('a'+i/676)) + `"}`)
	}
	many.WriteString(`]}`)
	if _, _, err := Parse([]byte(many.String())); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too many tracks: %v", err)
	}
	if _, err := Decompress(CompressionGZIP, []byte("nope")); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad gzip: %v", err)
	}
	if _, err := Decompress(CompressionGZIP, Compress(make([]byte, MaxCatalogSize+1))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("gzip bomb: %v", err)
	}
	if _, err := Decompress(7, nil); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown compression: %v", err)
	}
}

func TestApplyErrors(t *testing.T) {
	base, err := ParseCatalog(read(t, "simulcast.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []string{
		`{"generatedAt":1,"deltaUpdate":[{"op":"add","tracks":[{"name":"hd"}]}]}`,
		`{"generatedAt":1,"deltaUpdate":[{"op":"add","tracks":[{"isLive":true}]}]}`,
		`{"generatedAt":1,"deltaUpdate":[{"op":"remove","tracks":[{"name":"nope"}]}]}`,
		`{"generatedAt":1,"deltaUpdate":[{"op":"clone","tracks":[{"name":"x"}]}]}`,
		`{"generatedAt":1,"deltaUpdate":[{"op":"clone","tracks":[{"parentName":"nope","name":"x"}]}]}`,
		`{"generatedAt":1,"deltaUpdate":[{"op":"clone","tracks":[{"parentName":"hd","name":"sd"}]}]}`,
		`{"generatedAt":1,"deltaUpdate":[{"op":"update","tracks":[{"name":"nope","bitrate":1}]}]}`,
		`{"generatedAt":1,"deltaUpdate":[{"op":"update","tracks":[{"name":"hd","width":"x"}]}]}`,
		`{"generatedAt":1,"deltaUpdate":[{"op":"update","tracks":[{"parentName":"hd","name":"sd"}]}]}`,
	}
	for _, c := range cases {
		_, d, err := Parse([]byte(c))
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if _, err := Apply(base, d); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v", c, err)
		}
	}
}

func TestReader(t *testing.T) {
	full := read(t, "simulcast.json")
	add := read(t, "delta-add.json")
	rm := read(t, "delta-remove.json")
	var r Reader
	if _, _, err := r.Push(5, 1, add); err == nil {
		t.Error("delta before any catalog accepted")
	}
	if _, _, err := r.Push(5, 0, add); err == nil {
		t.Error("delta as object 0 accepted")
	}
	c, changed, err := r.Push(5, 0, full)
	if err != nil || !changed || len(c.Tracks) != 4 {
		t.Fatalf("full: %v %v", changed, err)
	}
	if _, _, err := r.Push(5, 2, rm); err == nil {
		t.Error("skipped delta accepted")
	}
	if c, changed, err = r.Push(5, 1, add); err != nil || !changed || len(c.Tracks) != 6 {
		t.Fatalf("add: %v %v", changed, err)
	}
	if _, changed, _ := r.Push(5, 1, add); changed {
		t.Error("repeated delta applied twice")
	}
	if _, changed, _ := r.Push(4, 3, rm); changed {
		t.Error("stale group applied")
	}
	if _, _, err := r.Push(5, 3, full); err == nil {
		t.Error("independent catalog as a later object accepted")
	}
	if c, changed, err = r.Push(5, 2, rm); err != nil || !changed || len(c.Tracks) != 4 {
		t.Fatalf("remove: %v %v", changed, err)
	}
	if c, _, err = r.Push(6, 0, full); err != nil || len(c.Tracks) != 4 || r.Catalog() != c {
		t.Fatalf("new group: %v", err)
	}
}

func TestNewOp(t *testing.T) {
	op, err := NewOp(OpUpdate, map[string]any{"name": "hd", "bitrate": 1000})
	if err != nil {
		t.Fatal(err)
	}
	d := &Delta{GeneratedAt: 2, Ops: []Op{op}}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	_, d2, err := Parse(b)
	if err != nil || d2 == nil {
		t.Fatal(err)
	}
	base, _ := ParseCatalog(read(t, "simulcast.json"))
	next, err := Apply(base, d2)
	if err != nil {
		t.Fatal(err)
	}
	if hd, _ := next.Find("", "hd"); hd.Bitrate != 1000 {
		t.Errorf("bitrate %d", hd.Bitrate)
	}
	if _, err := (&Delta{}).Marshal(); err == nil {
		t.Error("empty delta marshalled")
	}
	var chk map[string]any
	if err := json.Unmarshal(b, &chk); err != nil || chk["tracks"] != nil {
		t.Errorf("delta JSON %s", b)
	}
}

func TestKindAndChannels(t *testing.T) {
	cases := []struct {
		tr   Track
		kind string
		ch   int
	}{
		{Track{Codec: "avc1.64001f"}, RoleVideo, 0},
		{Track{Codec: "opus", ChannelConfig: "mono"}, RoleAudio, 1},
		{Track{Codec: "mp4a.40.2", ChannelConfig: "stereo"}, RoleAudio, 2},
		{Track{Width: 10}, RoleVideo, 0},
		{Track{SampleRate: 8000, ChannelConfig: "6"}, RoleAudio, 6},
		{Track{Role: RoleAudio, Codec: "avc1", ChannelConfig: "5.1"}, RoleAudio, 0},
		{Track{}, "", 0},
	}
	for _, c := range cases {
		if c.tr.Kind() != c.kind || c.tr.Channels() != c.ch {
			t.Errorf("%+v: kind %q channels %d", c.tr, c.tr.Kind(), c.tr.Channels())
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"simulcast.json", "delta-add.json", "delta-remove.json"} {
		f.Add(read(f, n))
	}
	f.Add([]byte(`{"version":"draft-01","tracks":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cat, delta, err := Parse(b)
		if err != nil {
			return
		}
		if cat != nil {
			out, err := cat.Marshal()
			if err != nil {
				t.Fatalf("re-marshal: %v", err)
			}
			if _, err := ParseCatalog(out); err != nil {
				t.Fatalf("re-parse: %v\n%s", err, out)
			}
			for i := range cat.Tracks {
				_, _ = cat.InitData(&cat.Tracks[i])
				_ = cat.Tracks[i].Kind()
				_ = cat.Tracks[i].Channels()
			}
		}
		if delta != nil {
			if _, err := delta.Marshal(); err != nil {
				t.Fatalf("re-marshal delta: %v", err)
			}
		}
	})
}

func FuzzApply(f *testing.F) {
	for _, n := range []string{"delta-add.json", "delta-remove.json"} {
		f.Add(read(f, n))
	}
	base, err := ParseCatalog(read(f, "simulcast.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, d, err := Parse(b)
		if err != nil || d == nil {
			return
		}
		next, err := Apply(base, d)
		if err != nil {
			return
		}
		if err := validateTracks(next.Tracks); err != nil {
			t.Fatalf("Apply produced an invalid catalog: %v", err)
		}
		if len(base.Tracks) != 4 {
			t.Fatal("Apply modified its base")
		}
	})
}
