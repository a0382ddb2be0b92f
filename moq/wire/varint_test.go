package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"testing"
)

// TestVarintDraftExamples checks the "Example Integer Encodings" table of
// draft-ietf-moq-transport-18 §1.4.1.
func TestVarintDraftExamples(t *testing.T) {
	for _, c := range []struct {
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
	} {
		b, _ := hex.DecodeString(c.hex)
		v, n, err := ParseVarint(b)
		if err != nil || v != c.v || n != len(b) {
			t.Errorf("ParseVarint(%s) = %d, %d, %v; want %d, %d", c.hex, v, n, err, c.v, len(b))
		}
		rv, err := ReadVarint(bytes.NewReader(b))
		if err != nil || rv != c.v {
			t.Errorf("ReadVarint(%s) = %d, %v", c.hex, rv, err)
		}
		if c.hex != "8025" { // the only non-minimal example
			if got := hex.EncodeToString(AppendVarint(nil, c.v)); got != c.hex {
				t.Errorf("AppendVarint(%d) = %s, want %s", c.v, got, c.hex)
			}
			if VarintLen(c.v) != len(b) {
				t.Errorf("VarintLen(%d) = %d, want %d", c.v, VarintLen(c.v), len(b))
			}
		}
	}
}

func TestVarintBoundaries(t *testing.T) {
	for l := 1; l <= 9; l++ {
		var max uint64 = math.MaxUint64
		if l < 9 {
			max = 1<<(7*l) - 1
		}
		if l == 8 {
			max = 1<<56 - 1
		}
		for _, v := range []uint64{max, max - 1} {
			b := AppendVarint(nil, v)
			if len(b) != l {
				t.Fatalf("len(AppendVarint(%d)) = %d, want %d", v, len(b), l)
			}
			got, n, err := ParseVarint(b)
			if err != nil || got != v || n != l {
				t.Fatalf("round trip %d: %d %d %v", v, got, n, err)
			}
			// Non-minimal encodings are valid (§1.4.1).
			for m := l; m <= 9; m++ {
				nb := appendVarintN(nil, v, m)
				got, n, err := ParseVarint(nb)
				if err != nil || got != v || n != m {
					t.Fatalf("%d in %d bytes: %d %d %v", v, m, got, n, err)
				}
			}
		}
	}
}

func TestVarintTruncated(t *testing.T) {
	b := AppendVarint(nil, 1<<40)
	for i := 0; i < len(b); i++ {
		_, _, err := ParseVarint(b[:i])
		want := io.ErrUnexpectedEOF
		if i == 0 {
			want = io.EOF
		}
		if !errors.Is(err, want) {
			t.Errorf("ParseVarint(%d of %d bytes) err = %v, want %v", i, len(b), err, want)
		}
		_, err = ReadVarint(bytes.NewReader(b[:i]))
		if !errors.Is(err, want) {
			t.Errorf("ReadVarint(%d of %d bytes) err = %v, want %v", i, len(b), err, want)
		}
	}
}
