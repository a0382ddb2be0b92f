package wire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// vi concatenates varint encodings.
func vi(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = AppendVarint(b, v)
	}
	return b
}

// cat concatenates byte slices.
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// frame builds a control message with a correct length field.
func frame(t uint64, body ...[]byte) []byte {
	bd := cat(body...)
	return cat(vi(t), []byte{byte(len(bd) >> 8), byte(len(bd))}, bd)
}

// track is "a"/"b" as namespace + name bytes.
var track = cat(vi(1, 1), []byte("a"), vi(1), []byte("b"))

func TestMessageErrors(t *testing.T) {
	small := DefaultLimits()
	small.MaxMessageLength = 10
	small.MaxTokenLength = 4
	small.MaxParams = 2
	small.MaxURILength = 3
	small.MaxNamespaceFields = 2
	tokLim := DefaultLimits()
	tokLim.MaxTokenLength = 4
	sub := func(params ...[]byte) []byte { return frame(MsgSubscribe, vi(0), track, cat(params...)) }
	long := bytes.Repeat([]byte("x"), 2000)
	cases := []struct {
		name  string
		v     Version
		lim   *Limits
		in    []byte
		code  ErrorCode
		words string
	}{
		{"unknown type", Draft18, nil, frame(0x99), ErrProtocolViolation, "unknown message type"},
		{"publish ok 0x1e is reserved", Draft19, nil, frame(0x1E, vi(0)), ErrProtocolViolation, "unknown message type"},
		{"length over limit", Draft18, small, frame(MsgSubscribe, vi(0), track, vi(0), make([]byte, 10)), ErrProtocolViolation, "MaxMessageLength"},
		{"trailing bytes", Draft18, nil, sub(vi(0), []byte{0}), ErrProtocolViolation, "beyond its fields"},
		{"length shorter than fields", Draft18, nil, frame(MsgSubscribe, vi(0), track), ErrProtocolViolation, "truncated"},
		{"duplicate param", Draft18, nil, sub(vi(2, 0x20), []byte{1}, vi(0), []byte{2}), ErrProtocolViolation, "duplicate parameter"},
		{"unknown param", Draft18, nil, sub(vi(1, 0x05, 1)), ErrProtocolViolation, "unknown parameter"},
		{"param not allowed", Draft18, nil, sub(vi(1, ParamExpires, 1)), ErrProtocolViolation, "not allowed"},
		{"range filter in draft-18", Draft18, nil, sub(vi(1, ParamSubgroupFilter, 2), []byte{0}, vi(1)), ErrProtocolViolation, "unknown parameter"},
		{"too many params", Draft18, small, sub(vi(3, 0x20), []byte{1}), ErrProtocolViolation, "MaxParams"},
		{"param delta overflow", Draft18, nil, sub(vi(2, 0x20), []byte{1}, vi(^uint64(0)), []byte{1}), ErrProtocolViolation, "overflows"},
		{"group order 3", Draft18, nil, sub(vi(1, ParamGroupOrder), []byte{3}), ErrProtocolViolation, "GROUP_ORDER"},
		{"forward 2", Draft19, nil, sub(vi(1, ParamForward), []byte{2}), ErrProtocolViolation, "FORWARD"},
		{"filter type 5", Draft18, nil, sub(vi(1, ParamSubscriptionFilter, 1, 5)), ErrProtocolViolation, "filter type"},
		{"filter end overflow", Draft18, nil, sub(vi(1, ParamSubscriptionFilter, 12, 4), vi(^uint64(0), 0, 1)), ErrProtocolViolation, "overflows"},
		{"filter trailing", Draft18, nil, sub(vi(1, ParamSubscriptionFilter, 2, 1, 0)), ErrProtocolViolation, "trailing"},
		{"token alias type 9", Draft18, nil, sub(vi(1, ParamAuthorizationToken, 1, 9)), ErrKeyValueFormatting, "alias type"},
		{"token trailing", Draft18, nil, sub(vi(1, ParamAuthorizationToken, 3, 0, 1, 1)), ErrKeyValueFormatting, "trailing"},
		{"token truncated", Draft18, nil, sub(vi(1, ParamAuthorizationToken, 1, 1)), ErrKeyValueFormatting, "token"},
		{"token over limit", Draft18, tokLim, frame(MsgSubscribe, vi(0), vi(0), vi(0), vi(1, ParamAuthorizationToken, 7, 3, 0), []byte("abcde")), ErrProtocolViolation, "MaxTokenLength"},
		{"33 namespace fields", Draft18, nil, frame(MsgSubscribeNamespace, vi(0, 33), bytes.Repeat(vi(1, 'a'), 33), vi(0)), ErrProtocolViolation, "MaxNamespaceFields"},
		{"namespace fields over limit", Draft18, small, frame(MsgNamespace, vi(3), bytes.Repeat(vi(1, 'a'), 3)), ErrProtocolViolation, "MaxNamespaceFields"},
		{"empty namespace field", Draft18, nil, frame(MsgNamespace, vi(2, 1, 'a', 0)), ErrProtocolViolation, "empty namespace field"},
		{"namespace over 4096 bytes", Draft18, nil, frame(MsgNamespace, vi(3), vi(2000), long, vi(2000), long, vi(200), long[:200]), ErrProtocolViolation, "MaxNamespaceBytes"},
		{"full track name over 4096", Draft18, nil, frame(MsgSubscribe, vi(0, 2), vi(2000), long, vi(2000), long, vi(200), long[:200], vi(0)), ErrProtocolViolation, "MaxFullTrackNameBytes"},
		{"reason over 1024", Draft18, nil, frame(MsgPublishDone, vi(0, 0, 1025), long[:1025]), ErrProtocolViolation, "MaxReasonLength"},
		{"uri over limit", Draft19, small, frame(MsgGoAway, vi(4), []byte("abcd"), vi(0)), ErrProtocolViolation, "MaxURILength"},
		{"goaway request id in 19", Draft19, nil, frame(MsgGoAway, vi(0, 0, 1)), ErrProtocolViolation, "beyond its fields"},
		{"fetch type 4", Draft18, nil, frame(MsgFetch, vi(0, 4)), ErrProtocolViolation, "fetch type"},
		{"fetch ok end of track 2", Draft18, nil, frame(MsgFetchOK, []byte{2}, vi(0, 0, 0)), ErrProtocolViolation, "end of track"},
		{"setup duplicate path", Draft18, nil, frame(MsgSetup, vi(1, 1), []byte("/"), vi(0, 1), []byte("/")), ErrProtocolViolation, "duplicate setup option"},
		{"setup kv over 65535", Draft18, nil, frame(MsgSetup, vi(0x9D, 70000)), ErrProtocolViolation, "65535"},
		{"setup bad token", Draft18, nil, frame(MsgSetup, vi(OptAuthorizationToken, 1, 7)), ErrKeyValueFormatting, "alias type"},
		{"track property priority 300", Draft18, nil, frame(MsgSubscribeOK, vi(1, 0, PropDefaultPublisherPriority, 300)), ErrProtocolViolation, "DEFAULT_PUBLISHER_PRIORITY"},
		{"track property group order 0", Draft19, nil, frame(MsgSubscribeOK, vi(1, 0, PropDefaultGroupOrder, 0)), ErrProtocolViolation, "GROUP_ORDER"},
		{"track property dynamic groups 2", Draft19, nil, frame(MsgPublish, vi(0), track, vi(1, 0, PropDynamicGroups, 2)), ErrProtocolViolation, "DYNAMIC_GROUPS"},
		{"track property truncated", Draft18, nil, frame(MsgFetchOK, []byte{0}, vi(0, 0, 0, 1, 5)), ErrProtocolViolation, "truncated"},
		{"track property type overflow", Draft18, nil, frame(MsgRequestOK, vi(0, 2, 0, ^uint64(0)-1, 0)), ErrProtocolViolation, "overflows"},
		{"redirect truncated", Draft18, nil, frame(MsgRequestError, vi(uint64(RequestRedirect), 0, 0)), ErrProtocolViolation, "truncated"},
		{"range filter truncated", Draft19, nil, sub(vi(1, ParamSubgroupFilter, 2), []byte{0}, []byte{0x80}), ErrProtocolViolation, "truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadMessage(bytes.NewReader(c.in), c.v, c.lim)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Code != c.code || !strings.Contains(e.Error(), c.words) {
				t.Fatalf("err = %v, want code %s mentioning %q", err, c.code, c.words)
			}
			if code, ok := CodeOf(err); !ok || code != c.code || !errors.Is(err, c.code) {
				t.Fatalf("CodeOf/Is mismatch for %v", err)
			}
			_, _, err2 := ParseMessage(c.in, c.v, c.lim)
			if !errors.Is(err2, c.code) {
				t.Fatalf("ParseMessage err = %v", err2)
			}
		})
	}
}

