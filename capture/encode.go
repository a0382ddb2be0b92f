package capture

import (
	"errors"
	"fmt"
	"image"
	"io"
	"sync"
	"time"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
)

// Codec names a codec this package encodes.
type Codec string

// Codecs.
const (
	H264 Codec = "h264"
	VP8  Codec = "vp8"
	Opus Codec = "opus"
)

// Errors returned by the encoders.
var (
	// ErrUnsupportedCodec reports a codec this build cannot encode.
	ErrUnsupportedCodec = errors.New("capture: unsupported codec")
	// ErrBadFrame reports input that does not match the encoder's configuration.
	ErrBadFrame = errors.New("capture: frame does not match the encoder")
	// ErrClosed reports use of a closed encoder or source.
	ErrClosed = errors.New("capture: closed")
)

// AccessUnit is one encoded frame: for H.264 an Annex-B access unit (start
// codes, with SPS and PPS before every IDR), for VP8 one frame, for Opus one packet.
type AccessUnit struct {
	// Data is the codec bitstream; empty when the encoder produced nothing.
	Data []byte
	// Captured is the wall-clock capture time of the input.
	Captured time.Time
	// PTS is the presentation time relative to the encoder's first frame.
	PTS time.Duration
	// Keyframe says the frame decodes on its own (an IDR for H.264).
	Keyframe bool
}

// VideoConfig configures a video encoder.
type VideoConfig struct {
	Codec         Codec
	Width, Height int
	FrameRate     float64
	// Bitrate is the target in bits per second.
	Bitrate int
	// KeyframeInterval is the distance between keyframes in frames, which is
	// the length of each MoQ group; 0 means two seconds of frames.
	KeyframeInterval int
}

func (c *VideoConfig) check() error {
	if c.Width < 16 || c.Height < 16 || c.Width%2 != 0 || c.Height%2 != 0 || c.Width > 7680 || c.Height > 4320 {
		return fmt.Errorf("capture: bad video size %dx%d (even, 16 to 7680x4320)", c.Width, c.Height)
	}
	if c.FrameRate <= 0 || c.FrameRate > 240 {
		return fmt.Errorf("capture: bad frame rate %v", c.FrameRate)
	}
	if c.Bitrate < 10_000 {
		return fmt.Errorf("capture: bitrate %d below 10 kbit/s", c.Bitrate)
	}
	if c.KeyframeInterval < 0 {
		return fmt.Errorf("capture: negative keyframe interval")
	}
	if c.KeyframeInterval == 0 {
		c.KeyframeInterval = int(2*c.FrameRate + 0.5)
	}
	if c.Codec == "" {
		c.Codec = H264
	}
	return nil
}

// VideoEncoder turns frames into access units, one out for each frame in,
// with a keyframe every KeyframeInterval frames and whenever ForceKeyframe was
// called. Its methods may be called from any goroutine.
type VideoEncoder struct {
	mu        sync.Mutex
	cfg       VideoConfig
	rc        codec.ReadCloser
	slot      image.Image
	n         int64
	first     time.Time
	forceKey  bool
	bitrate   int
	codecName string
	closed    bool
}

// NewVideoEncoder starts an encoder: H.264 (openh264, or x264 when built with
// -tags x264) or VP8 (libvpx).
func NewVideoEncoder(cfg VideoConfig) (*VideoEncoder, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	e := &VideoEncoder{cfg: cfg, bitrate: cfg.Bitrate}
	src := video.ReaderFunc(func() (image.Image, func(), error) {
		img := e.slot
		e.slot = nil
		if img == nil {
			return nil, func() {}, io.EOF
		}
		return img, func() {}, nil
	})
	media := prop.Media{Video: prop.Video{Width: cfg.Width, Height: cfg.Height, FrameRate: float32(cfg.FrameRate)}}
	var err error
	switch cfg.Codec {
	case H264:
		e.rc, err = newH264(src, media, cfg)
	case VP8:
		e.rc, err = newVP8(src, media, cfg)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnsupportedCodec, cfg.Codec)
	}
	if err != nil {
		return nil, fmt.Errorf("capture: start %s encoder: %w", cfg.Codec, err)
	}
	return e, nil
}

