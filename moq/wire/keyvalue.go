package wire

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// KeyValue is one Key-Value-Pair, draft-ietf-moq-transport-18 §1.4.3
// {#moq-key-value-pair}: an even Type carries a varint Value, an odd Type
// carries Bytes (at most 65535 bytes).
type KeyValue struct {
	Type  uint64
	Value uint64
	Bytes []byte
}

// IsBytes reports whether the type carries a length-prefixed byte value (odd types).
func (kv KeyValue) IsBytes() bool { return kv.Type&1 == 1 }

// String renders the pair for logs.
func (kv KeyValue) String() string {
	if kv.IsBytes() {
		return fmt.Sprintf("0x%x=%q", kv.Type, kv.Bytes)
	}
	return fmt.Sprintf("0x%x=%d", kv.Type, kv.Value)
}

// appendKVs appends pairs with delta-encoded types; types must be non-decreasing.
func appendKVs(b []byte, kvs []KeyValue) ([]byte, error) {
	var prev uint64
	for _, kv := range kvs {
		if kv.Type < prev {
			return b, fmt.Errorf("moq: key-value types not in ascending order (0x%x after 0x%x)", kv.Type, prev)
		}
		b = AppendVarint(b, kv.Type-prev)
		prev = kv.Type
		if kv.IsBytes() {
			if len(kv.Bytes) > maxKVLength {
				return b, fmt.Errorf("moq: key-value 0x%x longer than 65535 bytes", kv.Type)
			}
			b = appendLenBytes(b, kv.Bytes)
		} else {
			b = AppendVarint(b, kv.Value)
		}
	}
	return b, nil
}

// kvs reads Key-Value-Pairs until the decoder is empty.
func (d *decoder) kvs(what string, maxCount int) []KeyValue {
	var out []KeyValue
	var prev uint64
	for d.err == nil && len(d.b) > 0 {
		kv := d.kv(what, &prev)
		if d.err != nil {
			return nil
		}
		if maxCount > 0 && len(out) == maxCount {
			d.fail(limitExceeded("MaxParams", uint64(maxCount)+1, maxCount))
			return nil
		}
		out = append(out, kv)
	}
	if d.err != nil {
		return nil
	}
	return out
}

// kv reads one Key-Value-Pair whose type is a delta from *prev, and moves
// *prev to its type.
func (d *decoder) kv(what string, prev *uint64) KeyValue {
	delta := d.varint(what + " type")
	if d.err != nil {
		return KeyValue{}
	}
	if delta > math.MaxUint64-*prev {
		d.fail(protocolViolation("%s: type delta overflows", what))
		return KeyValue{}
	}
	kv := KeyValue{Type: *prev + delta}
	*prev = kv.Type
	if kv.IsBytes() {
		n := d.varint(what + " length")
		if d.err != nil {
			return KeyValue{}
		}
		if n > maxKVLength {
			d.fail(protocolViolation("%s: value length %d exceeds 65535", what, n))
			return KeyValue{}
		}
		kv.Bytes = d.take(n, what+" value")
	} else {
		kv.Value = d.varint(what + " value")
	}
	return kv
}

// Property types, draft-ietf-moq-transport-18 §12 {#moqt-properties} and §15.8 {#iana-properties}.
const (
	PropObjectDeliveryTimeout    uint64 = 0x02 // Track (draft-19: also Object), ms
	PropMaxCacheDuration         uint64 = 0x04 // Track, ms
	PropSubgroupDeliveryTimeout  uint64 = 0x06 // Track (draft-19: also Object), ms
	PropImmutable                uint64 = 0x0B // Track or Object, nested pairs
	PropDefaultPublisherPriority uint64 = 0x0E // Track, 0-255
	PropDefaultGroupOrder        uint64 = 0x22 // Track, 1 ascending / 2 descending
	PropDynamicGroups            uint64 = 0x30 // Track, 0 or 1
	PropPriorGroupIDGap          uint64 = 0x3C // Object
	PropPriorObjectIDGap         uint64 = 0x3E // Object
)

// Properties is a list of Track or Object Properties (§2.5 {#properties}),
// kept sorted by Type (stable for repeated types) so it encodes with
// non-negative type deltas. Getters also look inside IMMUTABLE_PROPERTIES
// (§12.7), as the draft requires.
type Properties []KeyValue

// ParseProperties decodes a Key-Value-Pair sequence spanning all of b.
// The result aliases b.
func ParseProperties(b []byte) (Properties, error) {
	d := decoder{b: b, lim: defaultLimits}
	p := Properties(d.kvs("property", 0))
	if d.err != nil {
		return nil, d.err
	}
	return p, nil
}

// Append appends the properties as a Key-Value-Pair sequence (no length prefix).
func (p Properties) Append(b []byte) ([]byte, error) { return appendKVs(b, p) }

