package loc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"testing"
	"time"
)

// The example encodings of draft-ietf-moq-transport-18, Section 1.4.1.
func TestVarintExamples(t *testing.T) {
	cases := []struct {
		hex string
		v   uint64
	}{
		{"25", 37},
		{"8025", 37},
		{"bbbd", 15293},
		{"ed7f3e7d", 226442877},
		{"faa1a0e403d8", 2893212287960},
		{"fc8998abc66bc0", 151288809941952},
		{"fefa318fa8e3ca11", 70423237261249041},
		{"ffffffffffffffffff", 18446744073709551615},
	}
	for _, c := range cases {
		b, _ := hex.DecodeString(c.hex)
		v, n, err := readVarint(b)
		if err != nil || v != c.v || n != len(b) {
			t.Errorf("readVarint(%s) = %d, %d, %v; want %d, %d", c.hex, v, n, err, c.v, len(b))
		}
		if _, _, err := readVarint(b[:len(b)-1]); len(b) > 1 && err == nil {
			t.Errorf("readVarint(%s truncated) gave no error", c.hex)
		}
		enc := appendVarint(nil, c.v)
		if v2, n2, _ := readVarint(enc); v2 != c.v || n2 != len(enc) {
			t.Errorf("round trip of %d gave %d", c.v, v2)
		}
	}
	for shift := 0; shift < 64; shift++ {
		for _, v := range []uint64{1<<shift - 1, 1 << shift} {
			enc := appendVarint(nil, v)
			if got, n, err := readVarint(enc); err != nil || got != v || n != len(enc) {
				t.Fatalf("round trip of %d: %d %d %v", v, got, n, err)
			}
		}
	}
}

var propCases = []struct {
	name  string
	props Properties
	wire  string // hex, "" to skip the exact-bytes check
}{
	{name: "empty", props: Properties{}, wire: ""},
	{name: "timestamp", props: Properties{Timestamp: 1, HasTimestamp: true}, wire: "1001"},
	{
		name:  "video keyframe",
		props: Properties{Timestamp: 1700000000000000, HasTimestamp: true, FrameMarking: NewFrameMarking(true), VideoConfig: []byte{1, 2, 3}},
		// 0x09 len 1 0xe8 ; delta 4 (0x0d) len 3 01 02 03 ; delta 3 (0x10) varint 1700000000000000
		wire: "0901e804030102030" + "3" + hex.EncodeToString(appendVarint(nil, 1700000000000000)),
	},
	{
		name:  "audio",
		props: Properties{Timestamp: 42, HasTimestamp: true, AudioLevel: NewAudioLevel(true, 30), HasAudioLevel: true, AudioConfig: []byte{9}},
		wire:  "0c809e030109012a",
	},
	{
		name:  "timescale and extra",
		props: Properties{Timestamp: 90000, HasTimestamp: true, Timescale: 90000, Extra: []Property{{Type: 0x3a, Value: 7}, {Type: 0x3b, Bytes: []byte("hi")}}},
	},
}

func TestPropertiesRoundTrip(t *testing.T) {
	for _, c := range propCases {
		t.Run(c.name, func(t *testing.T) {
			b, err := c.props.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if c.wire != "" && hex.EncodeToString(b) != c.wire {
				t.Errorf("wire %x, want %s", b, c.wire)
			}
			got, err := ParseProperties(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(c.props)) {
				t.Errorf("got %+v, want %+v", got, c.props)
			}
			frame, err := AppendFrame(nil, &c.props, []byte("payload"))
			if err != nil {
				t.Fatal(err)
			}
			fp, payload, err := ParseFrame(frame)
			if err != nil || string(payload) != "payload" || !reflect.DeepEqual(normalize(fp), normalize(c.props)) {
				t.Errorf("frame: %+v %q %v", fp, payload, err)
			}
		})
	}
}

