package loc

import "errors"

// errShort reports bytes that end inside a field.
var errShort = errors.New("loc: truncated")

// appendVarint appends v in the variable-length integer encoding of
// draft-ietf-moq-transport-18, Section 1.4.1 ("Variable-Length Integers"): the
// number of leading one bits of the first byte gives the length (1 to 9 bytes).
// It always uses the shortest form.
func appendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<7:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, 0x80|byte(v>>8), byte(v))
	case v < 1<<21:
		return append(b, 0xc0|byte(v>>16), byte(v>>8), byte(v))
	case v < 1<<28:
		return append(b, 0xe0|byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	case v < 1<<35:
		return append(b, 0xf0|byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	case v < 1<<42:
		return append(b, 0xf8|byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	case v < 1<<49:
		return append(b, 0xfc|byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	case v < 1<<56:
		return append(b, 0xfe, byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	default:
		return append(b, 0xff, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
}

// readVarint decodes one variable-length integer (draft-ietf-moq-transport-18,
// Section 1.4.1) from the start of b and returns it with the number of bytes used.
func readVarint(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, errShort
	}
	first := b[0]
	n := 1
	for n < 9 && first&(0x80>>(n-1)) != 0 {
		n++
	}
	if len(b) < n {
		return 0, 0, errShort
	}
	var v uint64
	if n < 8 {
		v = uint64(first & (0xff >> n))
	}
	// n == 8: first byte 0xfe carries no value bits; n == 9: 0xff carries none.
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(b[i])
	}
	return v, n, nil
}
