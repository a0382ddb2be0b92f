package wire

import (
	"errors"
	"fmt"
)

// OBJECT_DATAGRAM type bits, draft-ietf-moq-transport-18 §11.3.1
// {#object-datagram} (same in draft-19): the type has the form 0b00X0XXXX.
const (
	dgProperties = 0x01
	dgEndOfGroup = 0x02
	dgZeroObject = 0x04
	dgDefaultPri = 0x08
	dgStatus     = 0x20
)

// ErrPaddingDatagram is returned by ParseDatagram for a padding datagram
// (§11.5.2), which the receiver discards.
var ErrPaddingDatagram = errors.New("moq: padding datagram")

// IsDatagramType reports whether t is a valid OBJECT_DATAGRAM type.
func IsDatagramType(t uint64) bool {
	return t <= 0x2F && t&0x10 == 0 && !(t&dgStatus != 0 && t&dgEndOfGroup != 0)
}

// Datagram is an OBJECT_DATAGRAM (§11.3.1): Track Alias, Group ID, [Object
// ID], [Publisher Priority], [Properties], and either an Object Status or the
// Object Payload (the rest of the datagram).
type Datagram struct {
	TrackAlias uint64
	Group      uint64
	Object     uint64
	// DefaultPriority means Priority is absent and inherited from the subscription.
	DefaultPriority bool
	Priority        uint8
	// EndOfGroup is the END_OF_GROUP bit: no object with a larger ID exists in the group.
	EndOfGroup bool
	Properties Properties
	// Status is sent (STATUS bit, no payload) when it is not Normal.
	Status  ObjectStatus
	Payload []byte
}

// Type returns the OBJECT_DATAGRAM type Append uses for d.
func (d *Datagram) Type() uint64 {
	var t uint64
	if len(d.Properties) > 0 {
		t |= dgProperties
	}
	if d.EndOfGroup {
		t |= dgEndOfGroup
	}
	if d.Object == 0 {
		t |= dgZeroObject
	}
	if d.DefaultPriority {
		t |= dgDefaultPri
	}
	if d.Status != StatusNormal {
		t |= dgStatus
	}
	return t
}

// Append appends the datagram. A non-Normal status cannot carry a payload,
// properties or END_OF_GROUP.
func (d *Datagram) Append(b []byte) ([]byte, error) {
	if err := checkObject(d.Status, d.Properties, d.Payload); err != nil {
		return b, err
	}
	t := d.Type()
	if !IsDatagramType(t) {
		return b, fmt.Errorf("moq: datagram with status %s cannot signal end of group", d.Status)
	}
	b = AppendVarint(b, t)
	b = AppendVarint(b, d.TrackAlias)
	b = AppendVarint(b, d.Group)
	if t&dgZeroObject == 0 {
		b = AppendVarint(b, d.Object)
	}
	if t&dgDefaultPri == 0 {
		b = append(b, d.Priority)
	}
	if t&dgProperties != 0 {
		var err error
		if b, err = appendObjectProperties(b, d.Properties); err != nil {
			return b, err
		}
	}
	if t&dgStatus != 0 {
		return AppendVarint(b, uint64(d.Status)), nil
	}
	return append(b, d.Payload...), nil
}

// ParseDatagram decodes one datagram. The payload aliases b. A padding
// datagram returns ErrPaddingDatagram; malformed input an *Error
// (PROTOCOL_VIOLATION).
func ParseDatagram(b []byte, lim *Limits) (Datagram, error) {
	lim = lim.orDefault()
	var dg Datagram
	dec := decoder{b: b, lim: lim}
	t := dec.varint("datagram type")
	if dec.err != nil {
		return dg, dec.err
	}
	if t == DatagramTypePadding {
		return dg, ErrPaddingDatagram
	}
	if !IsDatagramType(t) {
		return dg, protocolViolation("invalid datagram type 0x%x", t)
	}
	dg.TrackAlias = dec.varint("track alias")
	dg.Group = dec.varint("group ID")
	if t&dgZeroObject == 0 {
		dg.Object = dec.varint("object ID")
	}
	dg.DefaultPriority = t&dgDefaultPri != 0
	if !dg.DefaultPriority {
		dg.Priority = dec.u8("publisher priority")
	}
	dg.EndOfGroup = t&dgEndOfGroup != 0
	if t&dgProperties != 0 {
		raw := dec.lenBytes("object properties", "MaxPropertiesLength", lim.propertiesLength())
		if dec.err != nil {
			return dg, dec.err
		}
		if len(raw) == 0 {
			return dg, protocolViolation("datagram PROPERTIES bit with zero Properties Length")
		}
		p, err := ParseProperties(raw)
		if err != nil {
			return dg, err
		}
		dg.Properties = p
	}
	if t&dgStatus != 0 {
		dg.Status = ObjectStatus(dec.varint("object status"))
		if dec.err != nil {
			return dg, dec.err
		}
		if !dg.Status.valid() {
			return dg, protocolViolation("unknown object status 0x%x", uint64(dg.Status))
		}
		if dg.Status != StatusNormal && len(dg.Properties) > 0 {
			return dg, protocolViolation("properties on a datagram with status %s", dg.Status)
		}
		if !dec.empty() {
			return dg, protocolViolation("datagram: %d bytes after object status", len(dec.b))
		}
		return dg, nil
	}
	if dec.err != nil {
		return dg, dec.err
	}
	if n := len(dec.b); n > lim.objectPayload() {
		return dg, limitExceeded("MaxObjectPayload", uint64(n), lim.objectPayload())
	}
	dg.Payload = dec.rest()
	return dg, nil
}
