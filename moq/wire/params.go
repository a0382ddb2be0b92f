package wire

import (
	"errors"
	"fmt"
	"math"
)

// Message Parameter types, draft-ietf-moq-transport-18 §10.2 {#message-params}
// and §15.7; the range filters (0x25-0x29) are draft-19 §10.2.10-10.2.14.
const (
	ParamObjectDeliveryTimeout   uint64 = 0x02 // varint, ms (§10.2.4)
	ParamAuthorizationToken      uint64 = 0x03 // length-prefixed Token, repeatable (§10.2.2)
	ParamRendezvousTimeout       uint64 = 0x04 // varint, ms (§10.2.6)
	ParamSubgroupDeliveryTimeout uint64 = 0x06 // varint, ms (§10.2.3)
	ParamExpires                 uint64 = 0x08 // varint, ms (§10.2.10; draft-19 §10.2.15)
	ParamLargestObject           uint64 = 0x09 // Location (§10.2.11; draft-19 §10.2.16)
	ParamFillTimeout             uint64 = 0x0A // varint, ms (§10.2.5)
	ParamForward                 uint64 = 0x10 // uint8 0/1 (§10.2.12; draft-19 §10.2.17)
	ParamSubscriberPriority      uint64 = 0x20 // uint8 (§10.2.7)
	ParamSubscriptionFilter      uint64 = 0x21 // length-prefixed filter (§10.2.9; LOCATION_FILTER in draft-19)
	ParamGroupOrder              uint64 = 0x22 // uint8 1/2 (§10.2.8)
	ParamSubgroupFilter          uint64 = 0x25 // draft-19 range filter (§10.2.10)
	ParamObjectIDFilter          uint64 = 0x26 // draft-19 range filter (§10.2.11)
	ParamPriorityFilter          uint64 = 0x27 // draft-19 range filter (§10.2.12)
	ParamObjectPropertyFilter    uint64 = 0x28 // draft-19 range filter (§10.2.13)
	ParamTrackPropertyFilter     uint64 = 0x29 // draft-19 range filter (§10.2.14)
	ParamNewGroupRequest         uint64 = 0x32 // varint (§10.2.13; draft-19 §10.2.18)
	ParamTrackNamespacePrefix    uint64 = 0x34 // Track Namespace (§10.2.14; draft-19 §10.2.19)
)

// ParamLocationFilter is the draft-19 name of ParamSubscriptionFilter.
const ParamLocationFilter = ParamSubscriptionFilter

// GroupOrder is the GROUP_ORDER parameter and DEFAULT PUBLISHER GROUP ORDER
// property value (§10.2.8, §12.5).
type GroupOrder uint8

// Group orders.
const (
	GroupOrderAscending  GroupOrder = 0x1
	GroupOrderDescending GroupOrder = 0x2
)

// Params holds the Message Parameters of a control message (§10.2). A nil
// pointer or empty slice means the parameter is absent. Durations are in
// milliseconds, as on the wire. Parameters are encoded in ascending type
// order with delta types; decoders reject unknown types, unexpected
// duplicates, and parameters not allowed in the message (PROTOCOL_VIOLATION).
type Params struct {
	AuthorizationTokens     []Token
	ObjectDeliveryTimeout   *uint64
	RendezvousTimeout       *uint64
	SubgroupDeliveryTimeout *uint64
	Expires                 *uint64
	LargestObject           *Location
	FillTimeout             *uint64
	Forward                 *bool
	SubscriberPriority      *uint8
	// SubscriptionFilter is SUBSCRIPTION_FILTER (draft-18) / LOCATION_FILTER (draft-19).
	SubscriptionFilter *SubscriptionFilter
	GroupOrder         *GroupOrder
	// RangeFilters are the draft-19 range filters (types 0x25-0x29), in wire order.
	RangeFilters         []RangeFilter
	NewGroupRequest      *uint64
	TrackNamespacePrefix *Namespace
}

// Ptr returns a pointer to v, for filling optional Params fields.
func Ptr[T any](v T) *T { return &v }

