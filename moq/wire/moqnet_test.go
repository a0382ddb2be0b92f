package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestMoqNetVectors decodes bytes recorded from @moq/net 0.3.4 (a MoQ stack
// nobody here wrote; testdata/moqnet/gen.mjs) and checks that re-encoding
// gives the same bytes, so both directions agree byte for byte.
func TestMoqNetVectors(t *testing.T) {
	f, err := os.ReadFile("testdata/moqnet/vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(f))
	n := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 {
			continue
		}
		name, kind := fields[0], fields[2]
		draft, _ := strconv.Atoi(fields[1])
		v := Version(draft)
		raw, err := hex.DecodeString(fields[3])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n++
		t.Run(name+"/"+fields[1], func(t *testing.T) {
			switch kind {
			case "msg":
				m, err := ReadMessage(bytes.NewReader(raw), v, nil)
				if err != nil {
					t.Fatalf("decode: %v", err)
				}
				b, err := AppendMessage(nil, v, m)
				if err != nil || !bytes.Equal(b, raw) {
					t.Fatalf("re-encode %#v:\n got %x\nwant %x (%v)", m, b, raw, err)
				}
			case "quirk-msg":
				if _, err := ReadMessage(bytes.NewReader(raw), v, nil); err == nil {
					t.Fatal("length-prefixed LARGEST_OBJECT accepted without the quirk")
				}
				lim := DefaultLimits()
				lim.Quirks = QuirkLengthPrefixedLocation
				m, err := ReadMessage(bytes.NewReader(raw), v, lim)
				if err != nil {
					t.Fatalf("decode with quirk: %v", err)
				}
				p, ok := m.(*Publish)
				if !ok || p.Params.LargestObject == nil || *p.Params.LargestObject != (Location{300, 7}) {
					t.Fatalf("decoded %#v", m)
				}
			case "stream":
				h, objs, err := decodeSubgroup(raw, nil)
				if err != nil || len(objs) == 0 {
					t.Fatalf("decode: %v (%d objects)", err, len(objs))
				}
				b, err := encodeSubgroup(h, objs)
				if err != nil || !bytes.Equal(b, raw) {
					t.Fatalf("re-encode:\n got %x\nwant %x (%v)", b, raw, err)
				}
			}
		})
	}
	if n < 20 {
		t.Fatalf("only %d vectors", n)
	}
}
