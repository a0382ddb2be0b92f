package wire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// checkDecodeErr fails unless err is one of the documented decoder results.
func checkDecodeErr(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if err != nil && !errors.Is(err, io.EOF) && !errors.As(err, &e) && !errors.Is(err, ErrPaddingDatagram) {
		t.Fatalf("undocumented error %T: %v", err, err)
	}
}

// hasInvalidFilter reports whether a decoded message carries a range filter
// the draft answers with REQUEST_ERROR (it cannot be re-encoded).
func hasInvalidFilter(m Message) bool {
	v := reflect.ValueOf(m).Elem().FieldByName("Params")
	if !v.IsValid() {
		return false
	}
	for _, f := range v.Interface().(Params).RangeFilters {
		if f.Invalid {
			return true
		}
	}
	return false
}

func FuzzReadMessage(f *testing.F) {
	for _, c := range messageCases() {
		b, _ := AppendMessage(nil, c.v, c.m)
		f.Add(b, c.v == Draft19)
	}
	if vec, err := os.ReadFile("testdata/moqnet/vectors.txt"); err == nil {
		for _, line := range strings.Split(string(vec), "\n") {
			if fs := strings.Fields(line); len(fs) == 4 && strings.HasSuffix(fs[2], "msg") {
				if b, err := hex.DecodeString(fs[3]); err == nil {
					f.Add(b, fs[1] == "19")
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, draft19 bool) {
		v := Draft18
		if draft19 {
			v = Draft19
		}
		m, err := ReadMessage(bytes.NewReader(data), v, nil)
		checkDecodeErr(t, err)
		m2, n, err2 := ParseMessage(data, v, nil)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("ReadMessage err %v, ParseMessage err %v", err, err2)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(m, m2) || n > len(data) {
			t.Fatalf("ReadMessage and ParseMessage differ")
		}
		if hasInvalidFilter(m) {
			return
		}
		b, err := AppendMessage(nil, v, m)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", m, err)
		}
		m3, err := ReadMessage(bytes.NewReader(b), v, nil)
		if err != nil {
			t.Fatalf("decode of re-encoded: %v", err)
		}
		if !reflect.DeepEqual(m, m3) {
			t.Fatalf("round trip differs\n got %#v\nwant %#v", m3, m)
		}
	})
}

// FuzzReadMessageQuirks decodes control messages with every quirk on (as
// for a "moq-lite-js" peer): any bytes give a message or a documented error,
// never a panic, and both decoders agree; a message decoded under the quirks
// re-encodes to a message the strict decoder takes.
func FuzzReadMessageQuirks(f *testing.F) {
	for _, c := range messageCases() {
		b, _ := AppendMessage(nil, c.v, c.m)
		f.Add(b, c.v == Draft19)
	}
	lim := DefaultLimits()
	lim.Quirks = QuirkLengthPrefixedLocation | QuirkVarintUint8 | QuirkMisplacedParams
	f.Fuzz(func(t *testing.T, data []byte, draft19 bool) {
		v := Draft18
		if draft19 {
			v = Draft19
		}
		m, err := ReadMessage(bytes.NewReader(data), v, lim)
		checkDecodeErr(t, err)
		_, _, err2 := ParseMessage(data, v, lim)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("ReadMessage err %v, ParseMessage err %v", err, err2)
		}
		if err != nil || hasInvalidFilter(m) {
			return
		}
		b, err := AppendMessage(nil, v, m)
		if err != nil {
			return // a quirk-read value the drafts cannot carry (e.g. a varint-read uint8 over 255)
		}
		if _, err := ReadMessage(bytes.NewReader(b), v, nil); err != nil {
			t.Fatalf("strict decode of the re-encoded message: %v", err)
		}
	})
}

func seedSubgroups() [][]byte {
	var out [][]byte
	for _, c := range subgroupCases() {
		b, err := encodeSubgroup(c.h, c.objs)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzSubgroup(f *testing.F) {
	for _, b := range seedSubgroups() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, objs, err := decodeSubgroup(data, nil)
		checkDecodeErr(t, err)
		// The same bytes with payloads read into buffers the caller
		// gives (the session's pooled buffers), here carved out of an
		// arena full of junk: the same objects, every payload byte read.
		arena := bytes.Repeat([]byte{0xa5}, 1<<16)
		ha, objsA, errA := decodeSubgroupAlloc(data, nil, func(n int) []byte {
			if n > len(arena) {
				return make([]byte, n)
			}
			p := arena[:n:n]
			arena = arena[n:]
			return p
		})
		if (err == nil) != (errA == nil) || ha != h || !reflect.DeepEqual(objs, objsA) {
			t.Fatalf("with Alloc: %v, %d objects; without: %v, %d objects", errA, len(objsA), err, len(objs))
		}
		if err != nil {
			return
		}
		b, err := encodeSubgroup(h, objs)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		h2, objs2, err := decodeSubgroup(b, nil)
		if err != nil || h2 != h || !reflect.DeepEqual(objs, objs2) {
			t.Fatalf("round trip differs: %v", err)
		}
	})
}

