package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
)

// msgCase is one row of the control message table: it drives the round-trip
// test, the negative tests and the seeds of FuzzReadMessage.
type msgCase struct {
	name string
	v    Version
	m    Message
}

var (
	testTrack = FullTrackName{Namespace: NewNamespace("example.net", "team2", "project_x"), Name: []byte("report")}
	testToken = Token{AliasType: AliasUseValue, Type: 7, Value: []byte("secret-token")}
)

// both returns the case for draft-18 and draft-19.
func both(name string, mk func() Message) []msgCase {
	return []msgCase{{name + "/18", Draft18, mk()}, {name + "/19", Draft19, mk()}}
}

func props(kvs ...KeyValue) Properties { return Properties(kvs) }

// messageCases covers every control message of both drafts.
func messageCases() []msgCase {
	var cs []msgCase
	add := func(c ...msgCase) { cs = append(cs, c...) }
	add(both("setup-empty", func() Message { return &Setup{} })...)
	add(both("setup-client", func() Message {
		return &Setup{
			Path: Ptr("/moq?room=1"), Authority: Ptr("relay.example:4443"),
			AuthorizationTokens: []Token{
				{AliasType: AliasRegister, Alias: 1, Type: 0, Value: []byte("tok")},
				{AliasType: AliasUseValue, Type: 2, Value: []byte("other")},
			},
			MaxAuthTokenCacheSize: Ptr[uint64](4096), MoqtImplementation: Ptr("tributary/0.1"),
			MaxFilterRanges: Ptr[uint64](16), MaxRequestUpdates: Ptr[uint64](4),
			Unknown: []KeyValue{{Type: 0x02, Value: 9}, {Type: 0x9D, Bytes: []byte("grease")}, {Type: 0x9D, Bytes: []byte("again")}},
		}
	})...)
	add(both("setup-delete-alias-token", func() Message {
		return &Setup{AuthorizationTokens: []Token{{AliasType: AliasDelete, Alias: 3}, {AliasType: AliasUseAlias, Alias: 4}}}
	})...)
	add(msgCase{"goaway-control/18", Draft18, &GoAway{NewSessionURI: "moqt://other.example/x", Timeout: 5000, HasRequestID: true, RequestID: 6}})
	add(msgCase{"goaway-request/18", Draft18, &GoAway{Timeout: 1}})
	add(msgCase{"goaway/19", Draft19, &GoAway{NewSessionURI: "https://other.example/x", Timeout: 5000}})
	add(both("subscribe-minimal", func() Message { return &Subscribe{RequestID: 0, Track: testTrack} })...)
	add(both("subscribe-full", func() Message {
		return &Subscribe{RequestID: 2, Track: testTrack, Params: Params{
			AuthorizationTokens:     []Token{testToken, {AliasType: AliasUseAlias, Alias: 1}},
			ObjectDeliveryTimeout:   Ptr[uint64](100),
			RendezvousTimeout:       Ptr[uint64](2000),
			SubgroupDeliveryTimeout: Ptr[uint64](300),
			Forward:                 Ptr(false),
			SubscriberPriority:      Ptr[uint8](7),
			SubscriptionFilter:      &SubscriptionFilter{Type: FilterAbsoluteRange, Start: Location{10, 2}, EndGroupDelta: 5},
			GroupOrder:              Ptr(GroupOrderDescending),
			NewGroupRequest:         Ptr[uint64](0),
		}}
	})...)
	for _, ft := range []FilterType{FilterNextGroupStart, FilterLargestObject, FilterAbsoluteStart} {
		add(both(fmt.Sprintf("subscribe-filter-%d", ft), func() Message {
			return &Subscribe{RequestID: 4, Track: FullTrackName{Namespace: NewNamespace("a")},
				Params: Params{SubscriptionFilter: &SubscriptionFilter{Type: ft, Start: startFor(ft)}}}
		})...)
	}
	add(msgCase{"subscribe-range-filters/19", Draft19, &Subscribe{RequestID: 8, Track: testTrack, Params: Params{
		RangeFilters: []RangeFilter{
			{Type: ParamSubgroupFilter, SetID: 0, Ranges: []Range{{3, 5}, {10, 15}}},
			{Type: ParamObjectIDFilter, SetID: 1, Ranges: []Range{{0, 0}, {7, ^uint64(0)}}, OpenEnd: true},
			{Type: ParamPriorityFilter, SetID: 0, Ranges: []Range{{0, 127}}},
			{Type: ParamObjectPropertyFilter, SetID: 2, PropertyType: 0x3C, Ranges: []Range{{1, 1}}},
			{Type: ParamObjectPropertyFilter, SetID: 3, PropertyType: 0x06, Ranges: []Range{{5, ^uint64(0)}}, OpenEnd: true},
		},
	}}})
	add(both("subscribe-ok", func() Message {
		return &SubscribeOK{TrackAlias: 17, Params: Params{Expires: Ptr[uint64](60000), LargestObject: &Location{41, 3}},
			Properties: props(KeyValue{Type: PropObjectDeliveryTimeout, Value: 100}, KeyValue{Type: PropMaxCacheDuration, Value: 5000},
				KeyValue{Type: PropImmutable, Bytes: []byte{0x3c, 0x01}}, KeyValue{Type: PropDefaultPublisherPriority, Value: 200},
				KeyValue{Type: PropDefaultGroupOrder, Value: 2}, KeyValue{Type: PropDynamicGroups, Value: 1},
				KeyValue{Type: 0x3801, Bytes: []byte("app")}, KeyValue{Type: 0x4000, Value: 1})}
	})...)
	add(both("subscribe-ok-bare", func() Message { return &SubscribeOK{TrackAlias: 1 << 40} })...)
	add(both("request-update-sub", func() Message {
		return &RequestUpdate{RequestID: 10, Params: Params{
			AuthorizationTokens: []Token{testToken}, SubscriberPriority: Ptr[uint8](1), Forward: Ptr(true),
			SubscriptionFilter: &SubscriptionFilter{Type: FilterAbsoluteStart, Start: Location{9, 0}},
			NewGroupRequest:    Ptr[uint64](43), ObjectDeliveryTimeout: Ptr[uint64](0), SubgroupDeliveryTimeout: Ptr[uint64](1),
		}}
	})...)
	add(both("request-update-prefix", func() Message {
		return &RequestUpdate{RequestID: 12, Params: Params{TrackNamespacePrefix: &Namespace{[]byte("live")}}}
	})...)
	add(both("request-update-empty-prefix", func() Message {
		return &RequestUpdate{RequestID: 12, Params: Params{TrackNamespacePrefix: Ptr(Namespace(nil))}}
	})...)
	add(msgCase{"request-update-remove-filter/19", Draft19, &RequestUpdate{RequestID: 14, Params: Params{RangeFilters: []RangeFilter{
		{Type: ParamSubgroupFilter, Remove: true},
		{Type: ParamTrackPropertyFilter, SetID: 9, PropertyType: 0x0E, Ranges: []Range{{0, 10}}},
	}}}})
	add(both("publish", func() Message {
		return &Publish{RequestID: 1, Track: testTrack, TrackAlias: 3, Params: Params{
			AuthorizationTokens: []Token{testToken}, Expires: Ptr[uint64](0), LargestObject: &Location{5, 0}, Forward: Ptr(true),
		}, Properties: props(KeyValue{Type: PropDefaultPublisherPriority, Value: 0})}
	})...)
	add(msgCase{"publish-group-order/19", Draft19, &Publish{RequestID: 3, Track: testTrack, TrackAlias: 4,
		Params: Params{GroupOrder: Ptr(GroupOrderAscending)}}})
	for _, c := range []PublishDoneCode{DoneInternalError, DoneTrackEnded, DoneSubscriptionEnded, DoneMalformedTrack} {
		add(both("publish-done-"+c.String(), func() Message {
			return &PublishDone{Status: c, StreamCount: StreamCountUnknown, Reason: "bye " + c.String()}
		})...)
	}
	add(both("fetch-standalone", func() Message {
		return &Fetch{RequestID: 6, FetchType: FetchStandalone, Track: testTrack, Start: Location{1, 0}, End: Location{5, 0},
			Params: Params{AuthorizationTokens: []Token{testToken}, FillTimeout: Ptr[uint64](250), SubscriberPriority: Ptr[uint8](3),
				GroupOrder: Ptr(GroupOrderDescending)}}
	})...)
	add(both("fetch-relative-joining", func() Message {
		return &Fetch{RequestID: 8, FetchType: FetchRelativeJoining, JoiningRequestID: 2, JoiningStart: 3}
	})...)
	add(both("fetch-absolute-joining", func() Message {
		return &Fetch{RequestID: 10, FetchType: FetchAbsoluteJoining, JoiningRequestID: 2, JoiningStart: 100,
			Params: Params{GroupOrder: Ptr(GroupOrderAscending)}}
	})...)
	add(msgCase{"fetch-range-filter/19", Draft19, &Fetch{RequestID: 12, FetchType: FetchStandalone, Track: testTrack,
		End: Location{1, 0}, Params: Params{RangeFilters: []RangeFilter{{Type: ParamObjectIDFilter, Ranges: []Range{{0, 4}}}}}}})
	add(both("fetch-ok", func() Message {
		return &FetchOK{EndOfTrack: true, End: Location{9, 4}, Properties: props(KeyValue{Type: PropMaxCacheDuration, Value: 1})}
	})...)
	add(both("fetch-ok-bare", func() Message { return &FetchOK{End: Location{0, 0}} })...)
	add(both("track-status", func() Message {
		return &TrackStatus{RequestID: 14, Track: testTrack, Params: Params{AuthorizationTokens: []Token{testToken}}}
	})...)
	add(both("request-ok-empty", func() Message { return &RequestOK{} })...)
	add(both("request-ok-track-status", func() Message {
		return &RequestOK{Params: Params{LargestObject: &Location{8, 8}, Expires: Ptr[uint64](10)},
			Properties: props(KeyValue{Type: PropDefaultGroupOrder, Value: 1})}
	})...)
	add(msgCase{"request-ok-publish-ok/18", Draft18, &RequestOK{Params: Params{
		SubscriberPriority: Ptr[uint8](9), GroupOrder: Ptr(GroupOrderAscending), Forward: Ptr(true),
		SubscriptionFilter: &SubscriptionFilter{Type: FilterLargestObject}, NewGroupRequest: Ptr[uint64](1),
	}}})
	add(both("request-error", func() Message {
		return &RequestError{Code: RequestDoesNotExist, RetryInterval: 0, Reason: "no such track"}
	})...)
	add(both("request-error-redirect", func() Message {
		return &RequestError{Code: RequestRedirect, RetryInterval: 1001, Reason: "moved",
			Redirect: &Redirect{ConnectURI: "moqt://edge.example:4443/", Track: testTrack}}
	})...)
	add(both("request-error-redirect-same", func() Message {
		return &RequestError{Code: RequestRedirect, Redirect: &Redirect{}}
	})...)
	add(msgCase{"request-error-invalid-filter/19", Draft19, &RequestError{Code: RequestInvalidFilter, Reason: "x"}})
	add(both("publish-namespace", func() Message {
		return &PublishNamespace{RequestID: 3, Namespace: testTrack.Namespace, Params: Params{AuthorizationTokens: []Token{testToken}}}
	})...)
	add(both("namespace", func() Message { return &NamespaceMsg{Suffix: NewNamespace("participant=100")} })...)
	add(both("namespace-done", func() Message { return &NamespaceDone{Suffix: NewNamespace("participant=100", "cam")} })...)
	add(both("subscribe-namespace", func() Message {
		return &SubscribeNamespace{RequestID: 16, Prefix: NewNamespace("example.com", "meeting=123")}
	})...)
	add(both("subscribe-namespace-empty-prefix", func() Message { return &SubscribeNamespace{RequestID: 18} })...)
	add(both("subscribe-tracks", func() Message {
		return &SubscribeTracks{RequestID: 20, Prefix: NewNamespace("live"), Params: Params{Forward: Ptr(false)}}
	})...)
	add(msgCase{"subscribe-tracks-filters/19", Draft19, &SubscribeTracks{RequestID: 22, Prefix: NewNamespace("live"), Params: Params{
		GroupOrder: Ptr(GroupOrderDescending), SubscriberPriority: Ptr[uint8](2),
		RangeFilters: []RangeFilter{{Type: ParamTrackPropertyFilter, SetID: 0, PropertyType: 0x0E, Ranges: []Range{{0, 64}}}},
	}}})
	add(both("publish-skipped", func() Message {
		return &PublishSkipped{Suffix: NewNamespace("cam"), Name: []byte("video")}
	})...)
	add(both("publish-skipped-empty-name", func() Message { return &PublishBlocked{Suffix: NewNamespace("cam")} })...)
	return cs
}

