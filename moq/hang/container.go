package hang

import (
	"fmt"
)

// MaxTimestamp is the largest legacy timestamp: a QUIC varint holds 62 bits.
const MaxTimestamp = 1<<62 - 1

// ParseLegacyFrame splits a frame of the "legacy" container
// (draft-lcurley-moq-hang, Section 5.1): a QUIC variable-length integer
// (RFC 9000, Section 16) holding the presentation timestamp in microseconds,
// then the codec payload, which aliases b.
func ParseLegacyFrame(b []byte) (timestamp uint64, payload []byte, err error) {
	if len(b) == 0 {
		return 0, nil, fmt.Errorf("%w: empty legacy frame", ErrMalformed)
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, nil, fmt.Errorf("%w: legacy frame of %d bytes ends inside its %d-byte timestamp", ErrMalformed, len(b), n)
	}
	v := uint64(b[0] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v, b[n:], nil
}

// AppendLegacyFrame appends a "legacy" frame (Section 5.1): timestamp in
// microseconds as a QUIC varint in its shortest form, then the payload.
func AppendLegacyFrame(b []byte, timestamp uint64, payload []byte) ([]byte, error) {
	switch {
	case timestamp < 1<<6:
		b = append(b, byte(timestamp))
	case timestamp < 1<<14:
		b = append(b, 0x40|byte(timestamp>>8), byte(timestamp))
	case timestamp < 1<<30:
		b = append(b, 0x80|byte(timestamp>>24), byte(timestamp>>16), byte(timestamp>>8), byte(timestamp))
	case timestamp <= MaxTimestamp:
		b = append(b, 0xc0|byte(timestamp>>56), byte(timestamp>>48), byte(timestamp>>40), byte(timestamp>>32),
			byte(timestamp>>24), byte(timestamp>>16), byte(timestamp>>8), byte(timestamp))
	default:
		return b, fmt.Errorf("%w: timestamp %d above 2^62-1", ErrTooLarge, timestamp)
	}
	return append(b, payload...), nil
}