func TestMessageEncodeErrors(t *testing.T) {
	cases := []struct {
		name string
		v    Version
		m    Message
	}{
		{"version 17", 17, &RequestOK{}},
		{"foreign message", Draft18, foreign{}},
		{"goaway request id 19", Draft19, &GoAway{HasRequestID: true}},
		{"empty namespace field", Draft18, &NamespaceMsg{Suffix: Namespace{[]byte{}}}},
		{"33 fields", Draft18, &NamespaceMsg{Suffix: make(Namespace, 33)}},
		{"param not allowed", Draft18, &SubscribeOK{Params: Params{Forward: Ptr(true)}}},
		{"range filter in 18", Draft18, &Subscribe{Params: Params{RangeFilters: []RangeFilter{{Type: ParamSubgroupFilter}}}}},
		{"bad group order", Draft18, &Subscribe{Params: Params{GroupOrder: Ptr(GroupOrder(7))}}},
		{"bad filter", Draft18, &Subscribe{Params: Params{SubscriptionFilter: &SubscriptionFilter{Type: 9}}}},
		{"descending ranges", Draft19, &Subscribe{Params: Params{RangeFilters: []RangeFilter{{Type: ParamSubgroupFilter, Ranges: []Range{{5, 6}, {1, 2}}}}}}},
		{"redirect without code", Draft18, &RequestError{Redirect: &Redirect{}}},
		{"redirect code without redirect", Draft18, &RequestError{Code: RequestRedirect}},
		{"unsorted properties", Draft18, &SubscribeOK{Properties: props(KeyValue{Type: 4}, KeyValue{Type: 2})}},
		{"fetch type 0", Draft18, &Fetch{}},
		{"too long", Draft18, &PublishSkipped{Suffix: NewNamespace("a"), Name: make([]byte, 70000)}},
		{"reason too long", Draft18, &PublishDone{Reason: strings.Repeat("x", 1025)}},
		{"known option in unknown", Draft18, &Setup{Unknown: []KeyValue{{Type: OptPath}}}},
		{"token alias type", Draft18, &Setup{AuthorizationTokens: []Token{{AliasType: 5}}}},
	}
	for _, c := range cases {
		b, err := AppendMessage([]byte{1, 2}, c.v, c.m)
		if err == nil {
			t.Errorf("%s: AppendMessage succeeded", c.name)
		}
		if len(b) != 2 {
			t.Errorf("%s: AppendMessage left %d bytes, want the input back", c.name, len(b))
		}
	}
}

