package annexb

import (
	"bytes"
	"errors"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		want [][]byte
		err  error
	}{
		{"empty", nil, nil, nil},
		{"3- and 4-byte start codes", []byte{0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 1, 0x65, 3}, [][]byte{{0x67, 1}, {0x68, 2}, {0x65, 3}}, nil},
		{"trailing zeros dropped", []byte{0, 0, 1, 0x09, 0xf0, 0, 0, 0, 0, 0, 1, 0x65}, [][]byte{{0x09, 0xf0}, {0x65}}, nil},
		{"junk before the first start code", []byte{7, 7, 0, 0, 1, 0x41}, [][]byte{{0x41}}, nil},
		{"empty units skipped", []byte{0, 0, 1, 0, 0, 1, 0x41}, [][]byte{{0x41}}, nil},
		{"no start code", []byte{1, 2, 3}, nil, ErrNoStartCode},
	} {
		got, err := Split(c.in, 0)
		if !errors.Is(err, c.err) || len(got) != len(c.want) {
			t.Errorf("%s: %q, %v", c.name, got, err)
			continue
		}
		for i := range got {
			if !bytes.Equal(got[i], c.want[i]) {
				t.Errorf("%s: unit %d = %x, want %x", c.name, i, got[i], c.want[i])
			}
		}
	}
	if _, err := Split([]byte{0, 0, 1, 1, 0, 0, 1, 2, 0, 0, 1, 3}, 2); !errors.Is(err, ErrTooManyUnits) {
		t.Errorf("over the bound: %v", err)
	}
}

func FuzzSplit(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x65, 0x88})
	f.Fuzz(func(t *testing.T, b []byte) {
		units, err := Split(b, 64)
		if err != nil {
			return
		}
		if len(units) > 64 {
			t.Fatalf("%d units over the bound", len(units))
		}
		for _, u := range units {
			if len(u) == 0 {
				t.Fatal("empty unit")
			}
			if bytes.Contains(u, []byte{0, 0, 1}) {
				t.Fatalf("unit %x holds a start code", u)
			}
		}
	})
}
