//go:build !cgo || noffmpeg

package decode

import (
	"fmt"
	"time"
)

// Engine names the decoding engine; this build has none for video and AAC.
func Engine() string { return "none (built without cgo or with the noffmpeg tag)" }

func newVideo(family string, _ []byte) (*avVideo, error) {
	return nil, fmt.Errorf("decode: %s needs libavcodec: %w", family, ErrUnsupported)
}

func openAudio(family string, _ []byte) (*avAudio, error) {
	return nil, fmt.Errorf("decode: %s needs libavcodec: %w", family, ErrUnsupported)
}

type avVideo struct{}

// Decode implements VideoDecoder.
func (v *avVideo) Decode([]byte, time.Duration) ([]VideoFrame, error) { return nil, ErrUnsupported }

// Codec implements VideoDecoder.
func (v *avVideo) Codec() string { return "none" }

// Close implements VideoDecoder.
func (v *avVideo) Close() error { return nil }

type avAudio struct{}

func (a *avAudio) decodeRaw([]byte, time.Duration) ([]AudioFrame, error) { return nil, ErrUnsupported }
func (a *avAudio) codec() string                                         { return "none" }
func (a *avAudio) close()                                                {}