// count returns the number of parameters that will be encoded.
func (p *Params) count() int {
	n := len(p.AuthorizationTokens) + len(p.RangeFilters)
	for _, set := range [...]bool{
		p.ObjectDeliveryTimeout != nil, p.RendezvousTimeout != nil, p.SubgroupDeliveryTimeout != nil,
		p.Expires != nil, p.LargestObject != nil, p.FillTimeout != nil, p.Forward != nil,
		p.SubscriberPriority != nil, p.SubscriptionFilter != nil, p.GroupOrder != nil,
		p.NewGroupRequest != nil, p.TrackNamespacePrefix != nil,
	} {
		if set {
			n++
		}
	}
	return n
}

// mask returns the set of parameter types present (bit t for type t < 64).
func (p *Params) mask() uint64 {
	var m uint64
	set := func(t uint64, on bool) {
		if on {
			m |= 1 << t
		}
	}
	set(ParamAuthorizationToken, len(p.AuthorizationTokens) > 0)
	set(ParamObjectDeliveryTimeout, p.ObjectDeliveryTimeout != nil)
	set(ParamRendezvousTimeout, p.RendezvousTimeout != nil)
	set(ParamSubgroupDeliveryTimeout, p.SubgroupDeliveryTimeout != nil)
	set(ParamExpires, p.Expires != nil)
	set(ParamLargestObject, p.LargestObject != nil)
	set(ParamFillTimeout, p.FillTimeout != nil)
	set(ParamForward, p.Forward != nil)
	set(ParamSubscriberPriority, p.SubscriberPriority != nil)
	set(ParamSubscriptionFilter, p.SubscriptionFilter != nil)
	set(ParamGroupOrder, p.GroupOrder != nil)
	set(ParamNewGroupRequest, p.NewGroupRequest != nil)
	set(ParamTrackNamespacePrefix, p.TrackNamespacePrefix != nil)
	for _, f := range p.RangeFilters {
		if f.Type >= ParamSubgroupFilter && f.Type <= ParamTrackPropertyFilter {
			m |= 1 << f.Type
		}
	}
	return m
}

func typeMask(ts ...uint64) uint64 {
	var m uint64
	for _, t := range ts {
		m |= 1 << t
	}
	return m
}

var (
	rangeFiltersNoTrack = typeMask(ParamSubgroupFilter, ParamObjectIDFilter, ParamPriorityFilter, ParamObjectPropertyFilter)
	rangeFiltersAll     = rangeFiltersNoTrack | typeMask(ParamTrackPropertyFilter)
	subscribeParams     = typeMask(ParamAuthorizationToken, ParamSubgroupDeliveryTimeout, ParamObjectDeliveryTimeout,
		ParamRendezvousTimeout, ParamSubscriberPriority, ParamGroupOrder, ParamSubscriptionFilter, ParamForward,
		ParamNewGroupRequest)
)

// allowedParams returns the parameter types a message may carry, from the
// "MAY appear in" sentences of §10.2.x. REQUEST_OK and REQUEST_UPDATE take
// the union over the requests they answer or update.
func allowedParams(v Version, msgType uint64) uint64 {
	var m uint64
	switch msgType {
	case MsgSubscribe, MsgTrackStatus:
		m = subscribeParams
		if v >= Draft19 {
			m |= rangeFiltersNoTrack
		}
	case MsgSubscribeOK:
		m = typeMask(ParamExpires, ParamLargestObject)
	case MsgPublish:
		m = typeMask(ParamAuthorizationToken, ParamExpires, ParamLargestObject, ParamForward)
		if v >= Draft19 {
			m |= typeMask(ParamGroupOrder) // §10.19.1: PUBLISH resulting from SUBSCRIBE_TRACKS
		}
	case MsgRequestOK:
		m = typeMask(ParamSubgroupDeliveryTimeout, ParamObjectDeliveryTimeout, ParamSubscriberPriority,
			ParamSubscriptionFilter, ParamExpires, ParamLargestObject, ParamForward, ParamNewGroupRequest)
		if v == Draft18 {
			m |= typeMask(ParamGroupOrder)
		} else {
			m |= rangeFiltersNoTrack
		}
	case MsgRequestUpdate:
		m = typeMask(ParamAuthorizationToken, ParamSubgroupDeliveryTimeout, ParamObjectDeliveryTimeout,
			ParamSubscriberPriority, ParamSubscriptionFilter, ParamForward, ParamNewGroupRequest,
			ParamTrackNamespacePrefix)
		if v >= Draft19 {
			m |= rangeFiltersAll
		}
	case MsgFetch:
		m = typeMask(ParamAuthorizationToken, ParamFillTimeout, ParamSubscriberPriority, ParamGroupOrder)
		if v >= Draft19 {
			m |= rangeFiltersNoTrack
		}
	case MsgPublishNamespace, MsgSubscribeNamespace:
		m = typeMask(ParamAuthorizationToken)
	case MsgSubscribeTracks:
		m = typeMask(ParamAuthorizationToken, ParamForward)
		if v >= Draft19 {
			m |= subscribeParams | rangeFiltersAll
		}
	}
	return m
}

