package wire

import "strconv"

// Version is a MoQ Transport draft number; it is negotiated by ALPN
// (draft-ietf-moq-transport-18 §3.1 {#session-establishment}), not on the wire.
type Version uint64

// The draft versions this package implements.
const (
	// Draft18 is draft-ietf-moq-transport-18 (ALPN "moqt-18").
	Draft18 Version = 18
	// Draft19 is draft-ietf-moq-transport-19 (ALPN "moqt-19").
	Draft19 Version = 19
)

// Supported lists the implemented versions, most preferred first.
var Supported = []Version{Draft19, Draft18}

// ALPN returns the ALPN token of the draft, e.g. "moqt-18".
func (v Version) ALPN() string { return "moqt-" + strconv.FormatUint(uint64(v), 10) }

// String returns the ALPN token of the draft.
func (v Version) String() string { return v.ALPN() }

// ParseALPN returns the Version for an ALPN token such as "moqt-19", and false
// when the token names no supported version.
func ParseALPN(s string) (Version, bool) {
	for _, v := range Supported {
		if v.ALPN() == s {
			return v, true
		}
	}
	return 0, false
}

// supported reports whether v is a version this package encodes.
func (v Version) supported() bool { return v == Draft18 || v == Draft19 }