func normalize(p Properties) Properties {
	if len(p.Extra) == 0 {
		p.Extra = nil
	}
	for i := range p.Extra {
		if len(p.Extra[i].Bytes) == 0 {
			p.Extra[i].Bytes = nil
		}
	}
	return p
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		want error
	}{
		{"truncated type", "ff00", ErrMalformed},
		{"truncated value", "10", ErrMalformed},
		{"truncated bytes", "0d0501", ErrMalformed},
		{"repeated timestamp", "10011000" + "00", ErrMalformed},
		{"zero timescale", "0800", ErrMalformed},
		{"frame marking too long", "0905" + "0102030405", ErrMalformed},
		{"frame marking empty", "0900", ErrMalformed},
		{"audio level too big", "0c" + "8100", ErrMalformed},
		{"value too long", "0d" + "c10000", ErrTooLarge},
		{"type overflow", "3b00" + "ffffffffffffffffff" + "00", ErrMalformed},
	}
	for _, c := range cases {
		b, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseProperties(b); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
	}
	if _, _, err := ParseFrame([]byte{5, 0x10}); !errors.Is(err, ErrMalformed) {
		t.Errorf("short frame: %v", err)
	}
	many := []byte{}
	for i := 0; i <= MaxExtra; i++ {
		if i == 0 {
			many = append(many, 0x38, 0)
		} else {
			many = append(many, 0, 0)
		}
	}
	if _, err := ParseProperties(many); !errors.Is(err, ErrTooLarge) {
		t.Errorf("too many extras: %v", err)
	}
}

func TestMarshalErrors(t *testing.T) {
	p := Properties{VideoConfig: make([]byte, MaxValueLength+1)}
	if _, err := p.Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long config: %v", err)
	}
	p = Properties{Extra: []Property{{Type: TypeTimestamp, Value: 1}}}
	if _, err := p.Marshal(); err == nil {
		t.Error("extra of a known type accepted")
	}
}

func TestHelpers(t *testing.T) {
	var p Properties
	now := time.UnixMicro(1763900000123456)
	p.SetTime(now)
	if got, ok := p.Time(); !ok || !got.Equal(now) {
		t.Errorf("Time() = %v %v", got, ok)
	}
	p.Timescale = 90000
	if _, ok := p.Time(); ok {
		t.Error("Time() ok with a timescale")
	}
	if !NewFrameMarking(true).Independent() || NewFrameMarking(false).Independent() {
		t.Error("frame marking independence")
	}
	if NewFrameMarking(false).Discardable() || NewFrameMarking(true).TemporalID() != 0 {
		t.Error("frame marking bits")
	}
	l := NewAudioLevel(true, 200)
	if !l.Voice() || l.MinusDBov() != 127 || NewAudioLevel(false, -3).MinusDBov() != 0 {
		t.Errorf("audio level %v", l)
	}
}

func FuzzParseProperties(f *testing.F) {
	for _, c := range propCases {
		b, _ := c.props.Marshal()
		f.Add(b)
	}
	f.Add([]byte{0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProperties(b)
		if err != nil {
			return
		}
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("re-marshal: %v", err)
		}
		p2, err := ParseProperties(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(normalize(p), normalize(p2)) {
			t.Fatalf("round trip changed %+v to %+v", p, p2)
		}
	})
}

func FuzzParseFrame(f *testing.F) {
	for _, c := range propCases {
		b, _ := AppendFrame(nil, &c.props, []byte{0, 0, 0, 1, 0x65})
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, payload, err := ParseFrame(b)
		if err != nil {
			return
		}
		out, err := AppendFrame(nil, &p, payload)
		if err != nil {
			t.Fatal(err)
		}
		if _, payload2, err := ParseFrame(out); err != nil || !bytes.Equal(payload, payload2) {
			t.Fatalf("frame round trip: %v", err)
		}
	})
}

func TestWire(t *testing.T) {
	for _, c := range propCases {
		wp, err := c.props.Wire()
		if err != nil {
			t.Fatal(err)
		}
		got, err := FromWire(wp)
		if err != nil || !reflect.DeepEqual(normalize(got), normalize(c.props)) {
			t.Errorf("%s: %+v %v", c.name, got, err)
		}
	}
}
