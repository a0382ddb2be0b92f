package capture

import (
	"fmt"

	"github.com/tributary-live/tributary/moq/annexb"
)

// H.264 NAL unit types (ITU-T H.264, Table 7-1) used here.
const (
	NALSlice = 1
	NALIDR   = 5
	NALSEI   = 6
	NALSPS   = 7
	NALPPS   = 8
	NALAUD   = 9
)

// NALTypes returns the NAL unit types of an Annex-B access unit, in order.
func NALTypes(au []byte) []int {
	var types []int
	for _, n := range nalUnits(au) {
		if len(n) > 0 {
			types = append(types, int(n[0]&0x1f))
		}
	}
	return types
}

// H264IsKeyframe reports whether an Annex-B access unit holds an IDR slice.
func H264IsKeyframe(au []byte) bool {
	for _, n := range nalUnits(au) {
		if len(n) > 0 && n[0]&0x1f == NALIDR {
			return true
		}
	}
	return false
}

// H264CodecString returns the WebCodecs codec string "avc3.PPCCLL" from the
// first SPS of an Annex-B access unit (profile_idc, constraint flags,
// level_idc), or "" when it holds no SPS. avc3 says parameter sets travel in
// the bitstream, as this package's encoders send them before every IDR.
func H264CodecString(au []byte) string {
	for _, n := range nalUnits(au) {
		if len(n) >= 4 && n[0]&0x1f == NALSPS {
			return fmt.Sprintf("avc3.%02x%02x%02x", n[1], n[2], n[3])
		}
	}
	return ""
}

// nalUnits returns the NAL units of an encoder's Annex-B access unit
// (moq/annexb, the project's one splitter); damaged input gives what could
// be read.
func nalUnits(au []byte) [][]byte {
	units, _ := annexb.Split(au, 0)
	return units
}
