package capture

import "fmt"

// H.264 NAL unit types (ITU-T H.264, Table 7-1) used here.
const (
	NALSlice = 1
	NALIDR   = 5
	NALSEI   = 6
	NALSPS   = 7
	NALPPS   = 8
	NALAUD   = 9
)

// SplitAnnexB returns the NAL units of an Annex-B byte stream (3- or 4-byte
// start codes), without their start codes. Bytes before the first start code
// are ignored. The units alias b.
func SplitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+2 < len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end-- // the zero of a 4-byte start code
				}
				nals = append(nals, b[start:end])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		nals = append(nals, b[start:])
	}
	return nals
}

// NALTypes returns the NAL unit types of an Annex-B access unit, in order.
func NALTypes(au []byte) []int {
	var types []int
	for _, n := range SplitAnnexB(au) {
		if len(n) > 0 {
			types = append(types, int(n[0]&0x1f))
		}
	}
	return types
}

// H264IsKeyframe reports whether an Annex-B access unit holds an IDR slice.
func H264IsKeyframe(au []byte) bool {
	for _, n := range SplitAnnexB(au) {
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
	for _, n := range SplitAnnexB(au) {
		if len(n) >= 4 && n[0]&0x1f == NALSPS {
			return fmt.Sprintf("avc3.%02x%02x%02x", n[1], n[2], n[3])
		}
	}
	return ""
}
