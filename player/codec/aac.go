package codec

import (
	"errors"
	"fmt"
)

// ErrBadAAC means an ADTS header or AudioSpecificConfig is malformed.
var ErrBadAAC = errors.New("codec: malformed AAC header")

// aacRates are the sampling frequencies by index (ISO/IEC 14496-3 table 1.18).
var aacRates = [...]int{96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350}

// AudioConfig describes an AAC stream: the fields of an AudioSpecificConfig
// (ISO/IEC 14496-3 section 1.6.2.1) the player uses.
type AudioConfig struct {
	// ObjectType is the audio object type (2 = AAC LC).
	ObjectType int
	// SampleRate is the sampling frequency in Hz.
	SampleRate int
	// Channels is the channel count from the channel configuration (0 if
	// the configuration is carried elsewhere).
	Channels int
}

// ParseASC parses an AudioSpecificConfig, the extradata of AAC ("mp4a.40.x"
// description in a catalog).
func ParseASC(b []byte) (AudioConfig, error) {
	var c AudioConfig
	r := &bitReader{b: b}
	ot, err := r.bits(5)
	if err != nil {
		return c, fmt.Errorf("codec: AudioSpecificConfig: %w (%w)", ErrBadAAC, err)
	}
	if ot == 31 {
		ext, err := r.bits(6)
		if err != nil {
			return c, fmt.Errorf("codec: AudioSpecificConfig: %w (%w)", ErrBadAAC, err)
		}
		ot = 32 + ext
	}
	c.ObjectType = int(ot)
	idx, err := r.bits(4)
	if err != nil {
		return c, fmt.Errorf("codec: AudioSpecificConfig: %w (%w)", ErrBadAAC, err)
	}
	if idx == 15 {
		rate, err := r.bits(24)
		if err != nil {
			return c, fmt.Errorf("codec: AudioSpecificConfig: %w (%w)", ErrBadAAC, err)
		}
		c.SampleRate = int(rate)
	} else if int(idx) < len(aacRates) {
		c.SampleRate = aacRates[idx]
	} else {
		return c, fmt.Errorf("codec: sampling frequency index %d: %w", idx, ErrBadAAC)
	}
	ch, err := r.bits(4)
	if err != nil {
		return c, fmt.Errorf("codec: AudioSpecificConfig: %w (%w)", ErrBadAAC, err)
	}
	c.Channels = channelsOf(int(ch))
	if c.SampleRate <= 0 || c.SampleRate > 384000 {
		return c, fmt.Errorf("codec: sample rate %d: %w", c.SampleRate, ErrBadAAC)
	}
	if c.ObjectType == 0 {
		return c, fmt.Errorf("codec: audio object type 0: %w", ErrBadAAC)
	}
	return c, nil
}

func channelsOf(conf int) int {
	switch {
	case conf <= 6:
		return conf
	case conf == 7:
		return 8
	default:
		return 0
	}
}

// ADTS is a parsed ADTS header (ISO/IEC 14496-3 section 1.A.2.2).
type ADTS struct {
	// Config is the stream description the header carries.
	Config AudioConfig
	// HeaderLen is the header length: 7, or 9 with a CRC.
	HeaderLen int
	// FrameLen is the length of the whole ADTS frame, header included.
	FrameLen int
	// ChannelConfig is the raw channel configuration.
	ChannelConfig int
	// RateIndex is the sampling frequency index.
	RateIndex int
}

// ParseADTS parses the ADTS header at the start of b.
func ParseADTS(b []byte) (ADTS, error) {
	var h ADTS
	if len(b) < 7 {
		return h, fmt.Errorf("codec: ADTS header of %d bytes: %w", len(b), ErrTruncated)
	}
	if b[0] != 0xff || b[1]&0xf6 != 0xf0 {
		return h, fmt.Errorf("codec: no ADTS sync word: %w", ErrBadAAC)
	}
	h.HeaderLen = 7
	if b[1]&1 == 0 {
		h.HeaderLen = 9
	}
	profile := int(b[2] >> 6)
	h.RateIndex = int(b[2]>>2) & 0xf
	if h.RateIndex >= len(aacRates) {
		return h, fmt.Errorf("codec: ADTS sampling frequency index %d: %w", h.RateIndex, ErrBadAAC)
	}
	h.ChannelConfig = int(b[2]&1)<<2 | int(b[3]>>6)
	h.FrameLen = int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5]>>5)
	if h.FrameLen < h.HeaderLen {
		return h, fmt.Errorf("codec: ADTS frame length %d: %w", h.FrameLen, ErrBadAAC)
	}
	h.Config = AudioConfig{ObjectType: profile + 1, SampleRate: aacRates[h.RateIndex], Channels: channelsOf(h.ChannelConfig)}
	return h, nil
}

// SplitADTS returns the raw AAC frames of a run of ADTS frames, and the
// configuration of the first. The frames alias the input.
func SplitADTS(b []byte) ([][]byte, AudioConfig, error) {
	var frames [][]byte
	var conf AudioConfig
	for len(b) > 0 {
		h, err := ParseADTS(b)
		if err != nil {
			return nil, conf, err
		}
		if h.FrameLen > len(b) {
			return nil, conf, fmt.Errorf("codec: ADTS frame of %d bytes with %d left: %w", h.FrameLen, len(b), ErrTruncated)
		}
		if len(frames) == 0 {
			conf = h.Config
		}
		if len(frames) == MaxNALUnits {
			return nil, conf, ErrTooManyUnits
		}
		frames = append(frames, b[h.HeaderLen:h.FrameLen])
		b = b[h.FrameLen:]
	}
	return frames, conf, nil
}

// ASC builds the two-byte AudioSpecificConfig of an ADTS header, for use as
// decoder extradata.
func (h ADTS) ASC() []byte {
	ot := h.Config.ObjectType
	return []byte{byte(ot<<3) | byte(h.RateIndex>>1), byte(h.RateIndex&1)<<7 | byte(h.ChannelConfig)<<3}
}
