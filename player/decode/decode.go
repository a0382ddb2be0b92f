// Package decode turns encoded media frames into pictures and PCM: H.264,
// HEVC, VP8, VP9, AV1 and AAC through FFmpeg's libavcodec (a thin cgo binding
// over the send_packet/receive_frame API, see docs/ARCHITECTURE.md "Decoding
// engine"), and Opus through github.com/pion/opus (pure Go).
//
// Decoders are not safe for concurrent use: the player runs one decoder per
// stream on its own goroutine. Bad input gives an error; the decoder stays
// usable and the caller skips to the next frame (for video, best to the next
// keyframe).
package decode

import (
	"errors"
	"fmt"
	"image"
	"strings"
	"time"
)

// Errors of the decoders.
var (
	// ErrUnsupported means no decoder is available for the codec.
	ErrUnsupported = errors.New("decode: unsupported codec")
	// ErrBadConfig means the codec configuration (description) is malformed.
	ErrBadConfig = errors.New("decode: malformed codec configuration")
	// ErrCorrupt means the decoder rejected a frame's data.
	ErrCorrupt = errors.New("decode: corrupt frame")
	// ErrClosed means the decoder was closed.
	ErrClosed = errors.New("decode: decoder closed")
)

// MaxFrameBytes bounds the encoded frame a decoder accepts.
const MaxFrameBytes = 32 << 20

// VideoFrame is a decoded picture.
type VideoFrame struct {
	// Image is an *image.YCbCr for the common planar formats, else an *image.RGBA.
	Image image.Image
	// Timestamp is the media timestamp of the access unit it came from.
	Timestamp time.Duration
}

// AudioFrame is decoded PCM.
type AudioFrame struct {
	// Samples are float32 samples, interleaved by channel.
	Samples []float32
	// Channels and SampleRate describe Samples.
	Channels, SampleRate int
	// Timestamp is the media timestamp of the first sample.
	Timestamp time.Duration
}

// VideoDecoder decodes access units into pictures.
type VideoDecoder interface {
	// Decode decodes one access unit with its media timestamp and returns the
	// pictures it completed (usually one, none while the decoder buffers).
	Decode(au []byte, ts time.Duration) ([]VideoFrame, error)
	// Codec names the codec and engine, for logs and stats.
	Codec() string
	// Close frees the decoder.
	Close() error
}

// AudioDecoder decodes audio frames into PCM.
type AudioDecoder interface {
	// Decode decodes one encoded frame with its media timestamp.
	Decode(frame []byte, ts time.Duration) ([]AudioFrame, error)
	// Codec names the codec and engine, for logs and stats.
	Codec() string
	// Close frees the decoder.
	Close() error
}

// Family reduces a WebCodecs codec string ("avc1.64001f", "vp09.00.10.08",
// "mp4a.40.2", "opus") to the codec family the player decodes: h264, hevc,
// vp8, vp9, av1, aac, opus; or the input lower-cased if unknown.
func Family(codec string) string {
	c := strings.ToLower(strings.TrimSpace(codec))
	switch {
	case strings.HasPrefix(c, "avc1"), strings.HasPrefix(c, "avc3"), c == "h264":
		return "h264"
	case strings.HasPrefix(c, "hev1"), strings.HasPrefix(c, "hvc1"), c == "h265", c == "hevc":
		return "hevc"
	case c == "vp8":
		return "vp8"
	case strings.HasPrefix(c, "vp09"), c == "vp9":
		return "vp9"
	case strings.HasPrefix(c, "av01"), c == "av1":
		return "av1"
	case strings.HasPrefix(c, "mp4a.40"), c == "aac":
		return "aac"
	case c == "opus":
		return "opus"
	}
	return c
}

// NewAudio returns a decoder for an audio codec string. description is the
// codec configuration from the catalog (AudioSpecificConfig for AAC; may be
// empty for ADTS input and for Opus); sampleRate and channels come from the
// catalog (zero if unknown).
func NewAudio(codec string, description []byte, sampleRate, channels int) (AudioDecoder, error) {
	switch Family(codec) {
	case "opus":
		return newOpus(sampleRate, channels)
	case "aac":
		return newAAC(description, sampleRate, channels)
	}
	return nil, fmt.Errorf("decode: audio codec %q: %w", codec, ErrUnsupported)
}

// NewVideo returns a decoder for a video codec string. description is the
// codec configuration from the catalog (avcC for H.264 "avc" format, hvcC for
// HEVC; empty for Annex-B with in-band parameter sets, VP8, VP9, AV1).
func NewVideo(codec string, description []byte) (VideoDecoder, error) {
	switch f := Family(codec); f {
	case "h264":
		return newH264(description)
	case "hevc", "vp8", "vp9", "av1":
		return newVideo(f, description)
	}
	return nil, fmt.Errorf("decode: video codec %q: %w", codec, ErrUnsupported)
}
