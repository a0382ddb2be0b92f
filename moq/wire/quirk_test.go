package wire

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// TestQuirkVarintUint8 decodes a draft-19 SUBSCRIBE as @moq/net 0.2.8 writes
// it (docs/INTEROP.md): FORWARD 1, then SUBSCRIBER_PRIORITY 200 as the varint
// 80 c8 where the draft has the single byte c8.
func TestQuirkVarintUint8(t *testing.T) {
	raw, err := hex.DecodeString(strings.ReplaceAll("03 000c 00 01 01 61 01 74 02 10 01 10 80c8", " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMessage(bytes.NewReader(raw), Draft19, nil); err == nil {
		t.Fatal("strict decoding accepted a varint where the draft has a uint8")
	}
	lim := DefaultLimits()
	lim.Quirks = QuirkVarintUint8
	m, err := ReadMessage(bytes.NewReader(raw), Draft19, lim)
	if err != nil {
		t.Fatalf("with QuirkVarintUint8: %v", err)
	}
	s := m.(*Subscribe)
	if s.Params.SubscriberPriority == nil || *s.Params.SubscriberPriority != 200 ||
		s.Params.Forward == nil || !*s.Params.Forward {
		t.Fatalf("decoded %+v", s.Params)
	}
	// A correct message whose priority byte looks like a varint prefix is
	// still read strictly under the quirk.
	good, err := AppendMessage(nil, Draft19, &Subscribe{RequestID: 0, Track: FullTrackName{Namespace: NewNamespace("a"), Name: []byte("t")},
		Params: Params{SubscriberPriority: Ptr(uint8(0x80)), GroupOrder: Ptr(GroupOrderAscending)}})
	if err != nil {
		t.Fatal(err)
	}
	m, err = ReadMessage(bytes.NewReader(good), Draft19, lim)
	if err != nil || *m.(*Subscribe).Params.SubscriberPriority != 0x80 {
		t.Fatalf("strict message under the quirk: %v %+v", err, m)
	}
}

// TestQuirkMisplacedParams decodes a draft-19 SUBSCRIBE_OK as @moq/net 0.1.9
// (under @moq/publish 0.2.17) writes it: track alias 5 and a GROUP_ORDER
// parameter, which §10.2 allows only in SUBSCRIBE, SUBSCRIBE_TRACKS and
// FETCH. Strictly it closes the session; under the quirk it is read and
// dropped. An unknown parameter type is refused either way.
func TestQuirkMisplacedParams(t *testing.T) {
	raw, err := hex.DecodeString(strings.ReplaceAll("04 0004 05 01 22 01", " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMessage(bytes.NewReader(raw), Draft19, nil); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("strict decoding of GROUP_ORDER in SUBSCRIBE_OK: %v", err)
	}
	lim := DefaultLimits()
	lim.Quirks = QuirkMisplacedParams
	m, err := ReadMessage(bytes.NewReader(raw), Draft19, lim)
	if err != nil {
		t.Fatalf("with QuirkMisplacedParams: %v", err)
	}
	ok := m.(*SubscribeOK)
	if ok.TrackAlias != 5 || ok.Params.GroupOrder != nil {
		t.Fatalf("decoded %+v, want alias 5 and the misplaced GROUP_ORDER dropped", ok)
	}
	// A misplaced value outside its range is still a violation.
	bad, _ := hex.DecodeString("040004050122" + "07")
	if _, err := ReadMessage(bytes.NewReader(bad), Draft19, lim); err == nil {
		t.Fatal("GROUP_ORDER 7 accepted under the quirk")
	}
	unknown, _ := hex.DecodeString("040004050130" + "01")
	if _, err := ReadMessage(bytes.NewReader(unknown), Draft19, lim); err == nil || !strings.Contains(err.Error(), "unknown parameter") {
		t.Fatalf("unknown parameter under the quirk: %v", err)
	}
}