// Len returns the encoded length in bytes (for sorted, valid properties).
func (p Properties) Len() int {
	n := 0
	var prev uint64
	for _, kv := range p {
		n += VarintLen(kv.Type - prev)
		prev = kv.Type
		if kv.IsBytes() {
			n += VarintLen(uint64(len(kv.Bytes))) + len(kv.Bytes)
		} else {
			n += VarintLen(kv.Value)
		}
	}
	return n
}

// Get returns the first pair of type t, searching the mutable list first and
// then IMMUTABLE_PROPERTIES.
func (p Properties) Get(t uint64) (KeyValue, bool) {
	for _, kv := range p {
		if kv.Type == t {
			return kv, true
		}
	}
	if t == PropImmutable {
		return KeyValue{}, false
	}
	if im, err := p.Immutable(); err == nil {
		for _, kv := range im {
			if kv.Type == t {
				return kv, true
			}
		}
	}
	return KeyValue{}, false
}

// Uint returns the varint value of even type t.
func (p Properties) Uint(t uint64) (uint64, bool) {
	kv, ok := p.Get(t)
	if !ok || kv.IsBytes() {
		return 0, false
	}
	return kv.Value, true
}

// Bytes returns the byte value of odd type t.
func (p Properties) Bytes(t uint64) ([]byte, bool) {
	kv, ok := p.Get(t)
	if !ok || !kv.IsBytes() {
		return nil, false
	}
	return kv.Bytes, true
}

// Set replaces every pair of kv.Type in the mutable list with kv, keeping the list sorted.
func (p *Properties) Set(kv KeyValue) {
	p.Delete(kv.Type)
	i := sort.Search(len(*p), func(i int) bool { return (*p)[i].Type > kv.Type })
	*p = append(*p, KeyValue{})
	copy((*p)[i+1:], (*p)[i:])
	(*p)[i] = kv
}

// Add inserts kv after any pairs of the same type (for types that may repeat).
func (p *Properties) Add(kv KeyValue) {
	i := sort.Search(len(*p), func(i int) bool { return (*p)[i].Type > kv.Type })
	*p = append(*p, KeyValue{})
	copy((*p)[i+1:], (*p)[i:])
	(*p)[i] = kv
}

// SetUint sets even type t to v.
func (p *Properties) SetUint(t, v uint64) { p.Set(KeyValue{Type: t, Value: v}) }

// SetBytes sets odd type t to b.
func (p *Properties) SetBytes(t uint64, b []byte) { p.Set(KeyValue{Type: t, Bytes: b}) }

// Delete removes every pair of type t from the mutable list.
func (p *Properties) Delete(t uint64) {
	out := (*p)[:0]
	for _, kv := range *p {
		if kv.Type != t {
			out = append(out, kv)
		}
	}
	*p = out
}

// Sorted reports whether the types are in non-decreasing order.
func (p Properties) Sorted() bool {
	for i := 1; i < len(p); i++ {
		if p[i].Type < p[i-1].Type {
			return false
		}
	}
	return true
}

// Immutable decodes the IMMUTABLE_PROPERTIES pair (§12.7), if present. A
// nested IMMUTABLE_PROPERTIES or an unparsable body makes the track malformed
// (§2.4.2) and returns an error.
func (p Properties) Immutable() (Properties, error) {
	for _, kv := range p {
		if kv.Type != PropImmutable {
			continue
		}
		im, err := ParseProperties(kv.Bytes)
		if err != nil {
			return nil, fmt.Errorf("moq: malformed immutable properties: %w", err)
		}
		for _, x := range im {
			if x.Type == PropImmutable {
				return nil, errors.New("moq: malformed track: nested immutable properties")
			}
		}
		return im, nil
	}
	return nil, nil
}

// SetImmutable stores im as the IMMUTABLE_PROPERTIES pair.
func (p *Properties) SetImmutable(im Properties) error {
	for _, x := range im {
		if x.Type == PropImmutable {
			return errors.New("moq: immutable properties cannot nest")
		}
	}
	b, err := im.Append(nil)
	if err != nil {
		return err
	}
	p.SetBytes(PropImmutable, b)
	return nil
}

// DefaultPublisherPriority returns DEFAULT PUBLISHER PRIORITY (§12.4); the draft default is 128.
func (p Properties) DefaultPublisherPriority() (uint8, bool) {
	v, ok := p.Uint(PropDefaultPublisherPriority)
	if !ok || v > 255 {
		return 128, false
	}
	return uint8(v), true
}

// SetDefaultPublisherPriority sets DEFAULT PUBLISHER PRIORITY.
func (p *Properties) SetDefaultPublisherPriority(v uint8) {
	p.SetUint(PropDefaultPublisherPriority, uint64(v))
}

