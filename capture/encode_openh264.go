//go:build !x264

package capture

import (
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/openh264"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// H264Encoder names the H.264 encoder of this build.
const H264Encoder = "openh264"

// newH264 starts Cisco's openh264 (linked statically from the mediadevices
// module; -tags dynamic links Debian's libopenh264 instead).
func newH264(r video.Reader, p prop.Media, cfg VideoConfig) (codec.ReadCloser, error) {
	params, err := openh264.NewParams()
	if err != nil {
		return nil, err
	}
	params.BitRate = cfg.Bitrate
	params.IntraPeriod = uint(cfg.KeyframeInterval)
	params.EnableFrameSkip = false // one access unit out for every frame in
	params.MultipleThreadIdc = 1   // one thread: the CPU figures are per stream
	params.SliceMode = openh264.SMSingleSlice
	params.SliceNum = 1
	return params.BuildVideoEncoder(r, p)
}
