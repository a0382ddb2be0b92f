// Package loc implements the Low Overhead Media Container (draft-ietf-moq-loc):
// the LOC properties that travel with each media object (capture timestamp,
// timescale, video and audio config, video frame marking, audio level) and the
// framing of a LOC frame where no MOQT Object Properties carry them.
//
// The LOC Payload itself is the codec bitstream ("internal data" of a WebCodecs
// EncodedVideoChunk or EncodedAudioChunk, draft-ietf-moq-loc Section 2); for
// H.264 this package does not care whether it is Annex-B or length-prefixed.
//
// The package does no I/O and starts no goroutines. Parsed byte values alias the
// input slice.
package loc

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// Property types registered by draft-ietf-moq-loc, Section 6.1 (IANA "MOQ Properties").
const (
	TypeTimescale    = 0x08 // Section 2.3.1.2: Timestamp units per second (even: varint value)
	TypeFrameMarking = 0x09 // Section 2.3.2.2: RFC 9626 frame marking (odd: bytes)
	TypeAudioLevel   = 0x0C // Section 2.3.3.2: RFC 6464 audio level (even: varint value)
	TypeVideoConfig  = 0x0D // Section 2.3.2.1: codec extradata, e.g. an avcC record (odd: bytes)
	TypeAudioConfig  = 0x0F // Section 2.3.3.1: audio codec configuration (odd: bytes)
	TypeTimestamp    = 0x10 // Section 2.3.1.1: capture timestamp (even: varint value)
)

// Limits applied while parsing, before anything is allocated.
const (
	// MaxValueLength is the largest byte value of one Key-Value-Pair
	// (draft-ietf-moq-transport-18, Section 1.4.3: 2^16-1).
	MaxValueLength = 1<<16 - 1
	// MaxExtra is the most unknown properties kept from one property block.
	MaxExtra = 64
)

// Errors returned by the parsers; they are wrapped with details.
var (
	// ErrMalformed reports a property block that does not follow the encoding.
	ErrMalformed = errors.New("loc: malformed properties")
	// ErrTooLarge reports a value or count above the limits of this package.
	ErrTooLarge = errors.New("loc: property too large")
)

// Property is one property this package does not interpret, kept so that it can
// be forwarded unchanged. Even types carry Value, odd types carry Bytes
// (draft-ietf-moq-transport-18, Section 1.4.3).
type Property struct {
	Type  uint64
	Value uint64
	Bytes []byte
}

// Properties are the LOC properties of one media object (draft-ietf-moq-loc,
// Section 2.3). Zero fields are absent on the wire.
type Properties struct {
	// Timestamp is the capture time: with Timescale 0, wall-clock microseconds
	// since the Unix epoch (Section 2.3.1.1).
	Timestamp uint64
	// HasTimestamp says whether Timestamp is present.
	HasTimestamp bool
	// Timescale is the number of Timestamp units per second; 0 means absent,
	// that is microseconds of wall-clock time (Section 2.3.1.2).
	Timescale uint64
	// VideoConfig is the codec extradata (Section 2.3.2.1), e.g. an
	// AVCDecoderConfigurationRecord; nil when absent.
	VideoConfig []byte
	// FrameMarking is the RFC 9626 frame marking (Section 2.3.2.2); nil when absent.
	FrameMarking FrameMarking
	// AudioLevel is the RFC 6464 audio level (Section 2.3.3.2).
	AudioLevel AudioLevel
	// HasAudioLevel says whether AudioLevel is present.
	HasAudioLevel bool
	// AudioConfig is the audio codec configuration (Section 2.3.3.1); nil when absent.
	AudioConfig []byte
	// Extra holds properties of other types, in the order they were read.
	Extra []Property
}

// SetTime sets Timestamp to t as wall-clock microseconds since the Unix epoch
// and clears Timescale (Section 2.3.1.1).
func (p *Properties) SetTime(t time.Time) {
	p.Timestamp = uint64(t.UnixMicro())
	p.HasTimestamp = true
	p.Timescale = 0
}

// Time returns the capture time when Timestamp is wall-clock microseconds
// (present, and no Timescale); ok is false otherwise.
func (p *Properties) Time() (t time.Time, ok bool) {
	if !p.HasTimestamp || p.Timescale != 0 || p.Timestamp > 1<<62 {
		return time.Time{}, false
	}
	return time.UnixMicro(int64(p.Timestamp)), true
}

// Keyframe reports whether the frame marking says the frame is independent.
func (p *Properties) Keyframe() bool { return p.FrameMarking.Independent() }

// FrameMarking is the value of the Video Frame Marking property: the RFC 9626
// frame marking bytes (1 byte for non-scalable streams, up to 4 in LOC).
type FrameMarking []byte

