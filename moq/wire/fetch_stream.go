package wire

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// FetchHeader is FETCH_HEADER, draft-ietf-moq-transport-18 §11.4.4
// {#fetch-header} (same in draft-19): stream type 0x05, Request ID.
type FetchHeader struct {
	RequestID uint64
}

// Append appends the stream type and the Request ID.
func (h *FetchHeader) Append(b []byte) []byte {
	return AppendVarint(AppendVarint(b, StreamTypeFetch), h.RequestID)
}

// ReadFetchHeader reads the Request ID after the stream type 0x05.
func ReadFetchHeader(r io.ByteReader) (FetchHeader, error) {
	id, err := readVarintField(r, "fetch request ID")
	return FetchHeader{RequestID: id}, err
}

// Serialization Flags of a fetch object (§11.4.4.1 "Flags").
const (
	fetchSubgroupMask   = 0x03
	fetchObjectDelta    = 0x04
	fetchGroupDelta     = 0x08
	fetchPriority       = 0x10
	fetchProperties     = 0x20
	fetchDatagram       = 0x40
	fetchSubgroupZero   = 0x00
	fetchSubgroupPrior  = 0x01
	fetchSubgroupNext   = 0x02
	fetchSubgroupField  = 0x03
	fetchFlagsMaxObject = 0x80
)

// EndOfRange is the kind of an End of Range marker on a fetch stream
// (§11.4.4.2 {#end-of-range}); zero means an ordinary object.
type EndOfRange uint64

// End of Range Serialization Flags values.
const (
	EndOfNonExistentRange EndOfRange = 0x8C
	EndOfUnknownRange     EndOfRange = 0x10C
)

// FetchObject is one element of a fetch stream (§11.4.4): an Object with its
// full Location, Subgroup (absent for Datagram objects) and Priority, or an
// End of Range marker (Group and ID give the last Location of the range).
// Fetch objects carry no Object Status.
type FetchObject struct {
	Group    uint64
	Subgroup uint64
	ID       uint64
	Priority uint8
	// Datagram marks an object whose forwarding preference is Datagram (no Subgroup ID).
	Datagram   bool
	Properties Properties
	Payload    []byte
	EndOfRange EndOfRange
}

// Location returns {Group, ID}.
func (o *FetchObject) Location() Location { return Location{Group: o.Group, Object: o.ID} }

// fetchState is the "prior Object" state shared by writer and reader.
type fetchState struct {
	descending bool
	hasLoc     bool // a prior object or End of Range exists
	hasObj     bool // a prior actual object exists
	group, id  uint64
	subgroup   uint64
	priority   uint8
}

// FetchWriter encodes the objects of one fetch stream with the most compact
// flags (§11.4.4.1). Descending must match the FETCH's GROUP_ORDER.
type FetchWriter struct {
	st fetchState
}

// NewFetchWriter returns a writer for a response in the given group order.
func NewFetchWriter(order GroupOrder) *FetchWriter {
	return &FetchWriter{st: fetchState{descending: order == GroupOrderDescending}}
}

// AppendObject appends o (an object or End of Range marker). Groups must
// follow the group order and objects ascend within a group.
func (w *FetchWriter) AppendObject(b []byte, o *FetchObject) ([]byte, error) {
	st := &w.st
	if o.EndOfRange != 0 {
		if o.EndOfRange != EndOfNonExistentRange && o.EndOfRange != EndOfUnknownRange {
			return b, fmt.Errorf("moq: invalid end of range kind 0x%x", uint64(o.EndOfRange))
		}
		// The Group ID and Object ID of an End of Range are absolute (see docs).
		b = AppendVarint(b, uint64(o.EndOfRange))
		b = AppendVarint(b, o.Group)
		b = AppendVarint(b, o.ID)
		st.hasLoc, st.group, st.id = true, o.Group, o.ID
		return b, nil
	}
	if !o.Properties.Sorted() {
		return b, errors.New("moq: object properties not sorted by type")
	}
	var flags uint64
	switch {
	case o.Datagram:
		flags |= fetchDatagram
	case o.Subgroup == 0:
		flags |= fetchSubgroupZero
	case st.hasObj && o.Subgroup == st.subgroup:
		flags |= fetchSubgroupPrior
	case st.hasObj && st.subgroup != math.MaxUint64 && o.Subgroup == st.subgroup+1:
		flags |= fetchSubgroupNext
	default:
		flags |= fetchSubgroupField
	}
	var groupDelta, objectDelta uint64
	switch {
	case !st.hasLoc:
		flags |= fetchGroupDelta | fetchObjectDelta
		groupDelta, objectDelta = o.Group, o.ID
	case o.Group == st.group:
		if o.ID <= st.id {
			return b, fmt.Errorf("moq: object %d not above previous %d in group %d", o.ID, st.id, o.Group)
		}
		if st.id == math.MaxUint64 || o.ID != st.id+1 {
			flags |= fetchObjectDelta
			objectDelta = o.ID - st.id
		}
	default:
		if st.descending == (o.Group > st.group) {
			return b, fmt.Errorf("moq: group %d out of order after %d", o.Group, st.group)
		}
		flags |= fetchGroupDelta
		if st.descending {
			groupDelta = st.group - o.Group - 1
		} else {
			groupDelta = o.Group - st.group - 1
		}
		if st.id == math.MaxUint64 || o.ID != st.id+1 {
			flags |= fetchObjectDelta
			objectDelta = o.ID
		}
	}
	if !st.hasObj || o.Priority != st.priority {
		flags |= fetchPriority
	}
	if len(o.Properties) > 0 {
		flags |= fetchProperties
	}
	b = AppendVarint(b, flags)
	if flags&fetchGroupDelta != 0 {
		b = AppendVarint(b, groupDelta)
	}
	if !o.Datagram && flags&fetchSubgroupMask == fetchSubgroupField {
		b = AppendVarint(b, o.Subgroup)
	}
	if flags&fetchObjectDelta != 0 {
		b = AppendVarint(b, objectDelta)
	}
	if flags&fetchPriority != 0 {
		b = append(b, o.Priority)
	}
	if flags&fetchProperties != 0 {
		var err error
		if b, err = appendObjectProperties(b, o.Properties); err != nil {
			return b, err
		}
	}
	b = appendLenBytes(b, o.Payload)
	st.hasLoc, st.hasObj = true, true
	st.group, st.id, st.priority = o.Group, o.ID, o.Priority
	if !o.Datagram {
		st.subgroup = o.Subgroup
	}
	return b, nil
}