type foreign struct{}

func (foreign) Type() uint64 { return 1 }

func TestALPN(t *testing.T) {
	for _, v := range Supported {
		got, ok := ParseALPN(v.ALPN())
		if !ok || got != v {
			t.Errorf("ParseALPN(%q) = %v, %v", v.ALPN(), got, ok)
		}
	}
	if Draft18.ALPN() != "moqt-18" || Draft19.ALPN() != "moqt-19" {
		t.Errorf("ALPN names: %s %s", Draft18.ALPN(), Draft19.ALPN())
	}
	if _, ok := ParseALPN("moqt-17"); ok {
		t.Error("moqt-17 accepted")
	}
}

func TestLocationOrder(t *testing.T) {
	a, b, c := Location{1, 5}, Location{2, 0}, Location{2, 1}
	if !a.Less(b) || !b.Less(c) || c.Less(a) || a.Compare(a) != 0 || c.Compare(b) != 1 {
		t.Error("Location ordering wrong")
	}
}

func TestLimitsZeroFieldsUseDefaults(t *testing.T) {
	lim := &Limits{MaxParams: 1} // every other field falls back to DefaultLimits
	m := &Subscribe{Track: testTrack, Params: Params{SubscriberPriority: Ptr[uint8](1)}}
	b, _ := AppendMessage(nil, Draft18, m)
	if _, err := ReadMessage(bytes.NewReader(b), Draft18, lim); err != nil {
		t.Fatalf("one parameter under MaxParams=1: %v", err)
	}
	m.Params.Forward = Ptr(true)
	b, _ = AppendMessage(nil, Draft18, m)
	if _, err := ReadMessage(bytes.NewReader(b), Draft18, lim); !errors.Is(err, ErrProtocolViolation) {
		t.Fatalf("two parameters under MaxParams=1: %v", err)
	}
	// Setup options are not message parameters: MaxParams does not bound them.
	s := &Setup{Unknown: []KeyValue{{Type: 0x9D, Bytes: []byte("a")}, {Type: 0x11C, Value: 1}}}
	b, _ = AppendMessage(nil, Draft19, s)
	if _, err := ReadMessage(bytes.NewReader(b), Draft19, lim); err != nil {
		t.Fatalf("two setup options under MaxParams=1: %v", err)
	}
	if MessageName(Draft18, MsgPublishBlocked) != "PUBLISH_BLOCKED" || MessageName(Draft19, MsgPublishSkipped) != "PUBLISH_SKIPPED" {
		t.Error("MessageName")
	}
}