func startFor(ft FilterType) Location {
	if ft == FilterAbsoluteStart {
		return Location{3, 1}
	}
	return Location{}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, c := range messageCases() {
		t.Run(c.name, func(t *testing.T) {
			b, err := AppendMessage(nil, c.v, c.m)
			if err != nil {
				t.Fatalf("AppendMessage: %v", err)
			}
			got, err := ReadMessage(bytes.NewReader(b), c.v, nil)
			if err != nil {
				t.Fatalf("ReadMessage: %v", err)
			}
			if !reflect.DeepEqual(got, c.m) {
				t.Fatalf("ReadMessage mismatch\n got %#v\nwant %#v", got, c.m)
			}
			// Through a reader without ReadByte, and from bytes with a following message.
			got2, err := ReadMessage(struct{ io.Reader }{bytes.NewReader(b)}, c.v, nil)
			if err != nil || !reflect.DeepEqual(got2, c.m) {
				t.Fatalf("ReadMessage (plain reader): %v", err)
			}
			two := append(append([]byte{}, b...), b...)
			got3, n, err := ParseMessage(two, c.v, nil)
			if err != nil || n != len(b) || !reflect.DeepEqual(got3, c.m) {
				t.Fatalf("ParseMessage: n=%d err=%v", n, err)
			}
			// Every strict prefix is a truncation: EOF at 0 bytes, PROTOCOL_VIOLATION otherwise.
			for i := 0; i < len(b); i++ {
				_, err := ReadMessage(bytes.NewReader(b[:i]), c.v, nil)
				if i == 0 {
					if !errors.Is(err, io.EOF) {
						t.Fatalf("empty input: %v", err)
					}
					continue
				}
				if !errors.Is(err, ErrProtocolViolation) {
					t.Fatalf("prefix %d/%d: err %v, want PROTOCOL_VIOLATION", i, len(b), err)
				}
			}
		})
	}
}
