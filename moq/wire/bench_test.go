package wire

import (
	"bufio"
	"bytes"
	"testing"
)

// benchSubscribe is a representative SUBSCRIBE: a three-field namespace,
// a token, a filter, priority, group order and forward.
func benchSubscribe() *Subscribe {
	return &Subscribe{RequestID: 42, Track: testTrack, Params: Params{
		AuthorizationTokens: []Token{testToken},
		SubscriberPriority:  Ptr[uint8](10),
		GroupOrder:          Ptr(GroupOrderAscending),
		Forward:             Ptr(true),
		SubscriptionFilter:  &SubscriptionFilter{Type: FilterLargestObject},
	}}
}

func BenchmarkSubscribeEncode(b *testing.B) {
	m := benchSubscribe()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = AppendMessage(buf[:0], Draft19, m); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkSubscribeDecode(b *testing.B) {
	enc, _ := AppendMessage(nil, Draft19, benchSubscribe())
	r := bytes.NewReader(enc)
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		r.Reset(enc)
		if _, err := ReadMessage(r, Draft19, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSubscribeParse(b *testing.B) {
	enc, _ := AppendMessage(nil, Draft19, benchSubscribe())
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, _, err := ParseMessage(enc, Draft19, nil); err != nil {
			b.Fatal(err)
		}
	}
}

var benchPayload = bytes.Repeat([]byte{0x5A}, 1200)

func BenchmarkSubgroupObjectEncode(b *testing.B) {
	w := SubgroupWriter{Header: SubgroupHeader{TrackAlias: 1, Group: 7, SubgroupMode: SubgroupIDZero, Priority: 3}}
	buf := make([]byte, 0, 2048)
	o := Object{Payload: benchPayload}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		var err error
		if buf, err = w.AppendObject(buf[:0], &o); err != nil {
			b.Fatal(err)
		}
		o.ID++
	}
}

func BenchmarkSubgroupObjectDecode(b *testing.B) {
	// One stream of many objects; the reader is re-created when it runs dry.
	h := SubgroupHeader{TrackAlias: 1, Group: 7, SubgroupMode: SubgroupIDZero, Priority: 3}
	w := SubgroupWriter{Header: h}
	var stream []byte
	const n = 1000
	for i := 0; i < n; i++ {
		stream, _ = w.AppendObject(stream, &Object{ID: uint64(i), Payload: benchPayload})
	}
	br := bytes.NewReader(stream)
	r := bufio.NewReaderSize(br, 64<<10)
	sr := NewSubgroupReader(r, h, nil)
	var o Object
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	i := 0
	for b.Loop() {
		if i == n {
			br.Reset(stream)
			r.Reset(br)
			sr = NewSubgroupReader(r, h, nil)
			i = 0
		}
		if err := sr.Next(&o); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkDatagramEncode(b *testing.B) {
	d := Datagram{TrackAlias: 1, Group: 7, Object: 3, Priority: 1, Payload: benchPayload}
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		buf, _ = d.Append(buf[:0])
	}
}

func BenchmarkDatagramParse(b *testing.B) {
	d := Datagram{TrackAlias: 1, Group: 7, Object: 3, Priority: 1, Payload: benchPayload}
	enc, _ := d.Append(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchPayload)))
	for b.Loop() {
		if _, err := ParseDatagram(enc, nil); err != nil {
			b.Fatal(err)
		}
	}
}