func TestRangeFilterTypeChecked(t *testing.T) {
	m := &Subscribe{Params: Params{RangeFilters: []RangeFilter{{Type: 0x30}}}}
	if _, err := AppendMessage(nil, Draft19, m); err == nil {
		t.Fatal("range filter with type 0x30 encoded")
	}
}

// TestSetupUnknownOptionsAreIgnored: unknown setup options are ignored
// (draft-18 and -19 §10.3), so a SETUP with many of them (greasing, or
// options of extensions this end does not know) is accepted; only their
// count (MaxSetupOptions) and bytes (MaxUnknownSetupBytes) are bounded.
func TestSetupUnknownOptionsAreIgnored(t *testing.T) {
	grease := func(n int, valueLen int) *Setup {
		s := &Setup{MoqtImplementation: Ptr("peer")}
		for i := range n {
			// Greasing types are 0x7f*N + 0x9D (§14 {#grease}); every other one is
			// odd, a type that carries bytes.
			s.Unknown = append(s.Unknown, KeyValue{Type: 0x9D + 0x7f*2*uint64(i), Bytes: bytes.Repeat([]byte("g"), valueLen)})
		}
		return s
	}
	small := DefaultLimits()
	small.MaxSetupOptions = 10
	small.MaxUnknownSetupBytes = 100
	cases := []struct {
		name    string
		lim     *Limits
		setup   *Setup
		unknown int    // options kept in Unknown when accepted
		words   string // the limit named when refused
	}{
		{"65 unknown options", nil, grease(65, 1), 65, ""},
		{"2000 unknown options", nil, grease(2000, 1), 2000, ""},
		{"repeated unknown option", nil, &Setup{Unknown: []KeyValue{{Type: 0x9D, Bytes: []byte("a")}, {Type: 0x9D, Bytes: []byte("b")}}}, 2, ""},
		{"count over MaxSetupOptions", small, grease(10, 1), 0, "MaxSetupOptions"},
		{"bytes over MaxUnknownSetupBytes", small, grease(2, 60), 0, "MaxUnknownSetupBytes"},
		{"known options do not count as unknown bytes", small, &Setup{MoqtImplementation: Ptr(string(bytes.Repeat([]byte("i"), 500)))}, 0, ""},
		{"default byte bound", nil, grease(5, 4000), 0, "MaxUnknownSetupBytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := AppendMessage(nil, Draft19, tc.setup)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ReadMessage(bytes.NewReader(b), Draft19, tc.lim)
			if tc.words != "" {
				if !errors.Is(err, ErrProtocolViolation) || !strings.Contains(err.Error(), tc.words) {
					t.Fatalf("got %v, want a PROTOCOL_VIOLATION naming %s", err, tc.words)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			got := m.(*Setup)
			if len(got.Unknown) != tc.unknown || (tc.setup.MoqtImplementation != nil && got.MoqtImplementation == nil) {
				t.Fatalf("kept %d unknown options (want %d), implementation %v", len(got.Unknown), tc.unknown, got.MoqtImplementation)
			}
		})
	}
}
