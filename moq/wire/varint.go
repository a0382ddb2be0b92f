package wire

import (
	"errors"
	"io"
	"math/bits"
)

// Variable-Length Integers, draft-ietf-moq-transport-18 §1.4.1 (unchanged in
// draft-19): the number of leading 1 bits of the first byte gives the length
// (1 to 9 bytes); the remaining bits, in network byte order, hold the value.
// This is not the QUIC varint.

// MaxVarintLen is the longest encoding of a varint in bytes.
const MaxVarintLen = 9

// errShortVarint is returned by ParseVarint for a truncated encoding.
var errShortVarint = io.ErrUnexpectedEOF

// VarintLen returns the number of bytes of the shortest encoding of v.
func VarintLen(v uint64) int {
	switch {
	case v < 1<<7:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<21:
		return 3
	case v < 1<<28:
		return 4
	case v < 1<<35:
		return 5
	case v < 1<<42:
		return 6
	case v < 1<<49:
		return 7
	case v < 1<<56:
		return 8
	default:
		return 9
	}
}

// AppendVarint appends the shortest encoding of v to b.
func AppendVarint(b []byte, v uint64) []byte {
	if v < 1<<7 {
		return append(b, byte(v))
	}
	return appendVarintN(b, v, VarintLen(v))
}

// appendVarintN appends v encoded in exactly n bytes (n must be able to hold v).
func appendVarintN(b []byte, v uint64, n int) []byte {
	if n == 9 {
		return append(b, 0xff, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	prefix := byte(0xff << (9 - n)) // n-1 leading ones, then a zero
	first := prefix | byte(v>>(8*(n-1)))
	b = append(b, first)
	for i := n - 2; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// varintLenFromFirst returns the encoded length announced by the first byte.
func varintLenFromFirst(c byte) int {
	return bits.LeadingZeros8(^c) + 1 // 0xff gives 8+1 = 9
}

// ParseVarint decodes a varint at the start of b, returning the value and the
// number of bytes it used. A truncated encoding returns io.ErrUnexpectedEOF
// (io.EOF when b is empty).
func ParseVarint(b []byte) (v uint64, n int, err error) {
	if len(b) == 0 {
		return 0, 0, io.EOF
	}
	c := b[0]
	if c < 0x80 {
		return uint64(c), 1, nil
	}
	n = varintLenFromFirst(c)
	if len(b) < n {
		return 0, 0, errShortVarint
	}
	if n < 9 {
		v = uint64(c & (0xff >> n))
	}
	for _, x := range b[1:n] {
		v = v<<8 | uint64(x)
	}
	return v, n, nil
}

// ReadVarint reads one varint from r. It returns io.EOF when r ends before
// the first byte and io.ErrUnexpectedEOF when it ends inside the encoding.
func ReadVarint(r io.ByteReader) (uint64, error) {
	c, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	if c < 0x80 {
		return uint64(c), nil
	}
	n := varintLenFromFirst(c)
	var v uint64
	if n < 9 {
		v = uint64(c & (0xff >> n))
	}
	for i := 1; i < n; i++ {
		x, err := r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
		v = v<<8 | uint64(x)
	}
	return v, nil
}
