package decode

import (
	"fmt"
	"time"

	"github.com/pion/opus"
)

// opusDecoder decodes Opus packets with github.com/pion/opus (pure Go) at 48 kHz.
type opusDecoder struct {
	dec   opus.Decoder
	chans int
	buf   []float32
}

// OpusRate is the sample rate Opus is decoded at.
const OpusRate = 48000

func newOpus(_ int, chans int) (AudioDecoder, error) {
	if chans <= 0 {
		chans = 2
	}
	if chans > 2 {
		return nil, fmt.Errorf("decode: Opus with %d channels (no multistream support): %w", chans, ErrUnsupported)
	}
	dec, err := opus.NewDecoderWithOutput(OpusRate, chans)
	if err != nil {
		return nil, fmt.Errorf("decode: Opus decoder: %w", err)
	}
	// 120 ms is the longest Opus packet (RFC 6716 section 3.2.5).
	return &opusDecoder{dec: dec, chans: chans, buf: make([]float32, OpusRate*120/1000*chans)}, nil
}

// Decode implements AudioDecoder.
func (d *opusDecoder) Decode(frame []byte, ts time.Duration) (out []AudioFrame, err error) {
	if len(frame) == 0 {
		return nil, fmt.Errorf("decode: empty Opus packet: %w", ErrCorrupt)
	}
	defer func() {
		// A decoder bug on hostile input must not take the player down.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("decode: Opus decoder failed: %v: %w", r, ErrCorrupt)
		}
	}()
	n, err := d.dec.DecodeToFloat32(frame, d.buf)
	if err != nil {
		return nil, fmt.Errorf("decode: Opus: %w: %w", ErrCorrupt, err)
	}
	if n <= 0 || n*d.chans > len(d.buf) {
		return nil, nil
	}
	pcm := make([]float32, n*d.chans)
	copy(pcm, d.buf)
	return []AudioFrame{{Samples: pcm, Channels: d.chans, SampleRate: OpusRate, Timestamp: ts}}, nil
}

// Codec implements AudioDecoder.
func (d *opusDecoder) Codec() string { return "opus (pion/opus)" }

// Close implements AudioDecoder.
func (d *opusDecoder) Close() error { return nil }