// FetchReader decodes the objects of one fetch stream after its header.
type FetchReader struct {
	r   Reader
	lim *Limits
	st  fetchState
}

// NewFetchReader returns a reader of the objects on r; order is the FETCH's
// GROUP_ORDER (ascending when absent), which the Group ID Delta depends on.
func NewFetchReader(r Reader, order GroupOrder, lim *Limits) *FetchReader {
	return &FetchReader{r: r, lim: lim.orDefault(), st: fetchState{descending: order == GroupOrderDescending}}
}

// Next decodes the next element into o. It returns io.EOF when the stream
// ends cleanly between objects and an *Error for malformed input.
func (f *FetchReader) Next(o *FetchObject) error {
	st := &f.st
	flags, err := ReadVarint(f.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return readErr(err, "serialization flags")
	}
	*o = FetchObject{}
	if flags >= fetchFlagsMaxObject {
		if flags != uint64(EndOfNonExistentRange) && flags != uint64(EndOfUnknownRange) {
			return protocolViolation("invalid fetch serialization flags 0x%x", flags)
		}
		o.EndOfRange = EndOfRange(flags)
		if o.Group, err = readVarintField(f.r, "end of range group ID"); err != nil {
			return err
		}
		if o.ID, err = readVarintField(f.r, "end of range object ID"); err != nil {
			return err
		}
		st.hasLoc, st.group, st.id = true, o.Group, o.ID
		return nil
	}
	if !st.hasLoc && flags&(fetchGroupDelta|fetchObjectDelta) != fetchGroupDelta|fetchObjectDelta {
		return protocolViolation("first fetch object lacks Group ID and Object ID")
	}
	o.Datagram = flags&fetchDatagram != 0
	if !o.Datagram {
		switch flags & fetchSubgroupMask {
		case fetchSubgroupPrior, fetchSubgroupNext:
			if !st.hasObj {
				return protocolViolation("fetch object references a prior subgroup that does not exist")
			}
		}
	}
	if flags&fetchPriority == 0 && !st.hasObj {
		return protocolViolation("fetch object references a prior priority that does not exist")
	}
	o.Group = st.group
	if flags&fetchGroupDelta != 0 {
		d, err := readVarintField(f.r, "group ID delta")
		if err != nil {
			return err
		}
		switch {
		case !st.hasLoc:
			o.Group = d
		case st.descending:
			if d >= st.group {
				return protocolViolation("group ID delta underflows")
			}
			o.Group = st.group - d - 1
		default:
			if d >= math.MaxUint64-st.group {
				return protocolViolation("group ID delta overflows")
			}
			o.Group = st.group + d + 1
		}
	}
	if !o.Datagram {
		switch flags & fetchSubgroupMask {
		case fetchSubgroupZero:
			o.Subgroup = 0
		case fetchSubgroupPrior:
			o.Subgroup = st.subgroup
		case fetchSubgroupNext:
			if st.subgroup == math.MaxUint64 {
				return protocolViolation("subgroup ID overflows")
			}
			o.Subgroup = st.subgroup + 1
		case fetchSubgroupField:
			if o.Subgroup, err = readVarintField(f.r, "subgroup ID"); err != nil {
				return err
			}
		}
	}
	if flags&fetchObjectDelta != 0 {
		d, err := readVarintField(f.r, "object ID delta")
		if err != nil {
			return err
		}
		if flags&fetchGroupDelta != 0 {
			o.ID = d
		} else {
			if d == 0 {
				return protocolViolation("object ID %d repeated in group %d", st.id, st.group)
			}
			if d > math.MaxUint64-st.id {
				return protocolViolation("object ID overflows")
			}
			o.ID = st.id + d
		}
	} else {
		if st.id == math.MaxUint64 {
			return protocolViolation("object ID overflows")
		}
		o.ID = st.id + 1
	}
	if flags&fetchPriority != 0 {
		c, err := f.r.ReadByte()
		if err != nil {
			return readErr(err, "publisher priority")
		}
		o.Priority = c
	} else {
		o.Priority = st.priority
	}
	if flags&fetchProperties != 0 {
		if o.Properties, err = readProperties(f.r, f.lim); err != nil {
			return err
		}
	}
	if o.Payload, err = readBytes(f.r, "object payload", "MaxObjectPayload", f.lim.objectPayload()); err != nil {
		return err
	}
	st.hasLoc, st.hasObj = true, true
	st.group, st.id, st.priority = o.Group, o.ID, o.Priority
	if !o.Datagram {
		st.subgroup = o.Subgroup
	}
	return nil
}
