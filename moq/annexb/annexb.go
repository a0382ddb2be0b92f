// Package annexb splits H.264 and H.265 Annex B byte streams (ITU-T H.264
// Annex B, "Byte stream format"; H.265 Annex B is the same) into NAL units.
// It is the one splitter of the project: the capture side reads the units
// its encoders produce, the player the units it receives (draft-ietf-moq-loc
// section 2.1 allows both Annex B and length-prefixed payloads). Pure: no
// I/O, standard library only, fuzzed.
package annexb

import (
	"errors"
	"fmt"
)

// Errors of Split.
var (
	// ErrNoStartCode means the input holds bytes but no start code.
	ErrNoStartCode = errors.New("annexb: no start code")
	// ErrTooManyUnits means the input holds more units than the caller's limit.
	ErrTooManyUnits = errors.New("annexb: too many NAL units")
)

// IsAnnexB reports whether an access unit starts with a start code (00 00 01
// or 00 00 00 01) rather than a length prefix. A 4-byte length of 1 is read
// as a start code, as draft-ietf-moq-loc section 2.1 ("Length Prefixes in
// Payload") asks.
func IsAnnexB(au []byte) bool {
	return len(au) >= 3 && au[0] == 0 && au[1] == 0 && (au[2] == 1 || (len(au) >= 4 && au[2] == 0 && au[3] == 1))
}

// Split returns the NAL units of an Annex B access unit, without their start
// codes and the zero bytes before the next start code (trailing_zero_8bits
// and the first byte of a 4-byte start code). Bytes before the first start
// code are ignored; empty units are skipped. The units alias au. max bounds
// the units returned (0: no bound); more is ErrTooManyUnits. Empty input is
// no units and no error; input without a start code is ErrNoStartCode.
func Split(au []byte, max int) ([][]byte, error) {
	var units [][]byte
	add := func(u []byte) error {
		if max > 0 && len(units) == max {
			return ErrTooManyUnits
		}
		units = append(units, u)
		return nil
	}
	start := -1
	for i := 0; i+2 < len(au); {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 {
			if start >= 0 {
				end := i
				for end > start && au[end-1] == 0 {
					end--
				}
				if end > start {
					if err := add(au[start:end]); err != nil {
						return nil, err
					}
				}
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start < 0 {
		if len(au) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("%w in %d bytes", ErrNoStartCode, len(au))
	}
	if start < len(au) {
		if err := add(au[start:]); err != nil {
			return nil, err
		}
	}
	return units, nil
}
