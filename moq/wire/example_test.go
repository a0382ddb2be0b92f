package wire_test

import (
	"bufio"
	"bytes"
	"fmt"

	"github.com/tributary-live/tributary/moq/wire"
)

// A SUBSCRIBE is encoded into a reusable buffer and read back from a stream.
func ExampleAppendMessage() {
	sub := &wire.Subscribe{
		RequestID: 0,
		Track:     wire.FullTrackName{Namespace: wire.NewNamespace("example.social", "alice"), Name: []byte("video")},
		Params: wire.Params{
			SubscriberPriority: wire.Ptr[uint8](10),
			SubscriptionFilter: &wire.SubscriptionFilter{Type: wire.FilterNextGroupStart},
		},
	}
	buf, err := wire.AppendMessage(nil, wire.Draft19, sub)
	if err != nil {
		panic(err)
	}
	m, err := wire.ReadMessage(bufio.NewReader(bytes.NewReader(buf)), wire.Draft19, nil)
	if err != nil {
		panic(err)
	}
	got := m.(*wire.Subscribe)
	fmt.Println(wire.MessageName(wire.Draft19, m.Type()), got.Track, *got.Params.SubscriberPriority)
	// Output: SUBSCRIBE example.2esocial-alice--video 10
}

// A subgroup stream: the header, then objects with delta-encoded IDs.
func ExampleSubgroupWriter() {
	w := wire.SubgroupWriter{Header: wire.SubgroupHeader{TrackAlias: 1, Group: 5, SubgroupMode: wire.SubgroupIDZero, DefaultPriority: true}}
	stream := w.Header.Append(nil)
	for id, p := range []string{"key", "delta"} {
		stream, _ = w.AppendObject(stream, &wire.Object{ID: uint64(id), Payload: []byte(p)})
	}
	stream, _ = w.AppendObject(stream, &wire.Object{ID: 2, Status: wire.StatusEndOfGroup})

	r := bufio.NewReader(bytes.NewReader(stream))
	typ, _ := wire.ReadStreamType(r)
	h, _ := wire.ReadSubgroupHeader(r, typ, nil)
	sr := wire.NewSubgroupReader(r, h, nil)
	var o wire.Object
	for sr.Next(&o) == nil {
		fmt.Printf("group %d object %d %s %q\n", h.Group, o.ID, o.Status, o.Payload)
	}
	// Output:
	// group 5 object 0 Normal "key"
	// group 5 object 1 Normal "delta"
	// group 5 object 2 EndOfGroup ""
}
