package decode

import (
	"fmt"
	"time"

	"github.com/tributary-live/tributary/player/codec"
)

// h264Decoder normalises access units to Annex-B (LOC payloads may use
// either start codes or length prefixes, draft-ietf-moq-loc section 2.1) and
// puts the avcC parameter sets in front of every IDR access unit, so the
// libavcodec decoder needs no extradata and a stream can switch forms.
type h264Decoder struct {
	*avVideo
	lengthSize int
	avcc       bool // an avcC was given: only a 4-byte start code means Annex-B
	params     [][]byte
	buf        []byte
}

func newH264(description []byte) (VideoDecoder, error) {
	d := &h264Decoder{lengthSize: 4}
	if len(description) > 0 {
		if codec.IsAnnexB(description) {
			units, err := codec.SplitAnnexB(description)
			if err != nil {
				return nil, fmt.Errorf("decode: H.264 description: %w: %w", ErrBadConfig, err)
			}
			d.params = units
		} else {
			c, err := codec.ParseAVCConfig(description)
			if err != nil {
				return nil, fmt.Errorf("decode: H.264 avcC: %w: %w", ErrBadConfig, err)
			}
			d.lengthSize = c.LengthSize
			d.avcc = true
			d.params = append(append(d.params, c.SPS...), c.PPS...)
		}
	}
	v, err := newVideo("h264", nil)
	if err != nil {
		return nil, err
	}
	d.avVideo = v
	return d, nil
}

// Decode implements VideoDecoder.
func (d *h264Decoder) Decode(au []byte, ts time.Duration) ([]VideoFrame, error) {
	var units [][]byte
	var err error
	annexB := codec.IsAnnexB(au)
	if d.avcc {
		// A length prefix of 256..511 bytes starts with 00 00 01: with an
		// avcC only the 4-byte start code counts (draft-ietf-moq-loc section 2.1).
		annexB = len(au) >= 4 && au[0] == 0 && au[1] == 0 && au[2] == 0 && au[3] == 1
	}
	if annexB {
		units, err = codec.SplitAnnexB(au)
	} else {
		units, err = codec.SplitAVCC(au, d.lengthSize)
	}
	if err != nil {
		return nil, fmt.Errorf("decode: H.264 access unit: %w: %w", ErrCorrupt, err)
	}
	idr, hasSPS := false, false
	for _, u := range units {
		switch codec.NALType(u) {
		case codec.NALIDR:
			idr = true
		case codec.NALSPS:
			hasSPS = true
		}
	}
	d.buf = d.buf[:0]
	if idr && !hasSPS {
		d.buf = codec.JoinAnnexB(d.buf, d.params...)
	}
	d.buf = codec.JoinAnnexB(d.buf, units...)
	if len(units) == 0 {
		return nil, fmt.Errorf("decode: H.264 access unit without NAL units: %w", ErrCorrupt)
	}
	return d.avVideo.Decode(d.buf, ts)
}