// DefaultGroupOrder returns DEFAULT PUBLISHER GROUP ORDER (§12.5); the draft default is ascending.
func (p Properties) DefaultGroupOrder() (GroupOrder, bool) {
	v, ok := p.Uint(PropDefaultGroupOrder)
	if !ok || (v != uint64(GroupOrderAscending) && v != uint64(GroupOrderDescending)) {
		return GroupOrderAscending, false
	}
	return GroupOrder(v), true
}

// SetDefaultGroupOrder sets DEFAULT PUBLISHER GROUP ORDER.
func (p *Properties) SetDefaultGroupOrder(o GroupOrder) { p.SetUint(PropDefaultGroupOrder, uint64(o)) }

// MaxCacheDuration returns MAX CACHE DURATION in milliseconds (§12.3).
func (p Properties) MaxCacheDuration() (uint64, bool) { return p.Uint(PropMaxCacheDuration) }

// SetMaxCacheDuration sets MAX CACHE DURATION in milliseconds.
func (p *Properties) SetMaxCacheDuration(ms uint64) { p.SetUint(PropMaxCacheDuration, ms) }

// DynamicGroups returns DYNAMIC GROUPS (§12.6); absent means false.
func (p Properties) DynamicGroups() (bool, bool) {
	v, ok := p.Uint(PropDynamicGroups)
	return ok && v == 1, ok
}

// SetDynamicGroups sets DYNAMIC GROUPS.
func (p *Properties) SetDynamicGroups(on bool) {
	var v uint64
	if on {
		v = 1
	}
	p.SetUint(PropDynamicGroups, v)
}

// ObjectDeliveryTimeout returns OBJECT_DELIVERY_TIMEOUT in milliseconds (§12.2).
func (p Properties) ObjectDeliveryTimeout() (uint64, bool) { return p.Uint(PropObjectDeliveryTimeout) }

// SetObjectDeliveryTimeout sets OBJECT_DELIVERY_TIMEOUT in milliseconds.
func (p *Properties) SetObjectDeliveryTimeout(ms uint64) { p.SetUint(PropObjectDeliveryTimeout, ms) }

// SubgroupDeliveryTimeout returns SUBGROUP_DELIVERY_TIMEOUT in milliseconds (§12.1).
func (p Properties) SubgroupDeliveryTimeout() (uint64, bool) {
	return p.Uint(PropSubgroupDeliveryTimeout)
}

// SetSubgroupDeliveryTimeout sets SUBGROUP_DELIVERY_TIMEOUT in milliseconds.
func (p *Properties) SetSubgroupDeliveryTimeout(ms uint64) {
	p.SetUint(PropSubgroupDeliveryTimeout, ms)
}

// PriorGroupIDGap returns Prior Group ID Gap (§12.8).
func (p Properties) PriorGroupIDGap() (uint64, bool) { return p.Uint(PropPriorGroupIDGap) }

// SetPriorGroupIDGap sets Prior Group ID Gap.
func (p *Properties) SetPriorGroupIDGap(n uint64) { p.SetUint(PropPriorGroupIDGap, n) }

// PriorObjectIDGap returns Prior Object ID Gap (§12.9).
func (p Properties) PriorObjectIDGap() (uint64, bool) { return p.Uint(PropPriorObjectIDGap) }

// SetPriorObjectIDGap sets Prior Object ID Gap.
func (p *Properties) SetPriorObjectIDGap(n uint64) { p.SetUint(PropPriorObjectIDGap, n) }

// validateTrack checks the values of known Track Properties whose range the
// draft bounds (§12.4-12.6): out of range is a PROTOCOL_VIOLATION.
func (p Properties) validateTrack() *Error {
	for _, kv := range p {
		switch kv.Type {
		case PropDefaultPublisherPriority:
			if kv.Value > 255 {
				return protocolViolation("DEFAULT_PUBLISHER_PRIORITY %d above 255", kv.Value)
			}
		case PropDefaultGroupOrder:
			if kv.Value != 1 && kv.Value != 2 {
				return protocolViolation("DEFAULT_PUBLISHER_GROUP_ORDER %d not 1 or 2", kv.Value)
			}
		case PropDynamicGroups:
			if kv.Value > 1 {
				return protocolViolation("DYNAMIC_GROUPS %d above 1", kv.Value)
			}
		}
	}
	return nil
}

// IsMandatoryTrackProperty reports whether t is in the Mandatory Track
// Property range 0x4000-0x7FFF (§2.5.1 {#mandatory-track-properties}).
func IsMandatoryTrackProperty(t uint64) bool { return t >= 0x4000 && t <= 0x7FFF }

// UnknownMandatory returns the first Mandatory Track Property type that
// known does not recognise, for answering UNSUPPORTED_EXTENSION (§2.5.1).
func (p Properties) UnknownMandatory(known func(uint64) bool) (uint64, bool) {
	for _, kv := range p {
		if IsMandatoryTrackProperty(kv.Type) && (known == nil || !known(kv.Type)) {
			return kv.Type, true
		}
	}
	return 0, false
}