// Frame marking bits of the first byte (RFC 9626, Section 3.1).
const (
	markStart       = 0x80
	markEnd         = 0x40
	markIndependent = 0x20
	markDiscardable = 0x10
	markBaseSync    = 0x08
	markTIDMask     = 0x07
)

// NewFrameMarking returns the one-byte marking of a whole, non-scalable frame:
// start and end of frame set, independent and base-layer sync set for keyframes.
func NewFrameMarking(keyframe bool) FrameMarking {
	b := byte(markStart | markEnd)
	if keyframe {
		b |= markIndependent | markBaseSync
	}
	return FrameMarking{b}
}

// Independent reports whether the I bit is set: the frame decodes without others.
func (f FrameMarking) Independent() bool { return len(f) > 0 && f[0]&markIndependent != 0 }

// Discardable reports whether the D bit is set.
func (f FrameMarking) Discardable() bool { return len(f) > 0 && f[0]&markDiscardable != 0 }

// TemporalID returns the temporal layer ID (TID).
func (f FrameMarking) TemporalID() int {
	if len(f) == 0 {
		return 0
	}
	return int(f[0] & markTIDMask)
}

// AudioLevel is the RFC 6464 audio level octet: the V bit (voice activity) and
// the level in -dBov (0 loudest, 127 silence).
type AudioLevel uint8

// NewAudioLevel builds an audio level from voice activity and -dBov (clamped to 127).
func NewAudioLevel(voice bool, minusDBov int) AudioLevel {
	if minusDBov < 0 {
		minusDBov = 0
	}
	if minusDBov > 127 {
		minusDBov = 127
	}
	l := AudioLevel(minusDBov)
	if voice {
		l |= 0x80
	}
	return l
}

// Voice reports the voice activity bit.
func (a AudioLevel) Voice() bool { return a&0x80 != 0 }

// MinusDBov returns the level in -dBov.
func (a AudioLevel) MinusDBov() int { return int(a & 0x7f) }

// Append appends the properties as a sequence of Key-Value-Pairs in ascending
// type order (draft-ietf-moq-transport-18, Section 1.4.3), without a length
// prefix: the bytes that go into an object's Object Properties. Byte values
// longer than MaxValueLength are an error.
func (p *Properties) Append(b []byte) ([]byte, error) {
	props := make([]Property, 0, 6+len(p.Extra))
	if p.Timescale != 0 {
		props = append(props, Property{Type: TypeTimescale, Value: p.Timescale})
	}
	if p.FrameMarking != nil {
		props = append(props, Property{Type: TypeFrameMarking, Bytes: p.FrameMarking})
	}
	if p.HasAudioLevel {
		props = append(props, Property{Type: TypeAudioLevel, Value: uint64(p.AudioLevel)})
	}
	if p.VideoConfig != nil {
		props = append(props, Property{Type: TypeVideoConfig, Bytes: p.VideoConfig})
	}
	if p.AudioConfig != nil {
		props = append(props, Property{Type: TypeAudioConfig, Bytes: p.AudioConfig})
	}
	if p.HasTimestamp {
		props = append(props, Property{Type: TypeTimestamp, Value: p.Timestamp})
	}
	for _, e := range p.Extra {
		if known(e.Type) {
			return b, fmt.Errorf("loc: extra property of known type %#x", e.Type)
		}
		props = append(props, e)
	}
	sort.SliceStable(props, func(i, j int) bool { return props[i].Type < props[j].Type })
	var prev uint64
	for _, kv := range props {
		b = appendVarint(b, kv.Type-prev)
		prev = kv.Type
		if kv.Type%2 == 0 {
			b = appendVarint(b, kv.Value)
			continue
		}
		if len(kv.Bytes) > MaxValueLength {
			return b, fmt.Errorf("%w: type %#x has %d bytes", ErrTooLarge, kv.Type, len(kv.Bytes))
		}
		b = appendVarint(b, uint64(len(kv.Bytes)))
		b = append(b, kv.Bytes...)
	}
	return b, nil
}

// Marshal returns the properties as Key-Value-Pairs (see Append).
func (p *Properties) Marshal() ([]byte, error) { return p.Append(nil) }

func known(t uint64) bool {
	switch t {
	case TypeTimescale, TypeFrameMarking, TypeAudioLevel, TypeVideoConfig, TypeAudioConfig, TypeTimestamp:
		return true
	}
	return false
}

