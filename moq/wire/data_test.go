package wire

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"reflect"
	"testing"
)

// subgroupCase is one row of the subgroup stream table (round trip, prefixes, FuzzSubgroup seeds).
type subgroupCase struct {
	name string
	h    SubgroupHeader
	objs []Object
}

func subgroupCases() []subgroupCase {
	pl := []byte("payload")
	big := bytes.Repeat([]byte{0xAB}, 1200)
	var cs []subgroupCase
	// Every valid header type with a mixed object sequence.
	for t := uint64(0x10); t <= 0x7F; t++ {
		if !IsSubgroupStreamType(t) {
			continue
		}
		h, _ := ReadSubgroupHeader(bytes.NewReader(vi(5, 9, 3, 200)), t, nil)
		if h.SubgroupMode == SubgroupIDFirstObject {
			h.Subgroup = 2
		}
		objs := []Object{{ID: 2, Payload: pl}, {ID: 3, Payload: nil}, {ID: 10, Payload: big}, {ID: 11, Status: StatusEndOfGroup}}
		if h.HasProperties {
			objs[0].Properties = props(KeyValue{Type: PropPriorObjectIDGap, Value: 2}, KeyValue{Type: 0x3801, Bytes: []byte("x")})
			objs[2].Properties = props(KeyValue{Type: PropImmutable, Bytes: vi(PropPriorGroupIDGap, 1)})
		}
		cs = append(cs, subgroupCase{name: "type-" + hex.EncodeToString(vi(t)), h: h, objs: objs})
	}
	cs = append(cs,
		subgroupCase{name: "no-objects", h: SubgroupHeader{TrackAlias: 1, Group: 2, SubgroupMode: SubgroupIDExplicit, Subgroup: 4}},
		subgroupCase{name: "end-of-track", h: SubgroupHeader{TrackAlias: 1, Group: 7, DefaultPriority: true},
			objs: []Object{{ID: 0, Payload: pl}, {ID: 1, Status: StatusEndOfTrack}}},
		subgroupCase{name: "large-ids", h: SubgroupHeader{TrackAlias: math.MaxUint64, Group: math.MaxUint64, SubgroupMode: SubgroupIDExplicit, Subgroup: math.MaxUint64},
			objs: []Object{{ID: math.MaxUint64 - 1, Payload: pl}, {ID: math.MaxUint64, Payload: pl}}},
	)
	return cs
}

