package loc

import (
	"errors"

	"github.com/tributary-live/tributary/moq/wire"
)

// errShort reports bytes that end inside a field.
var errShort = errors.New("loc: truncated")

// appendVarint appends v in the variable-length integer encoding of
// draft-ietf-moq-transport-18, Section 1.4.1, in its shortest form.
func appendVarint(b []byte, v uint64) []byte { return wire.AppendVarint(b, v) }

// readVarint decodes one variable-length integer (draft-ietf-moq-transport-18,
// Section 1.4.1) from the start of b and returns it with the number of bytes used.
func readVarint(b []byte) (uint64, int, error) {
	v, n, err := wire.ParseVarint(b)
	if err != nil {
		return 0, 0, errShort
	}
	return v, n, nil
}

// Wire returns the properties as MoQ Object Properties for moq.Object.Properties.
func (p *Properties) Wire() (wire.Properties, error) {
	b, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	return wire.ParseProperties(b)
}

// FromWire reads the LOC properties out of an object's MoQ Object Properties,
// with the same checks as ParseProperties.
func FromWire(wp wire.Properties) (Properties, error) {
	b, err := wp.Append(nil)
	if err != nil {
		return Properties{}, err
	}
	return ParseProperties(b)
}
