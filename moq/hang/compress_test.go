package hang

import (
	"bytes"
	"errors"
	"testing"
)

func TestDeflateRoundTrip(t *testing.T) {
	var d Deflater
	var z Inflater
	frames := [][]byte{read(t, "catalog.json"), read(t, "bbb.json"), []byte(`{"video":null}`), read(t, "catalog.json")}
	for i, f := range frames {
		c, err := d.Frame(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.HasSuffix(c, syncMarker) {
			t.Errorf("frame %d keeps the sync marker", i)
		}
		got, err := z.Frame(c)
		if err != nil || !bytes.Equal(got, f) {
			t.Fatalf("frame %d: %q %v", i, got, err)
		}
		if i == 3 && len(c) >= len(f)/4 {
			t.Errorf("a repeated frame compressed to %d of %d bytes: later frames should use the earlier ones", len(c), len(f))
		}
	}
	if _, err := Parse(frames[0]); err != nil {
		t.Fatal(err)
	}
}

func TestInflateErrors(t *testing.T) {
	var z Inflater
	if _, err := z.Frame([]byte{0xff, 0xff, 0xff}); !errors.Is(err, ErrMalformed) {
		t.Errorf("garbage: %v", err)
	}
	// A bomb: a small frame that inflates beyond the limit.
	var d Deflater
	bomb, _ := d.Frame(make([]byte, MaxInflatedGroup+10))
	var z2 Inflater
	if _, err := z2.Frame(bomb); !errors.Is(err, ErrTooLarge) {
		t.Errorf("bomb: %v", err)
	}
	var z4 Inflater
	var d4 Deflater
	for i := 0; i <= MaxCompressedFrames; i++ {
		c, _ := d4.Frame([]byte("x"))
		if _, err := z4.Frame(c); err != nil {
			if i != MaxCompressedFrames || !errors.Is(err, ErrTooLarge) {
				t.Fatalf("frame %d: %v", i, err)
			}
		}
	}
	var z3 Inflater
	if _, err := z3.Frame(make([]byte, MaxCompressedGroup)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge frame: %v", err)
	}
}

func FuzzInflate(f *testing.F) {
	var d Deflater
	a, _ := d.Frame(read(f, "catalog.json"))
	b, _ := d.Frame(read(f, "old.json"))
	f.Add(a, b)
	f.Add([]byte{0}, []byte{1, 2})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var z Inflater
		if out, err := z.Frame(a); err == nil {
			if len(out) > MaxInflatedGroup {
				t.Fatal("over the limit")
			}
			_, _ = z.Frame(b)
		}
	})
}