// paramName returns a readable name for errors.
func paramName(t uint64) string {
	switch t {
	case ParamObjectDeliveryTimeout:
		return "OBJECT_DELIVERY_TIMEOUT"
	case ParamAuthorizationToken:
		return "AUTHORIZATION_TOKEN"
	case ParamRendezvousTimeout:
		return "RENDEZVOUS_TIMEOUT"
	case ParamSubgroupDeliveryTimeout:
		return "SUBGROUP_DELIVERY_TIMEOUT"
	case ParamExpires:
		return "EXPIRES"
	case ParamLargestObject:
		return "LARGEST_OBJECT"
	case ParamFillTimeout:
		return "FILL_TIMEOUT"
	case ParamForward:
		return "FORWARD"
	case ParamSubscriberPriority:
		return "SUBSCRIBER_PRIORITY"
	case ParamSubscriptionFilter:
		return "SUBSCRIPTION_FILTER"
	case ParamGroupOrder:
		return "GROUP_ORDER"
	case ParamSubgroupFilter:
		return "SUBGROUP_FILTER"
	case ParamObjectIDFilter:
		return "OBJECTID_FILTER"
	case ParamPriorityFilter:
		return "PRIORITY_FILTER"
	case ParamObjectPropertyFilter:
		return "OBJECT_PROPERTY_FILTER"
	case ParamTrackPropertyFilter:
		return "TRACK_PROPERTY_FILTER"
	case ParamNewGroupRequest:
		return "NEW_GROUP_REQUEST"
	case ParamTrackNamespacePrefix:
		return "TRACK_NAMESPACE_PREFIX"
	}
	return fmt.Sprintf("0x%x", t)
}

// knownParam reports whether t is a parameter of version v.
func knownParam(v Version, t uint64) bool {
	switch t {
	case ParamObjectDeliveryTimeout, ParamAuthorizationToken, ParamRendezvousTimeout,
		ParamSubgroupDeliveryTimeout, ParamExpires, ParamLargestObject, ParamFillTimeout, ParamForward,
		ParamSubscriberPriority, ParamSubscriptionFilter, ParamGroupOrder, ParamNewGroupRequest,
		ParamTrackNamespacePrefix:
		return true
	case ParamSubgroupFilter, ParamObjectIDFilter, ParamPriorityFilter, ParamObjectPropertyFilter,
		ParamTrackPropertyFilter:
		return v >= Draft19
	}
	return false
}

// repeatable reports whether a parameter type may appear more than once.
func repeatable(t uint64) bool {
	return t == ParamAuthorizationToken || (t >= ParamSubgroupFilter && t <= ParamTrackPropertyFilter)
}

