package capture

import (
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// newVP8 starts libvpx's VP8 encoder in real-time mode.
func newVP8(r video.Reader, p prop.Media, cfg VideoConfig) (codec.ReadCloser, error) {
	params, err := vpx.NewVP8Params()
	if err != nil {
		return nil, err
	}
	params.BitRate = cfg.Bitrate
	params.KeyFrameInterval = cfg.KeyframeInterval
	params.RateControlEndUsage = vpx.RateControlCBR
	params.LagInFrames = 0
	return params.BuildVideoEncoder(r, p)
}

// newOpus starts libopus (linked statically from the mediadevices module).
func newOpus(r audio.Reader, p prop.Media, cfg AudioConfig) (codec.ReadCloser, error) {
	params, err := opus.NewParams()
	if err != nil {
		return nil, err
	}
	params.BitRate = cfg.Bitrate
	params.Latency = opus.Latency(cfg.FrameDuration)
	return params.BuildAudioEncoder(r, p)
}
