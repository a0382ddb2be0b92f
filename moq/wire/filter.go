package wire

import (
	"errors"
	"fmt"
	"math"
)

// FilterType is the Filter Type of a Subscription Filter (draft-18 §5.1.2
// {#subscription-filters}; draft-19 §5.1.2 {#location-filters}).
type FilterType uint64

// Filter types.
const (
	FilterNextGroupStart FilterType = 0x1
	FilterLargestObject  FilterType = 0x2
	FilterAbsoluteStart  FilterType = 0x3
	FilterAbsoluteRange  FilterType = 0x4
)

// SubscriptionFilter is the value of the SUBSCRIPTION_FILTER parameter
// (draft-19: LOCATION_FILTER): Filter Type, [Start Location], [End Group Delta].
type SubscriptionFilter struct {
	Type FilterType
	// Start is present for AbsoluteStart and AbsoluteRange.
	Start Location
	// EndGroupDelta is present for AbsoluteRange: the last group is
	// Start.Group + EndGroupDelta (0: the rest of the start group).
	EndGroupDelta uint64
}

// LocationFilter is the draft-19 name of SubscriptionFilter.
type LocationFilter = SubscriptionFilter

// EndGroup returns the last group that passes an AbsoluteRange filter.
func (f *SubscriptionFilter) EndGroup() uint64 { return f.Start.Group + f.EndGroupDelta }

func (f *SubscriptionFilter) check() error {
	if f.Type < FilterNextGroupStart || f.Type > FilterAbsoluteRange {
		return fmt.Errorf("moq: invalid filter type %d", f.Type)
	}
	if f.Type == FilterAbsoluteRange && f.EndGroupDelta > math.MaxUint64-f.Start.Group {
		return errors.New("moq: filter end group overflows")
	}
	return nil
}

func (f *SubscriptionFilter) len() int {
	n := VarintLen(uint64(f.Type))
	if f.Type >= FilterAbsoluteStart {
		n += VarintLen(f.Start.Group) + VarintLen(f.Start.Object)
	}
	if f.Type == FilterAbsoluteRange {
		n += VarintLen(f.EndGroupDelta)
	}
	return n
}

func (f *SubscriptionFilter) append(b []byte) []byte {
	b = AppendVarint(b, uint64(f.Type))
	if f.Type >= FilterAbsoluteStart {
		b = appendLocation(b, f.Start)
	}
	if f.Type == FilterAbsoluteRange {
		b = AppendVarint(b, f.EndGroupDelta)
	}
	return b
}

// parseSubscriptionFilter decodes a filter spanning all of b.
func parseSubscriptionFilter(b []byte) (SubscriptionFilter, *Error) {
	d := decoder{b: b, lim: defaultLimits}
	var f SubscriptionFilter
	f.Type = FilterType(d.varint("filter type"))
	if d.err == nil && (f.Type < FilterNextGroupStart || f.Type > FilterAbsoluteRange) {
		return f, protocolViolation("unknown filter type %d", f.Type)
	}
	if f.Type >= FilterAbsoluteStart {
		f.Start = d.location("filter start")
	}
	if f.Type == FilterAbsoluteRange {
		f.EndGroupDelta = d.varint("filter end group delta")
		if d.err == nil && f.EndGroupDelta > math.MaxUint64-f.Start.Group {
			return f, protocolViolation("filter end group overflows")
		}
	}
	if d.err != nil {
		return f, d.err
	}
	if !d.empty() {
		return f, protocolViolation("subscription filter: %d trailing bytes", len(d.b))
	}
	return f, nil
}

// Range is an inclusive range of values in a Range Filter (draft-19 §5.1.3 {#range-filters}).
type Range struct {
	Start uint64
	End   uint64
}

// RangeFilter is one draft-19 Range Filter parameter (§5.1.3 {#range-filters}):
// Type 0x25-0x29, Length, [SetID (8)], [Property Type], Range... with
// Start delta-encoded from the prior End and End from its Start.
type RangeFilter struct {
	// Type is the parameter type, ParamSubgroupFilter..ParamTrackPropertyFilter.
	Type uint64
	// Remove is a zero-length filter: in REQUEST_UPDATE it removes the filter.
	Remove bool
	// SetID groups filters: same SetID are ANDed, different SetIDs ORed.
	SetID uint8
	// PropertyType is present for the object and track property filters.
	PropertyType uint64
	// Ranges are absolute, inclusive, in ascending order.
	Ranges []Range
	// OpenEnd means the last range's End was omitted (no upper bound).
	OpenEnd bool
	// Invalid is set by the decoder when the deltas overflow 2^64-1 or the
	// property type is odd: the draft answers such a request with
	// REQUEST_ERROR INVALID_FILTER, not a session error.
	Invalid bool
}

func (f *RangeFilter) hasPropertyType() bool {
	return f.Type == ParamObjectPropertyFilter || f.Type == ParamTrackPropertyFilter
}

// len returns the encoded body length and checks the ranges are ascending.
func (f *RangeFilter) len() (int, error) {
	if f.Remove {
		return 0, nil
	}
	n := 1
	if f.hasPropertyType() {
		n += VarintLen(f.PropertyType)
	}
	var prevEnd uint64
	for i, r := range f.Ranges {
		last := i == len(f.Ranges)-1
		if r.Start < prevEnd || (!(last && f.OpenEnd) && r.End < r.Start) {
			return 0, errors.New("moq: range filter ranges not ascending")
		}
		n += VarintLen(r.Start - prevEnd)
		if last && f.OpenEnd {
			break
		}
		n += VarintLen(r.End - r.Start)
		prevEnd = r.End
	}
	return n, nil
}

// append appends the body (no type or length); len must have succeeded.
func (f *RangeFilter) append(b []byte) []byte {
	if f.Remove {
		return b
	}
	b = append(b, f.SetID)
	if f.hasPropertyType() {
		b = AppendVarint(b, f.PropertyType)
	}
	var prevEnd uint64
	for i, r := range f.Ranges {
		b = AppendVarint(b, r.Start-prevEnd)
		if i == len(f.Ranges)-1 && f.OpenEnd {
			break
		}
		b = AppendVarint(b, r.End-r.Start)
		prevEnd = r.End
	}
	return b
}

// parseRangeFilter decodes a range filter body spanning all of b.
func parseRangeFilter(t uint64, b []byte) (RangeFilter, *Error) {
	f := RangeFilter{Type: t}
	if len(b) == 0 {
		f.Remove = true
		return f, nil
	}
	d := decoder{b: b, lim: defaultLimits}
	f.SetID = d.u8("filter set id")
	if f.hasPropertyType() {
		f.PropertyType = d.varint("filter property type")
		if f.PropertyType&1 == 1 {
			f.Invalid = true
		}
	}
	var prevEnd uint64
	for d.err == nil && !d.empty() {
		ds := d.varint("range start")
		if ds > math.MaxUint64-prevEnd {
			f.Invalid = true
		}
		r := Range{Start: prevEnd + ds}
		if d.empty() {
			f.OpenEnd = true
			r.End = math.MaxUint64
			f.Ranges = append(f.Ranges, r)
			break
		}
		de := d.varint("range end")
		if de > math.MaxUint64-r.Start {
			f.Invalid = true
		}
		r.End = r.Start + de
		prevEnd = r.End
		f.Ranges = append(f.Ranges, r)
	}
	if d.err != nil {
		return f, d.err
	}
	return f, nil
}