// encodeSubgroup encodes a header and its objects.
func encodeSubgroup(h SubgroupHeader, objs []Object) ([]byte, error) {
	w := SubgroupWriter{Header: h}
	b := h.Append(nil)
	for i := range objs {
		var err error
		if b, err = w.AppendObject(b, &objs[i]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// decodeSubgroup decodes a whole subgroup stream; err is nil on a clean end.
func decodeSubgroup(b []byte, lim *Limits) (SubgroupHeader, []Object, error) {
	return decodeSubgroupAlloc(b, lim, nil)
}

// decodeSubgroupAlloc decodes with sr.Alloc set to alloc (nil: none).
func decodeSubgroupAlloc(b []byte, lim *Limits, alloc func(int) []byte) (SubgroupHeader, []Object, error) {
	r := bufio.NewReader(bytes.NewReader(b))
	t, err := ReadStreamType(r)
	if err != nil {
		return SubgroupHeader{}, nil, err
	}
	h, err := ReadSubgroupHeader(r, t, lim)
	if err != nil {
		return h, nil, err
	}
	sr := NewSubgroupReader(r, h, lim)
	sr.Alloc = alloc
	var objs []Object
	for i := 0; i < 10000; i++ {
		var o Object
		err := sr.Next(&o)
		if errors.Is(err, io.EOF) {
			return sr.Header(), objs, nil
		}
		if err != nil {
			return sr.Header(), objs, err
		}
		objs = append(objs, o)
	}
	return sr.Header(), objs, errors.New("too many objects")
}

func TestSubgroupRoundTrip(t *testing.T) {
	for _, c := range subgroupCases() {
		t.Run(c.name, func(t *testing.T) {
			b, err := encodeSubgroup(c.h, c.objs)
			if err != nil {
				t.Fatal(err)
			}
			h, objs, err := decodeSubgroup(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if h != c.h || !reflect.DeepEqual(objs, c.objs) {
				t.Fatalf("mismatch\n got %+v %+v\nwant %+v %+v", h, objs, c.h, c.objs)
			}
			// Every prefix ends cleanly at an object boundary or with PROTOCOL_VIOLATION.
			for i := 0; i < len(b); i++ {
				_, _, err := decodeSubgroup(b[:i], nil)
				if err != nil && !errors.Is(err, ErrProtocolViolation) && !errors.Is(err, io.EOF) {
					t.Fatalf("prefix %d: %v", i, err)
				}
			}
		})
	}
}

// TestSubgroupDraftExample encodes the first example of draft-18 §11.6.
func TestSubgroupDraftExample(t *testing.T) {
	h := SubgroupHeader{TrackAlias: 2, Group: 0, SubgroupMode: SubgroupIDExplicit, Subgroup: 0, Priority: 0}
	b, err := encodeSubgroup(h, []Object{{ID: 0, Payload: []byte("abcd")}, {ID: 1, Payload: []byte("efgh")}})
	if err != nil {
		t.Fatal(err)
	}
	want := cat([]byte{0x14, 2, 0, 0, 0}, []byte{0, 4}, []byte("abcd"), []byte{0, 4}, []byte("efgh"))
	if !bytes.Equal(b, want) {
		t.Fatalf("got %x want %x", b, want)
	}
	if h.StreamType() != 0x14 {
		t.Fatalf("type %x", h.StreamType())
	}
	h2 := SubgroupHeader{TrackAlias: 2, SubgroupMode: SubgroupIDExplicit, DefaultPriority: true, HasProperties: true}
	if h2.StreamType() != 0x35 {
		t.Fatalf("type %x, want 0x35", h2.StreamType())
	}
}

func TestSubgroupErrors(t *testing.T) {
	small := DefaultLimits()
	small.MaxObjectPayload = 3
	small.MaxPropertiesLength = 2
	hdr := cat(vi(0x10, 1, 2), []byte{0})  // mode zero, priority 0, no properties
	hdrP := cat(vi(0x11, 1, 2), []byte{0}) // with properties
	for _, c := range []struct {
		name  string
		in    []byte
		lim   *Limits
		words string
	}{
		{"type 0x16 reserved mode", vi(0x16, 1, 2, 0), nil, "invalid subgroup stream type"},
		{"type 0x0f", vi(0x0f, 1, 2, 0), nil, "invalid subgroup stream type"},
		{"type 0x80", vi(0x80, 1, 2, 0), nil, "invalid subgroup stream type"},
		{"truncated header", vi(0x10, 1), nil, "truncated"},
		{"payload over limit", cat(hdr, vi(0, 4), []byte("abcd")), small, "MaxObjectPayload"},
		{"properties over limit", cat(hdrP, vi(0, 3, 2, 1, 2, 0, 0)), small, "MaxPropertiesLength"},
		{"unknown status", cat(hdr, vi(0, 0, 5)), nil, "unknown object status"},
		{"properties on end of group", cat(hdrP, vi(0, 2, 2, 1, 0, 3)), nil, "properties on an object"},
		{"object after end of track", cat(hdr, vi(0, 0, 4, 0, 1), []byte("a")), nil, "after End of Group"},
		{"object id overflow", cat(hdr, vi(math.MaxUint64, 1), []byte("a"), vi(0, 1), []byte("b")), nil, "overflows"},
		{"payload truncated", cat(hdr, vi(0, 5), []byte("ab")), nil, "truncated"},
		{"property length over 65535", cat(hdrP, vi(0, 4, 1, 70000)), nil, "65535"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := decodeSubgroup(c.in, c.lim)
			if !errors.Is(err, ErrProtocolViolation) || !bytes.Contains([]byte(err.Error()), []byte(c.words)) {
				t.Fatalf("err = %v, want PROTOCOL_VIOLATION mentioning %q", err, c.words)
			}
		})
	}
	// Encoder refusals.
	h := SubgroupHeader{SubgroupMode: SubgroupIDFirstObject, Subgroup: 5}
	if _, err := AppendSubgroupObject(nil, &h, nil, &Object{ID: 4, Payload: []byte("a")}); err == nil {
		t.Error("first object ID != subgroup ID accepted")
	}
	prev := uint64(4)
	h.Subgroup = 4
	if _, err := AppendSubgroupObject(nil, &h, &prev, &Object{ID: 4, Payload: []byte("a")}); err == nil {
		t.Error("repeated object ID accepted")
	}
	if _, err := AppendSubgroupObject(nil, &h, nil, &Object{ID: 4, Properties: props(KeyValue{Type: 2})}); err == nil {
		t.Error("properties without PROPERTIES bit accepted")
	}
	if _, err := AppendSubgroupObject(nil, &h, nil, &Object{ID: 4, Status: StatusEndOfGroup, Payload: []byte("a")}); err == nil {
		t.Error("payload with End of Group accepted")
	}
	if _, err := AppendSubgroupObject(nil, &h, nil, &Object{ID: 4, Status: 7}); err == nil {
		t.Error("unknown status accepted")
	}
}

// fetchCase is one row of the fetch stream table.
type fetchCase struct {
	name  string
	order GroupOrder
	objs  []FetchObject
}

func fetchCases() []fetchCase {
	pl := []byte("obj")
	p := props(KeyValue{Type: PropPriorGroupIDGap, Value: 1})
	return []fetchCase{
		{"empty", GroupOrderAscending, nil},
		{"ascending", GroupOrderAscending, []FetchObject{
			{Group: 1, Subgroup: 0, ID: 0, Priority: 5, Payload: pl},
			{Group: 1, Subgroup: 0, ID: 1, Priority: 5, Payload: pl},
			{Group: 1, Subgroup: 1, ID: 2, Priority: 5, Payload: pl},
			{Group: 1, Subgroup: 2, ID: 5, Priority: 6, Payload: nil, Properties: p},
			{Group: 1, Subgroup: 9, ID: 6, Priority: 6, Payload: pl},
			{Group: 1, ID: 7, Priority: 6, Datagram: true, Payload: pl},
			{Group: 1, Subgroup: 9, ID: 8, Priority: 6, Payload: pl},
			{Group: 4, Subgroup: 9, ID: 9, Priority: 6, Payload: pl},
			{Group: 5, Subgroup: 0, ID: 0, Priority: 6, Payload: pl},
			{EndOfRange: EndOfUnknownRange, Group: 5, ID: 10},
			{Group: 5, Subgroup: 0, ID: 11, Priority: 6, Payload: pl},
			{EndOfRange: EndOfNonExistentRange, Group: 8, ID: 0},
			{Group: 9, Subgroup: 1, ID: 0, Priority: 6, Payload: pl},
		}},
		{"descending", GroupOrderDescending, []FetchObject{
			{Group: 10, Subgroup: 3, ID: 4, Priority: 1, Payload: pl},
			{Group: 10, Subgroup: 3, ID: 5, Priority: 1, Payload: pl},
			{Group: 7, Subgroup: 0, ID: 0, Priority: 2, Payload: pl},
			{Group: 6, Subgroup: 0, ID: 1, Priority: 2, Payload: pl},
			{Group: 0, Subgroup: 0, ID: 0, Priority: 2, Payload: pl},
		}},
		{"end-of-range-first", GroupOrderAscending, []FetchObject{
			{EndOfRange: EndOfNonExistentRange, Group: 2, ID: 3},
			{Group: 2, Subgroup: 1, ID: 4, Priority: 0, Payload: pl},
		}},
		{"datagram-first", GroupOrderAscending, []FetchObject{
			{Group: math.MaxUint64, ID: math.MaxUint64, Datagram: true, Priority: 255, Payload: pl},
		}},
	}
}

func encodeFetch(id uint64, order GroupOrder, objs []FetchObject) ([]byte, error) {
	h := FetchHeader{RequestID: id}
	b := h.Append(nil)
	w := NewFetchWriter(order)
	for i := range objs {
		var err error
		if b, err = w.AppendObject(b, &objs[i]); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func decodeFetch(b []byte, order GroupOrder, lim *Limits) (FetchHeader, []FetchObject, error) {
	r := bufio.NewReader(bytes.NewReader(b))
	t, err := ReadStreamType(r)
	if err != nil {
		return FetchHeader{}, nil, err
	}
	if t != StreamTypeFetch {
		return FetchHeader{}, nil, protocolViolation("not a fetch stream: 0x%x", t)
	}
	h, err := ReadFetchHeader(r)
	if err != nil {
		return h, nil, err
	}
	fr := NewFetchReader(r, order, lim)
	var objs []FetchObject
	for i := 0; i < 10000; i++ {
		var o FetchObject
		err := fr.Next(&o)
		if errors.Is(err, io.EOF) {
			return h, objs, nil
		}
		if err != nil {
			return h, objs, err
		}
		objs = append(objs, o)
	}
	return h, objs, errors.New("too many objects")
}

func TestFetchRoundTrip(t *testing.T) {
	for _, c := range fetchCases() {
		t.Run(c.name, func(t *testing.T) {
			b, err := encodeFetch(7, c.order, c.objs)
			if err != nil {
				t.Fatal(err)
			}
			h, objs, err := decodeFetch(b, c.order, nil)
			if err != nil {
				t.Fatal(err)
			}
			if h.RequestID != 7 || !reflect.DeepEqual(objs, c.objs) {
				t.Fatalf("mismatch\n got %+v\nwant %+v", objs, c.objs)
			}
			for i := 0; i < len(b); i++ {
				_, _, err := decodeFetch(b[:i], c.order, nil)
				if err != nil && !errors.Is(err, ErrProtocolViolation) && !errors.Is(err, io.EOF) {
					t.Fatalf("prefix %d: %v", i, err)
				}
			}
		})
	}
}

func TestFetchErrors(t *testing.T) {
	hdr := vi(StreamTypeFetch, 1)
	first := cat(vi(0x1C, 1, 0), []byte{0}, vi(1), []byte("a")) // group 1 object 0 priority 0
	for _, c := range []struct {
		name  string
		order GroupOrder
		in    []byte
		words string
	}{
		{"flags 0x81", GroupOrderAscending, cat(hdr, vi(0x81)), "invalid fetch serialization flags"},
		{"first without group", GroupOrderAscending, cat(hdr, vi(0x14, 0), []byte{0}, vi(0)), "lacks Group ID"},
		{"first refers to prior subgroup", GroupOrderAscending, cat(hdr, vi(0x1D, 1, 0), []byte{0}, vi(0)), "prior subgroup"},
		{"first refers to prior priority", GroupOrderAscending, cat(hdr, vi(0x0C, 1, 0, 0)), "prior priority"},
		{"descending underflow", GroupOrderDescending, cat(hdr, first, vi(0x18, 1, 0)), "underflows"},
		{"repeated object", GroupOrderAscending, cat(hdr, first, vi(0x04, 0, 0)), "repeated"},
		{"payload over limit", GroupOrderAscending, cat(hdr, vi(0x1C, 1, 0), []byte{0}, vi(1<<30)), "MaxObjectPayload"},
		{"truncated end of range", GroupOrderAscending, cat(hdr, vi(0x8C, 1)), "truncated"},
		{"prior subgroup after end of range only", GroupOrderAscending, cat(hdr, vi(0x8C, 1, 1), vi(0x11), []byte{0}, vi(0)), "prior subgroup"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := decodeFetch(c.in, c.order, nil)
			if !errors.Is(err, ErrProtocolViolation) || !bytes.Contains([]byte(err.Error()), []byte(c.words)) {
				t.Fatalf("err = %v, want PROTOCOL_VIOLATION mentioning %q", err, c.words)
			}
		})
	}
	w := NewFetchWriter(GroupOrderAscending)
	b, _ := w.AppendObject(nil, &FetchObject{Group: 5, ID: 1})
	if _, err := w.AppendObject(b, &FetchObject{Group: 4, ID: 2}); err == nil {
		t.Error("descending group in ascending fetch accepted")
	}
	if _, err := w.AppendObject(b, &FetchObject{Group: 5, ID: 1}); err == nil {
		t.Error("repeated object accepted")
	}
	if _, err := w.AppendObject(b, &FetchObject{EndOfRange: 3}); err == nil {
		t.Error("bad end of range accepted")
	}
}

// datagramCases is the datagram table.
func datagramCases() []Datagram {
	pl := []byte("datagram payload")
	p := props(KeyValue{Type: PropObjectDeliveryTimeout, Value: 50})
	var cs []Datagram
	for _, st := range []ObjectStatus{StatusNormal, StatusEndOfGroup, StatusEndOfTrack} {
		for bitsSet := 0; bitsSet < 16; bitsSet++ {
			d := Datagram{TrackAlias: 3, Group: 12, Object: 4, Priority: 9, Status: st}
			if bitsSet&1 != 0 && st == StatusNormal {
				d.Properties = p
			}
			if bitsSet&2 != 0 && st == StatusNormal {
				d.EndOfGroup = true
			}
			if bitsSet&4 != 0 {
				d.Object = 0
			}
			if bitsSet&8 != 0 {
				d.DefaultPriority, d.Priority = true, 0
			}
			if st == StatusNormal {
				d.Payload = pl
			}
			cs = append(cs, d)
		}
	}
	cs = append(cs, Datagram{TrackAlias: math.MaxUint64, Group: math.MaxUint64, Object: math.MaxUint64})
	return cs
}

func TestDatagramRoundTrip(t *testing.T) {
	for i, d := range datagramCases() {
		b, err := d.Append(nil)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		got, err := ParseDatagram(b, nil)
		if err != nil {
			t.Fatalf("%d: %v (%x)", i, err, b)
		}
		if !reflect.DeepEqual(got, d) {
			t.Fatalf("%d: mismatch\n got %+v\nwant %+v", i, got, d)
		}
		for j := 0; j < len(b); j++ {
			if _, err := ParseDatagram(b[:j], nil); err != nil && !errors.Is(err, ErrProtocolViolation) {
				t.Fatalf("%d prefix %d: %v", i, j, err)
			}
		}
	}
}

func TestDatagramErrors(t *testing.T) {
	small := DefaultLimits()
	small.MaxObjectPayload = 2
	for _, c := range []struct {
		name  string
		in    []byte
		lim   *Limits
		words string
	}{
		{"type 0x10", vi(0x10, 1, 1, 1, 0), nil, "invalid datagram type"},
		{"type 0x22 status+eog", vi(0x22, 1, 1, 1), nil, "invalid datagram type"},
		{"type 0x30", vi(0x30, 1, 1), nil, "invalid datagram type"},
		{"zero properties length", cat(vi(0x0D, 1, 1, 0)), nil, "zero Properties Length"},
		{"status with properties", vi(0x2D, 1, 1, 2, 2, 7, 3), nil, "properties on a datagram"},
		{"unknown status", vi(0x2C, 1, 1, 9), nil, "unknown object status"},
		{"bytes after status", vi(0x2C, 1, 1, 3, 0), nil, "after object status"},
		{"payload over limit", cat(vi(0x0C, 1, 1), []byte("abc")), small, "MaxObjectPayload"},
		{"truncated", vi(0x00, 1), nil, "truncated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseDatagram(c.in, c.lim)
			if !errors.Is(err, ErrProtocolViolation) || !bytes.Contains([]byte(err.Error()), []byte(c.words)) {
				t.Fatalf("err = %v, want PROTOCOL_VIOLATION mentioning %q", err, c.words)
			}
		})
	}
	if _, err := ParseDatagram(AppendPaddingDatagram(nil, 10), nil); !errors.Is(err, ErrPaddingDatagram) {
		t.Errorf("padding datagram: %v", err)
	}
	d := Datagram{Status: StatusEndOfGroup, EndOfGroup: true}
	if _, err := d.Append(nil); err == nil {
		t.Error("status datagram with END_OF_GROUP accepted")
	}
}

func TestStreamTypes(t *testing.T) {
	n := 0
	for t0 := uint64(0); t0 < 0x100; t0++ {
		if IsSubgroupStreamType(t0) {
			n++
		}
	}
	if n != 48 { // 4 ranges x 16 minus 16 reserved modes
		t.Errorf("%d subgroup types, want 48", n)
	}
	for _, st := range []uint64{StreamTypeFetch, StreamTypeSetup, StreamTypePadding, 0x14} {
		got, err := ReadStreamType(bytes.NewReader(vi(st)))
		if err != nil || got != st || !KnownStreamType(got) {
			t.Errorf("stream type %x: %x %v", st, got, err)
		}
	}
	if KnownStreamType(0x06) {
		t.Error("0x06 known")
	}
	if _, err := ReadStreamType(bytes.NewReader(nil)); !errors.Is(err, io.EOF) {
		t.Errorf("empty stream: %v", err)
	}
	if _, err := ReadStreamType(bytes.NewReader([]byte{0xC0})); !errors.Is(err, ErrProtocolViolation) {
		t.Errorf("truncated stream type: %v", err)
	}
	if p := AppendPadding(vi(StreamTypePadding), 3); !bytes.Equal(p, cat(vi(StreamTypePadding), []byte{0, 0, 0})) {
		t.Errorf("padding %x", p)
	}
}

// TestLargeObjectGrows reads a 1 MiB object that arrives in small pieces and
// a truncated one that claims 10 MiB.
func TestLargeObjectGrows(t *testing.T) {
	h := SubgroupHeader{TrackAlias: 1, SubgroupMode: SubgroupIDZero, DefaultPriority: true}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	b, err := encodeSubgroup(h, []Object{{ID: 0, Payload: big}})
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReaderSize(iotestHalf{bytes.NewReader(b)}, 16)
	st, _ := ReadStreamType(r)
	hh, _ := ReadSubgroupHeader(r, st, nil)
	var o Object
	if err := NewSubgroupReader(r, hh, nil).Next(&o); err != nil || !bytes.Equal(o.Payload, big) {
		t.Fatalf("big object: %v, %d bytes", err, len(o.Payload))
	}
	trunc := cat(h.Append(nil), vi(0, 10<<20), []byte("only a few bytes"))
	if _, _, err := decodeSubgroup(trunc, nil); !errors.Is(err, ErrProtocolViolation) {
		t.Fatalf("truncated big object: %v", err)
	}
}

// iotestHalf returns at most 1000 bytes per Read.
type iotestHalf struct{ r io.Reader }

func (h iotestHalf) Read(p []byte) (int, error) {
	if len(p) > 1000 {
		p = p[:1000]
	}
	return h.r.Read(p)
}
