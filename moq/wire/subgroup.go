package wire

import (
	"errors"
	"fmt"
	"io"
	"math"
)

// SubgroupIDMode is the SUBGROUP_ID_MODE field of a SUBGROUP_HEADER type
// (draft-ietf-moq-transport-18 §11.4.2 "Subgroup Header").
type SubgroupIDMode uint8

// Subgroup ID modes.
const (
	// SubgroupIDZero: the Subgroup ID field is absent and the ID is 0.
	SubgroupIDZero SubgroupIDMode = 0
	// SubgroupIDFirstObject: absent; the ID is the first Object's ID.
	SubgroupIDFirstObject SubgroupIDMode = 1
	// SubgroupIDExplicit: the Subgroup ID field is present.
	SubgroupIDExplicit SubgroupIDMode = 2
)

// SUBGROUP_HEADER type bits (§11.4.2): the type has the form 0b0XX1XXXX.
const (
	subgroupBase          = 0x10
	subgroupProperties    = 0x01
	subgroupModeMask      = 0x06
	subgroupEndOfGroup    = 0x08
	subgroupDefaultPrio   = 0x20
	subgroupFirstObjectFl = 0x40
)

// IsSubgroupStreamType reports whether t is a valid SUBGROUP_HEADER type:
// 0b0XX1XXXX with SUBGROUP_ID_MODE not 0b11.
func IsSubgroupStreamType(t uint64) bool {
	return t <= 0x7F && t&subgroupBase != 0 && t&subgroupModeMask != subgroupModeMask
}

// SubgroupHeader is SUBGROUP_HEADER, draft-ietf-moq-transport-18 §11.4.2
// (same in draft-19): the stream type bits plus Track Alias, Group ID,
// [Subgroup ID], [Publisher Priority].
type SubgroupHeader struct {
	TrackAlias uint64
	Group      uint64
	// Subgroup is the Subgroup ID; with SubgroupIDFirstObject the reader
	// fills it in from the first object.
	Subgroup     uint64
	SubgroupMode SubgroupIDMode
	// HasProperties is the PROPERTIES bit: every object carries Properties Length.
	HasProperties bool
	// EndOfGroup is the END_OF_GROUP bit: this subgroup holds the group's last object.
	EndOfGroup bool
	// DefaultPriority is the DEFAULT_PRIORITY bit: Priority is absent and inherited.
	DefaultPriority bool
	// Priority is the Publisher Priority when DefaultPriority is false.
	Priority uint8
	// FirstObject is the FIRST_OBJECT bit: the stream starts at the subgroup's first object.
	FirstObject bool
}

// StreamType returns the SUBGROUP_HEADER type encoding the header's flags.
func (h *SubgroupHeader) StreamType() uint64 {
	t := uint64(subgroupBase) | uint64(h.SubgroupMode&3)<<1
	if h.HasProperties {
		t |= subgroupProperties
	}
	if h.EndOfGroup {
		t |= subgroupEndOfGroup
	}
	if h.DefaultPriority {
		t |= subgroupDefaultPrio
	}
	if h.FirstObject {
		t |= subgroupFirstObjectFl
	}
	return t
}

// Append appends the stream type and the header fields.
func (h *SubgroupHeader) Append(b []byte) []byte {
	b = AppendVarint(b, h.StreamType())
	b = AppendVarint(b, h.TrackAlias)
	b = AppendVarint(b, h.Group)
	if h.SubgroupMode == SubgroupIDExplicit {
		b = AppendVarint(b, h.Subgroup)
	}
	if !h.DefaultPriority {
		b = append(b, h.Priority)
	}
	return b
}

// ReadSubgroupHeader reads the header fields after a stream type already
// read with ReadStreamType. An invalid type is a PROTOCOL_VIOLATION.
func ReadSubgroupHeader(r io.ByteReader, streamType uint64, lim *Limits) (SubgroupHeader, error) {
	_ = lim.orDefault()
	var h SubgroupHeader
	if !IsSubgroupStreamType(streamType) {
		return h, protocolViolation("invalid subgroup stream type 0x%x", streamType)
	}
	h.SubgroupMode = SubgroupIDMode(streamType&subgroupModeMask) >> 1
	h.HasProperties = streamType&subgroupProperties != 0
	h.EndOfGroup = streamType&subgroupEndOfGroup != 0
	h.DefaultPriority = streamType&subgroupDefaultPrio != 0
	h.FirstObject = streamType&subgroupFirstObjectFl != 0
	var err error
	if h.TrackAlias, err = readVarintField(r, "track alias"); err != nil {
		return h, err
	}
	if h.Group, err = readVarintField(r, "group ID"); err != nil {
		return h, err
	}
	if h.SubgroupMode == SubgroupIDExplicit {
		if h.Subgroup, err = readVarintField(r, "subgroup ID"); err != nil {
			return h, err
		}
	}
	if !h.DefaultPriority {
		c, err := r.ReadByte()
		if err != nil {
			return h, readErr(err, "publisher priority")
		}
		h.Priority = c
	}
	return h, nil
}