// appendParams appends Number of Parameters and the parameters of msgType.
func appendParams(b []byte, v Version, msgType uint64, p *Params) ([]byte, error) {
	for i := range p.RangeFilters {
		if t := p.RangeFilters[i].Type; t < ParamSubgroupFilter || t > ParamTrackPropertyFilter {
			return b, fmt.Errorf("moq: range filter type 0x%x is not 0x25-0x29", t)
		}
	}
	if extra := p.mask() &^ allowedParams(v, msgType); extra != 0 {
		for t := uint64(0); t < 64; t++ {
			if extra&(1<<t) != 0 {
				if !knownParam(v, t) {
					return b, fmt.Errorf("moq: parameter %s does not exist in %s", paramName(t), v)
				}
				return b, fmt.Errorf("moq: parameter %s not allowed in message 0x%x", paramName(t), msgType)
			}
		}
	}
	b = AppendVarint(b, uint64(p.count()))
	var prev uint64
	put := func(t uint64) {
		b = AppendVarint(b, t-prev)
		prev = t
	}
	putVarint := func(t uint64, x *uint64) {
		if x != nil {
			put(t)
			b = AppendVarint(b, *x)
		}
	}
	putVarint(ParamObjectDeliveryTimeout, p.ObjectDeliveryTimeout)
	for i := range p.AuthorizationTokens {
		tk := &p.AuthorizationTokens[i]
		put(ParamAuthorizationToken)
		b = AppendVarint(b, uint64(tokenLen(tk)))
		var err error
		if b, err = appendToken(b, tk); err != nil {
			return b, err
		}
	}
	putVarint(ParamRendezvousTimeout, p.RendezvousTimeout)
	putVarint(ParamSubgroupDeliveryTimeout, p.SubgroupDeliveryTimeout)
	putVarint(ParamExpires, p.Expires)
	if p.LargestObject != nil {
		put(ParamLargestObject)
		b = appendLocation(b, *p.LargestObject)
	}
	putVarint(ParamFillTimeout, p.FillTimeout)
	if p.Forward != nil {
		put(ParamForward)
		if *p.Forward {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	if p.SubscriberPriority != nil {
		put(ParamSubscriberPriority)
		b = append(b, *p.SubscriberPriority)
	}
	if f := p.SubscriptionFilter; f != nil {
		if err := f.check(); err != nil {
			return b, err
		}
		put(ParamSubscriptionFilter)
		b = AppendVarint(b, uint64(f.len()))
		b = f.append(b)
	}
	if p.GroupOrder != nil {
		if *p.GroupOrder != GroupOrderAscending && *p.GroupOrder != GroupOrderDescending {
			return b, fmt.Errorf("moq: invalid group order %d", *p.GroupOrder)
		}
		put(ParamGroupOrder)
		b = append(b, byte(*p.GroupOrder))
	}
	for t := ParamSubgroupFilter; t <= ParamTrackPropertyFilter; t++ {
		for i := range p.RangeFilters {
			f := &p.RangeFilters[i]
			if f.Type != t {
				continue
			}
			n, err := f.len()
			if err != nil {
				return b, err
			}
			put(t)
			b = AppendVarint(b, uint64(n))
			b = f.append(b)
		}
	}
	putVarint(ParamNewGroupRequest, p.NewGroupRequest)
	if p.TrackNamespacePrefix != nil {
		if err := checkNamespace(*p.TrackNamespacePrefix); err != nil {
			return b, err
		}
		put(ParamTrackNamespacePrefix)
		b = appendNamespace(b, *p.TrackNamespacePrefix)
	}
	return b, nil
}

// errDup is the reason for a repeated non-repeatable parameter.
var errDup = errors.New("duplicate parameter")

// params reads Number of Parameters and the parameters of msgType.
func (d *decoder) params(v Version, msgType uint64) Params {
	var p Params
	n := d.varint("number of parameters")
	if d.err != nil {
		return p
	}
	maxParams := d.lim.params()
	if n > uint64(maxParams) {
		d.fail(limitExceeded("MaxParams", n, maxParams))
		return p
	}
	if n > uint64(len(d.b)) {
		d.fail(truncated("parameters"))
		return p
	}
	allowed := allowedParams(v, msgType)
	var prev uint64
	var seen uint64
	for i := uint64(0); i < n && d.err == nil; i++ {
		delta := d.varint("parameter type")
		if d.err != nil {
			return p
		}
		if delta > math.MaxUint64-prev {
			d.fail(protocolViolation("parameter type delta overflows"))
			return p
		}
		t := prev + delta
		prev = t
		if !knownParam(v, t) {
			d.fail(protocolViolation("unknown parameter type 0x%x", t))
			return p
		}
		misplaced := allowed&(1<<t) == 0
		if misplaced && d.lim.Quirks&QuirkMisplacedParams == 0 {
			d.fail(protocolViolation("parameter %s not allowed in message 0x%x", paramName(t), msgType))
			return p
		}
		if seen&(1<<t) != 0 && !repeatable(t) {
			d.fail(protocolViolation("%v %s", errDup, paramName(t)))
			return p
		}
		seen |= 1 << t
		var kept Params
		if misplaced {
			kept = p // the value is read for its length, then dropped
		}
		switch t {
		case ParamObjectDeliveryTimeout:
			p.ObjectDeliveryTimeout = Ptr(d.varint(paramName(t)))
		case ParamRendezvousTimeout:
			p.RendezvousTimeout = Ptr(d.varint(paramName(t)))
		case ParamSubgroupDeliveryTimeout:
			p.SubgroupDeliveryTimeout = Ptr(d.varint(paramName(t)))
		case ParamExpires:
			p.Expires = Ptr(d.varint(paramName(t)))
		case ParamFillTimeout:
			p.FillTimeout = Ptr(d.varint(paramName(t)))
		case ParamNewGroupRequest:
			p.NewGroupRequest = Ptr(d.varint(paramName(t)))
		case ParamLargestObject:
			if d.lim.Quirks&QuirkLengthPrefixedLocation != 0 {
				raw := d.lenBytes(paramName(t), "MaxMessageLength", 2*MaxVarintLen)
				if d.err != nil {
					return p
				}
				inner := decoder{b: raw, lim: d.lim}
				p.LargestObject = Ptr(inner.location(paramName(t)))
				if inner.err == nil && !inner.empty() {
					inner.fail(protocolViolation("LARGEST_OBJECT: trailing bytes"))
				}
				if inner.err != nil {
					d.fail(inner.err)
				}
				break
			}
			p.LargestObject = Ptr(d.location(paramName(t)))
		case ParamForward:
			p.Forward = Ptr(d.bool8(paramName(t)))
		case ParamSubscriberPriority:
			p.SubscriberPriority = Ptr(d.u8(paramName(t)))
		case ParamGroupOrder:
			o := GroupOrder(d.u8(paramName(t)))
			if d.err == nil && o != GroupOrderAscending && o != GroupOrderDescending {
				d.fail(protocolViolation("GROUP_ORDER %d not 1 or 2", o))
			}
			p.GroupOrder = &o
		case ParamAuthorizationToken:
			raw := d.lenBytes(paramName(t), "MaxTokenLength", d.lim.tokenLength()+2*MaxVarintLen+1)
			if d.err != nil {
				return p
			}
			tk, err := parseToken(raw, d.lim)
			if err != nil {
				d.fail(err)
				return p
			}
			p.AuthorizationTokens = append(p.AuthorizationTokens, tk)
		case ParamSubscriptionFilter:
			raw := d.lenBytes(paramName(t), "MaxMessageLength", maxMessageLength)
			if d.err != nil {
				return p
			}
			f, err := parseSubscriptionFilter(raw)
			if err != nil {
				d.fail(err)
				return p
			}
			p.SubscriptionFilter = &f
		case ParamSubgroupFilter, ParamObjectIDFilter, ParamPriorityFilter, ParamObjectPropertyFilter,
			ParamTrackPropertyFilter:
			raw := d.lenBytes(paramName(t), "MaxMessageLength", maxMessageLength)
			if d.err != nil {
				return p
			}
			f, err := parseRangeFilter(t, raw)
			if err != nil {
				d.fail(err)
				return p
			}
			p.RangeFilters = append(p.RangeFilters, f)
		case ParamTrackNamespacePrefix:
			ns := d.namespace(paramName(t))
			p.TrackNamespacePrefix = &ns
		}
		if misplaced {
			p = kept
		}
	}
	return p
}