func FuzzFetchStream(f *testing.F) {
	for _, c := range fetchCases() {
		b, _ := encodeFetch(3, c.order, c.objs)
		f.Add(b, c.order == GroupOrderDescending)
	}
	f.Fuzz(func(t *testing.T, data []byte, desc bool) {
		order := GroupOrderAscending
		if desc {
			order = GroupOrderDescending
		}
		h, objs, err := decodeFetch(data, order, nil)
		checkDecodeErr(t, err)
		if err != nil {
			return
		}
		b, err := encodeFetch(h.RequestID, order, objs)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		h2, objs2, err := decodeFetch(b, order, nil)
		if err != nil || h2 != h || !reflect.DeepEqual(objs, objs2) {
			t.Fatalf("round trip differs: %v", err)
		}
	})
}

func seedDatagrams() [][]byte {
	var out [][]byte
	for _, d := range datagramCases() {
		b, err := d.Append(nil)
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return append(out, AppendPaddingDatagram(nil, 4))
}

func FuzzDatagram(f *testing.F) {
	for _, b := range seedDatagrams() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDatagram(data, nil)
		checkDecodeErr(t, err)
		if err != nil {
			return
		}
		b, err := d.Append(nil)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", d, err)
		}
		d2, err := ParseDatagram(b, nil)
		if err != nil || !reflect.DeepEqual(d, d2) {
			t.Fatalf("round trip differs: %v\n got %+v\nwant %+v", err, d2, d)
		}
	})
}

func seedVarints() [][]byte {
	var out [][]byte
	for _, v := range []uint64{0, 37, 127, 128, 15293, 1<<21 - 1, 1 << 35, 1<<56 - 1, 1 << 56, ^uint64(0)} {
		out = append(out, AppendVarint(nil, v))
	}
	return append(out, []byte{0x80, 0x25}, []byte{0xC0}, []byte{})
}

func FuzzVarint(f *testing.F) {
	for _, b := range seedVarints() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, n, err := ParseVarint(data)
		rv, rerr := ReadVarint(bytes.NewReader(data))
		if (err == nil) != (rerr == nil) || (err == nil && rv != v) {
			t.Fatalf("ParseVarint %d %v vs ReadVarint %d %v", v, err, rv, rerr)
		}
		if err != nil {
			return
		}
		if n < VarintLen(v) || n > MaxVarintLen {
			t.Fatalf("length %d for %d", n, v)
		}
		b := AppendVarint(nil, v)
		v2, n2, err := ParseVarint(b)
		if err != nil || v2 != v || n2 != len(b) || len(b) != VarintLen(v) {
			t.Fatalf("round trip of %d: %d %d %v", v, v2, n2, err)
		}
	})
}

func seedNames() []string {
	var out []string
	for _, c := range nameCases {
		out = append(out, c.s)
	}
	return append(out, "a-b-c", ".61", ".4A", "", "x--y--z")
}

func FuzzNamespaceString(f *testing.F) {
	for _, s := range seedNames() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ns, err := ParseNamespaceString(s); err == nil {
			if ns.String() != s {
				t.Fatalf("namespace %q renders as %q", s, ns.String())
			}
		}
		if ft, err := ParseFullTrackNameString(s); err == nil {
			if ft.String() != s {
				t.Fatalf("full track name %q renders as %q", s, ft.String())
			}
		}
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/<FuzzName>/ from the tables
// when WIRE_WRITE_CORPUS=1 (go test -run TestWriteFuzzCorpus ./moq/wire).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("WIRE_WRITE_CORPUS") != "1" {
		t.Skip("set WIRE_WRITE_CORPUS=1 to regenerate the seed corpora")
	}
	write := func(fuzz, name string, lines ...string) {
		dir := filepath.Join("testdata", "fuzz", fuzz)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		body := "go test fuzz v1\n" + strings.Join(lines, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bs := func(b []byte) string { return fmt.Sprintf("[]byte(%q)", b) }
	for _, c := range messageCases() {
		b, _ := AppendMessage(nil, c.v, c.m)
		write("FuzzReadMessage", strings.ReplaceAll(c.name, "/", "-"), bs(b), fmt.Sprintf("bool(%v)", c.v == Draft19))
	}
	for i, c := range subgroupCases() {
		b, _ := encodeSubgroup(c.h, c.objs)
		write("FuzzSubgroup", fmt.Sprintf("%02d-%s", i, c.name), bs(b))
	}
	for _, c := range fetchCases() {
		b, _ := encodeFetch(3, c.order, c.objs)
		write("FuzzFetchStream", c.name, bs(b), fmt.Sprintf("bool(%v)", c.order == GroupOrderDescending))
	}
	for i, b := range seedDatagrams() {
		write("FuzzDatagram", fmt.Sprintf("%02d", i), bs(b))
	}
	for i, b := range seedVarints() {
		write("FuzzVarint", fmt.Sprintf("%02d", i), bs(b))
	}
	for i, s := range seedNames() {
		write("FuzzNamespaceString", fmt.Sprintf("%02d", i), fmt.Sprintf("string(%q)", s))
	}
}
