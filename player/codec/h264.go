// Package codec holds pure helpers for the bitstreams the player decodes:
// H.264 access units in Annex-B and length-prefixed (AVCC) form, the
// AVCDecoderConfigurationRecord, the sequence parameter set, and AAC's ADTS
// header and AudioSpecificConfig. They do no I/O, keep no state, and return
// an error for malformed input instead of panicking.
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tributary-live/tributary/moq/annexb"
)

// H.264 NAL unit types used by the player (ITU-T H.264 table 7-1).
const (
	NALSlice = 1
	NALIDR   = 5
	NALSEI   = 6
	NALSPS   = 7
	NALPPS   = 8
	NALAUD   = 9
)

// MaxNALUnits bounds the NAL units taken from one access unit.
const MaxNALUnits = 1024

// Errors of the H.264 helpers.
var (
	// ErrTruncated means the data ended inside a length field or unit.
	ErrTruncated = errors.New("codec: truncated data")
	// ErrTooManyUnits means an access unit holds more than MaxNALUnits units.
	ErrTooManyUnits = errors.New("codec: too many NAL units")
	// ErrBadConfig means a decoder configuration record is malformed.
	ErrBadConfig = errors.New("codec: malformed decoder configuration")
	// ErrBadSPS means a sequence parameter set could not be parsed.
	ErrBadSPS = errors.New("codec: malformed sequence parameter set")
)

var startCode = []byte{0, 0, 0, 1}

// IsAnnexB reports whether an access unit starts with a start code rather
// than a length prefix (moq/annexb).
func IsAnnexB(au []byte) bool { return annexb.IsAnnexB(au) }

// SplitAnnexB returns the NAL units of an Annex-B access unit, without their
// start codes, at most MaxNALUnits (moq/annexb, the project's one splitter).
// The units alias the input.
func SplitAnnexB(au []byte) ([][]byte, error) {
	units, err := annexb.Split(au, MaxNALUnits)
	switch {
	case errors.Is(err, annexb.ErrTooManyUnits):
		return nil, ErrTooManyUnits
	case err != nil:
		return nil, fmt.Errorf("codec: %w: %w", err, ErrTruncated)
	}
	return units, nil
}

// SplitAVCC returns the NAL units of a length-prefixed access unit whose
// lengths take lengthSize bytes (1, 2 or 4). The units alias the input.
func SplitAVCC(au []byte, lengthSize int) ([][]byte, error) {
	if lengthSize != 1 && lengthSize != 2 && lengthSize != 4 {
		return nil, fmt.Errorf("codec: NAL length size %d: %w", lengthSize, ErrBadConfig)
	}
	var units [][]byte
	for len(au) > 0 {
		if len(au) < lengthSize {
			return nil, fmt.Errorf("codec: %d bytes left for a %d-byte length: %w", len(au), lengthSize, ErrTruncated)
		}
		var n uint64
		for _, c := range au[:lengthSize] {
			n = n<<8 | uint64(c)
		}
		au = au[lengthSize:]
		if n > uint64(len(au)) {
			return nil, fmt.Errorf("codec: NAL unit of %d bytes with %d left: %w", n, len(au), ErrTruncated)
		}
		if n > 0 {
			if len(units) == MaxNALUnits {
				return nil, ErrTooManyUnits
			}
			units = append(units, au[:n])
		}
		au = au[n:]
	}
	return units, nil
}

// JoinAnnexB writes units as an Annex-B access unit with 4-byte start codes,
// appended to dst.
func JoinAnnexB(dst []byte, units ...[]byte) []byte {
	for _, u := range units {
		dst = append(dst, startCode...)
		dst = append(dst, u...)
	}
	return dst
}

// AVCConfig is an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 section 5.3.3.1).
type AVCConfig struct {
	// Profile, Compatibility and Level are the profile_idc, constraint flags and level_idc.
	Profile, Compatibility, Level byte
	// LengthSize is the size of NAL unit length prefixes in bytes (1, 2 or 4).
	LengthSize int
	// SPS and PPS are the parameter sets; they alias the input.
	SPS, PPS [][]byte
}

// ParseAVCConfig parses an AVCDecoderConfigurationRecord ("avcC", the
// extradata of the "avc" format).
func ParseAVCConfig(b []byte) (AVCConfig, error) {
	var c AVCConfig
	if len(b) < 7 {
		return c, fmt.Errorf("codec: avcC of %d bytes: %w", len(b), ErrBadConfig)
	}
	if b[0] != 1 {
		return c, fmt.Errorf("codec: avcC version %d: %w", b[0], ErrBadConfig)
	}
	c.Profile, c.Compatibility, c.Level = b[1], b[2], b[3]
	c.LengthSize = int(b[4]&3) + 1
	if c.LengthSize == 3 {
		return c, fmt.Errorf("codec: avcC length size 3: %w", ErrBadConfig)
	}
	p := 6
	readSets := func(count int) ([][]byte, error) {
		var sets [][]byte
		for range count {
			if p+2 > len(b) {
				return nil, fmt.Errorf("codec: avcC parameter set length: %w", ErrTruncated)
			}
			n := int(binary.BigEndian.Uint16(b[p:]))
			p += 2
			if p+n > len(b) {
				return nil, fmt.Errorf("codec: avcC parameter set of %d bytes: %w", n, ErrTruncated)
			}
			if n > 0 {
				sets = append(sets, b[p:p+n])
			}
			p += n
		}
		return sets, nil
	}
	var err error
	if c.SPS, err = readSets(int(b[5] & 0x1f)); err != nil {
		return c, err
	}
	if p >= len(b) {
		return c, fmt.Errorf("codec: avcC without PPS count: %w", ErrTruncated)
	}
	n := int(b[p])
	p++
	if c.PPS, err = readSets(n); err != nil {
		return c, err
	}
	return c, nil
}

// ToAnnexB converts an access unit in either form to Annex-B. lengthSize is
// the AVCC length size (4 if unknown); an access unit that already starts
// with a start code is returned as it is. prefix units (parameter sets) are
// written first when non-empty.
func ToAnnexB(dst, au []byte, lengthSize int, prefix ...[]byte) ([]byte, error) {
	dst = JoinAnnexB(dst, prefix...)
	if IsAnnexB(au) {
		return append(dst, au...), nil
	}
	units, err := SplitAVCC(au, lengthSize)
	if err != nil {
		return nil, err
	}
	return JoinAnnexB(dst, units...), nil
}

// NALType returns the nal_unit_type of a NAL unit, or 0 for an empty one.
func NALType(u []byte) int {
	if len(u) == 0 {
		return 0
	}
	return int(u[0] & 0x1f)
}
