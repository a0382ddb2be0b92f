//go:build x264

package capture

import (
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/x264"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// H264Encoder names the H.264 encoder of this build.
const H264Encoder = "x264"

// newH264 starts libx264 (Debian's libx264-dev, through pkg-config) with the
// zerolatency tune: no B-frames, no lookahead, one access unit per frame.
func newH264(r video.Reader, p prop.Media, cfg VideoConfig) (codec.ReadCloser, error) {
	params, err := x264.NewParams()
	if err != nil {
		return nil, err
	}
	params.BitRate = cfg.Bitrate
	params.KeyFrameInterval = cfg.KeyframeInterval
	params.Preset = x264.PresetVeryfast
	return params.BuildVideoEncoder(r, p)
}