// ParseProperties parses a whole property block: Key-Value-Pairs filling b
// exactly (draft-ietf-moq-transport-18, Section 1.4.3). A known LOC property
// that appears twice or has the wrong form is an error, as are a type overflow
// and a byte value longer than MaxValueLength.
func ParseProperties(b []byte) (Properties, error) {
	var p Properties
	var typ uint64
	var seen uint8 // bit per known type
	first := true
	for off := 0; off < len(b); {
		delta, n, err := readVarint(b[off:])
		if err != nil {
			return Properties{}, fmt.Errorf("%w: type at byte %d: %w", ErrMalformed, off, err)
		}
		off += n
		if !first && typ+delta < typ {
			return Properties{}, fmt.Errorf("%w: type overflows at byte %d", ErrMalformed, off)
		}
		typ += delta
		first = false
		var kv Property
		kv.Type = typ
		if typ%2 == 0 {
			v, n, err := readVarint(b[off:])
			if err != nil {
				return Properties{}, fmt.Errorf("%w: value of type %#x: %w", ErrMalformed, typ, err)
			}
			off += n
			kv.Value = v
		} else {
			l, n, err := readVarint(b[off:])
			if err != nil {
				return Properties{}, fmt.Errorf("%w: length of type %#x: %w", ErrMalformed, typ, err)
			}
			off += n
			if l > MaxValueLength {
				return Properties{}, fmt.Errorf("%w: type %#x declares %d bytes", ErrTooLarge, typ, l)
			}
			if uint64(len(b)-off) < l {
				return Properties{}, fmt.Errorf("%w: value of type %#x: %w", ErrMalformed, typ, errShort)
			}
			kv.Bytes = b[off : off+int(l) : off+int(l)]
			off += int(l)
		}
		if err := p.set(kv, &seen); err != nil {
			return Properties{}, err
		}
	}
	return p, nil
}

func (p *Properties) set(kv Property, seen *uint8) error {
	bit := uint8(0)
	switch kv.Type {
	case TypeTimescale:
		bit = 1
	case TypeFrameMarking:
		bit = 2
	case TypeAudioLevel:
		bit = 4
	case TypeVideoConfig:
		bit = 8
	case TypeAudioConfig:
		bit = 16
	case TypeTimestamp:
		bit = 32
	default:
		if len(p.Extra) >= MaxExtra {
			return fmt.Errorf("%w: more than %d unknown properties", ErrTooLarge, MaxExtra)
		}
		p.Extra = append(p.Extra, kv)
		return nil
	}
	if *seen&bit != 0 {
		return fmt.Errorf("%w: property %#x repeated", ErrMalformed, kv.Type)
	}
	*seen |= bit
	switch kv.Type {
	case TypeTimescale:
		if kv.Value == 0 {
			return fmt.Errorf("%w: timescale 0", ErrMalformed)
		}
		p.Timescale = kv.Value
	case TypeFrameMarking:
		if len(kv.Bytes) < 1 || len(kv.Bytes) > 4 {
			return fmt.Errorf("%w: frame marking of %d bytes (want 1-4)", ErrMalformed, len(kv.Bytes))
		}
		p.FrameMarking = FrameMarking(kv.Bytes)
	case TypeAudioLevel:
		if kv.Value > 0xff {
			return fmt.Errorf("%w: audio level %d above 255", ErrMalformed, kv.Value)
		}
		p.AudioLevel = AudioLevel(kv.Value)
		p.HasAudioLevel = true
	case TypeVideoConfig:
		p.VideoConfig = kv.Bytes
	case TypeAudioConfig:
		p.AudioConfig = kv.Bytes
	case TypeTimestamp:
		p.Timestamp = kv.Value
		p.HasTimestamp = true
	}
	return nil
}

// AppendFrame appends a self-contained LOC frame for transports without Object
// Properties (the hang "loc" container, draft-lcurley-moq-hang Section 5.3): the
// property block's length as a varint, the property block, then the payload.
// This mirrors how a subgroup object carries Properties Length and Properties
// (draft-ietf-moq-transport-18, Section 11.2.1.2).
func AppendFrame(b []byte, p *Properties, payload []byte) ([]byte, error) {
	props, err := p.Marshal()
	if err != nil {
		return b, err
	}
	b = appendVarint(b, uint64(len(props)))
	b = append(b, props...)
	return append(b, payload...), nil
}

// ParseFrame splits a LOC frame written by AppendFrame into its properties and
// payload. The payload aliases b.
func ParseFrame(b []byte) (Properties, []byte, error) {
	l, n, err := readVarint(b)
	if err != nil {
		return Properties{}, nil, fmt.Errorf("%w: frame property length: %w", ErrMalformed, err)
	}
	if uint64(len(b)-n) < l {
		return Properties{}, nil, fmt.Errorf("%w: frame declares %d property bytes, has %d", ErrMalformed, l, len(b)-n)
	}
	p, err := ParseProperties(b[n : n+int(l)])
	if err != nil {
		return Properties{}, nil, err
	}
	return p, b[n+int(l):], nil
}