// AppendSubgroupObject appends one object's fields on a subgroup stream
// (§11.4.2 "MOQT Subgroup Object Fields"). prevID is the previous object's ID
// on this stream, or nil for the first object; the caller updates it. The
// Object ID is encoded as a delta: the ID itself first, then ID - prev - 1.
// With no allocation when b has room.
func AppendSubgroupObject(b []byte, h *SubgroupHeader, prevID *uint64, o *Object) ([]byte, error) {
	if err := checkObject(o.Status, o.Properties, o.Payload); err != nil {
		return b, err
	}
	var delta uint64
	if prevID == nil {
		delta = o.ID
		if h.SubgroupMode == SubgroupIDFirstObject && h.Subgroup != o.ID {
			return b, fmt.Errorf("moq: subgroup ID %d is not the first object ID %d", h.Subgroup, o.ID)
		}
	} else {
		if o.ID <= *prevID {
			return b, fmt.Errorf("moq: object ID %d not above previous %d", o.ID, *prevID)
		}
		delta = o.ID - *prevID - 1
	}
	b = AppendVarint(b, delta)
	if h.HasProperties {
		var err error
		if b, err = appendObjectProperties(b, o.Properties); err != nil {
			return b, err
		}
	} else if len(o.Properties) > 0 {
		return b, errors.New("moq: object properties on a subgroup without the PROPERTIES bit")
	}
	b = AppendVarint(b, uint64(len(o.Payload)))
	if len(o.Payload) == 0 {
		return AppendVarint(b, uint64(o.Status)), nil
	}
	return append(b, o.Payload...), nil
}

// SubgroupWriter encodes the objects of one subgroup stream, tracking the
// previous Object ID.
type SubgroupWriter struct {
	Header  SubgroupHeader
	prev    uint64
	started bool
}

// AppendObject appends o's fields (the header is appended separately with Header.Append).
func (w *SubgroupWriter) AppendObject(b []byte, o *Object) ([]byte, error) {
	var p *uint64
	if w.started {
		p = &w.prev
	}
	b, err := AppendSubgroupObject(b, &w.Header, p, o)
	if err == nil {
		w.prev, w.started = o.ID, true
	}
	return b, err
}

// SubgroupReader decodes the objects of one subgroup stream after its header.
type SubgroupReader struct {
	// Alloc, if set, returns the buffer (of length n) that a payload of n
	// bytes, at most 64 KiB, is read into; larger payloads, and every payload
	// without Alloc, get a new slice. The session uses it to read payloads
	// into pooled buffers.
	Alloc func(n int) []byte

	r       Reader
	h       SubgroupHeader
	lim     *Limits
	prev    uint64
	started bool
	ended   bool // an End of Group / End of Track status was read
}

// NewSubgroupReader returns a reader of the objects following header h on r.
func NewSubgroupReader(r Reader, h SubgroupHeader, lim *Limits) *SubgroupReader {
	return &SubgroupReader{r: r, h: h, lim: lim.orDefault()}
}

// Header returns the stream header; with SubgroupIDFirstObject its Subgroup
// is known after the first object.
func (s *SubgroupReader) Header() SubgroupHeader { return s.h }

// Next decodes the next object into o. It returns io.EOF when the stream
// ends cleanly between objects, a PROTOCOL_VIOLATION *Error for malformed or
// truncated objects, and other read errors (e.g. a reset) wrapped. The
// payload is a new slice (one allocation per object without properties), or
// a buffer from Alloc.
func (s *SubgroupReader) Next(o *Object) error {
	delta, err := ReadVarint(s.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return io.EOF
		}
		return readErr(err, "object ID delta")
	}
	if s.ended {
		return protocolViolation("object after End of Group/Track on subgroup stream")
	}
	id := delta
	if s.started {
		if delta > math.MaxUint64-s.prev-1 || s.prev == math.MaxUint64 {
			return protocolViolation("object ID overflows")
		}
		id = s.prev + delta + 1
	} else if s.h.SubgroupMode == SubgroupIDFirstObject {
		s.h.Subgroup = id
	}
	*o = Object{ID: id}
	if s.h.HasProperties {
		if o.Properties, err = readProperties(s.r, s.lim); err != nil {
			return err
		}
	}
	n, err := readVarintField(s.r, "object payload length")
	if err != nil {
		return err
	}
	if n == 0 {
		st, err := readVarintField(s.r, "object status")
		if err != nil {
			return err
		}
		o.Status = ObjectStatus(st)
		if !o.Status.valid() {
			return protocolViolation("unknown object status 0x%x", st)
		}
		if o.Status != StatusNormal && len(o.Properties) > 0 {
			return protocolViolation("properties on an object with status %s", o.Status)
		}
		if o.Status != StatusNormal {
			s.ended = true
		}
	} else {
		if n > uint64(s.lim.objectPayload()) {
			return limitExceeded("MaxObjectPayload", n, s.lim.objectPayload())
		}
		if s.Alloc != nil && n <= eagerAlloc {
			if o.Payload = s.Alloc(int(n)); len(o.Payload) != int(n) {
				o.Payload = make([]byte, n)
			}
			if _, err := io.ReadFull(s.r, o.Payload); err != nil {
				o.Payload = nil
				return readErr(err, "object payload")
			}
		} else if o.Payload, err = readN(s.r, int(n)); err != nil {
			return readErr(err, "object payload")
		}
	}
	s.prev, s.started = id, true
	return nil
}