// Config returns the encoder's configuration (with defaults filled in).
func (e *VideoEncoder) Config() VideoConfig { return e.cfg }

// Encode encodes one frame captured at captured. img should be an I420
// *image.YCbCr of the configured size (others are converted).
func (e *VideoEncoder) Encode(img image.Image, captured time.Time) (AccessUnit, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return AccessUnit{}, ErrClosed
	}
	if b := img.Bounds(); b.Dx() != e.cfg.Width || b.Dy() != e.cfg.Height {
		return AccessUnit{}, fmt.Errorf("%w: %dx%d, want %dx%d", ErrBadFrame, b.Dx(), b.Dy(), e.cfg.Width, e.cfg.Height)
	}
	if e.n == 0 {
		e.first = captured
	}
	key := e.n%int64(e.cfg.KeyframeInterval) == 0 || e.forceKey
	if key {
		if kc, ok := e.rc.Controller().(codec.KeyFrameController); ok {
			if err := kc.ForceKeyFrame(); err != nil {
				return AccessUnit{}, fmt.Errorf("capture: force keyframe: %w", err)
			}
		}
		e.forceKey = false
	}
	e.slot = img
	data, release, err := e.rc.Read()
	e.slot = nil
	if err != nil {
		return AccessUnit{}, fmt.Errorf("capture: encode frame %d: %w", e.n, err)
	}
	out := append([]byte(nil), data...)
	release()
	au := AccessUnit{Data: out, Captured: captured, PTS: captured.Sub(e.first)}
	switch e.cfg.Codec {
	case H264:
		au.Keyframe = H264IsKeyframe(out)
		if au.Keyframe && e.codecName == "" {
			e.codecName = H264CodecString(out)
		}
	case VP8:
		au.Keyframe = len(out) > 0 && out[0]&1 == 0
	}
	e.n++
	return au, nil
}

// ForceKeyframe makes the next frame a keyframe (a new group).
func (e *VideoEncoder) ForceKeyframe() {
	e.mu.Lock()
	e.forceKey = true
	e.mu.Unlock()
}

// SetBitrate changes the target bitrate, in bits per second, from the next frame.
func (e *VideoEncoder) SetBitrate(bps int) error {
	if bps < 10_000 {
		return fmt.Errorf("capture: bitrate %d below 10 kbit/s", bps)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	bc, ok := e.rc.Controller().(codec.BitRateController)
	if !ok {
		return fmt.Errorf("%w: %s encoder cannot change its bitrate", ErrUnsupportedCodec, e.cfg.Codec)
	}
	if err := bc.SetBitRate(bps); err != nil {
		return fmt.Errorf("capture: set bitrate: %w", err)
	}
	e.bitrate = bps
	return nil
}

// Bitrate returns the current target bitrate in bits per second.
func (e *VideoEncoder) Bitrate() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.bitrate
}

// CodecString returns the WebCodecs codec string of the output, for the
// catalog: "avc3.PPCCLL" from the first SPS for H.264 (parameter sets travel
// in the bitstream), "vp8" for VP8. Empty for H.264 before the first keyframe.
func (e *VideoEncoder) CodecString() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cfg.Codec == VP8 {
		return "vp8"
	}
	return e.codecName
}

// Close releases the encoder.
func (e *VideoEncoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	return e.rc.Close()
}

// AudioConfig configures an audio encoder.
type AudioConfig struct {
	SampleRate, Channels int
	// Bitrate is the target in bits per second; 0 means 64 kbit/s.
	Bitrate int
	// FrameDuration is the packet duration: 10, 20, 40 or 60 ms; 0 means 20 ms.
	FrameDuration time.Duration
}

// AudioEncoder turns PCM frames into Opus packets, one packet per frame.
type AudioEncoder struct {
	mu     sync.Mutex
	cfg    AudioConfig
	rc     codec.ReadCloser
	slot   []int16
	n      int64
	first  time.Time
	closed bool
}

// NewAudioEncoder starts an Opus encoder (libopus).
func NewAudioEncoder(cfg AudioConfig) (*AudioEncoder, error) {
	if cfg.SampleRate != 48000 && cfg.SampleRate != 24000 && cfg.SampleRate != 16000 && cfg.SampleRate != 12000 && cfg.SampleRate != 8000 {
		return nil, fmt.Errorf("capture: opus cannot encode at %d Hz", cfg.SampleRate)
	}
	if cfg.Channels != 1 && cfg.Channels != 2 {
		return nil, fmt.Errorf("capture: opus encodes 1 or 2 channels, not %d", cfg.Channels)
	}
	if cfg.Bitrate == 0 {
		cfg.Bitrate = 64000
	}
	if cfg.FrameDuration == 0 {
		cfg.FrameDuration = 20 * time.Millisecond
	}
	e := &AudioEncoder{cfg: cfg}
	src := audio.ReaderFunc(func() (wave.Audio, func(), error) {
		pcm := e.slot
		e.slot = nil
		if pcm == nil {
			return nil, func() {}, io.EOF
		}
		chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: len(pcm) / cfg.Channels, Channels: cfg.Channels, SamplingRate: cfg.SampleRate})
		copy(chunk.Data, pcm)
		return chunk, func() {}, nil
	})
	rc, err := newOpus(src, prop.Media{Audio: prop.Audio{SampleRate: cfg.SampleRate, ChannelCount: cfg.Channels}}, cfg)
	if err != nil {
		return nil, fmt.Errorf("capture: start opus encoder: %w", err)
	}
	e.rc = rc
	return e, nil
}

// Config returns the encoder's configuration (with defaults filled in).
func (e *AudioEncoder) Config() AudioConfig { return e.cfg }

// FrameSamples returns how many samples per channel each Encode call takes.
func (e *AudioEncoder) FrameSamples() int {
	return int(int64(e.cfg.SampleRate) * int64(e.cfg.FrameDuration) / int64(time.Second))
}

// Encode encodes one frame of interleaved PCM (FrameSamples per channel)
// captured at captured.
func (e *AudioEncoder) Encode(pcm []int16, captured time.Time) (AccessUnit, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return AccessUnit{}, ErrClosed
	}
	if len(pcm) != e.FrameSamples()*e.cfg.Channels {
		return AccessUnit{}, fmt.Errorf("%w: %d samples, want %d", ErrBadFrame, len(pcm), e.FrameSamples()*e.cfg.Channels)
	}
	if e.n == 0 {
		e.first = captured
	}
	e.slot = pcm
	data, release, err := e.rc.Read()
	e.slot = nil
	if err != nil {
		return AccessUnit{}, fmt.Errorf("capture: encode audio frame %d: %w", e.n, err)
	}
	out := append([]byte(nil), data...)
	if release != nil {
		release()
	}
	e.n++
	return AccessUnit{Data: out, Captured: captured, PTS: captured.Sub(e.first), Keyframe: true}, nil
}

// SetBitrate changes the Opus target bitrate in bits per second.
func (e *AudioEncoder) SetBitrate(bps int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	bc, ok := e.rc.Controller().(codec.BitRateController)
	if !ok {
		return fmt.Errorf("%w: opus encoder cannot change its bitrate", ErrUnsupportedCodec)
	}
	if err := bc.SetBitRate(bps); err != nil {
		return fmt.Errorf("capture: set opus bitrate: %w", err)
	}
	e.cfg.Bitrate = bps
	return nil
}

// Close releases the encoder.
func (e *AudioEncoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	return e.rc.Close()
}
