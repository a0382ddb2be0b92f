package publish

import (
	"flag"
	"time"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/moq"
)

// RegisterFlags defines the command-line flags that set c, and sets their
// defaults in c: --source, --camera, --mic, --preset, --codec, --bitrate,
// --gop, --adapt, --mode, --insecure and --cert-hash. As on the command
// line a microphone is asked for loosely, one that does not open is left
// out (Sources.MicrophoneOptional).
func (c *StartConfig) RegisterFlags(fs *flag.FlagSet) {
	c.Sources.MicrophoneOptional = true
	c.Preset, _ = capture.PresetByName(capture.DefaultPreset)
	fs.StringVar(&c.Sources.Source, "source", TestSource, "what to send: testsrc (test pattern and tone), camera, or a media file (decoded by ffmpeg)")
	fs.StringVar(&c.Sources.Camera, "camera", "", "camera to use with --source camera (default: the preferred one)")
	fs.StringVar(&c.Sources.Microphone, "mic", "", "microphone with --source camera: an ID, \"none\", or empty for the preferred one")
	fs.Var((*presetFlag)(&c.Preset), "preset", "the `name` of the resolution, frame rate and bitrate: 360p, 720p or 1080p")
	fs.StringVar((*string)(&c.VideoCodec), "codec", string(capture.H264), "video codec: h264 or vp8")
	fs.IntVar(&c.VideoBitrate, "bitrate", 0, "video bitrate in bits/s (default: the preset's)")
	fs.DurationVar(&c.GOP, "gop", 2*time.Second, "keyframe interval, which is also the group length")
	fs.BoolVar(&c.Adapt, "adapt", true, "lower the video bitrate when the relay connection cannot keep up")
	fs.TextVar(&c.Connect.Mode, "mode", ModeAuto, "how to offer the broadcast, by `name`: auto (PUBLISH_NAMESPACE, else PUBLISH), namespace, or publish")
	fs.BoolVar(&c.Connect.Dial.Insecure, "insecure", false, "accept any relay certificate (development only)")
	fs.Func("cert-hash", "accept the relay certificate whose SHA-256 is this `hex`", func(s string) error {
		h, err := moq.ParseCertHash(s)
		if err == nil {
			c.Connect.Dial.CertHashes = append(c.Connect.Dial.CertHashes, h)
		}
		return err
	})
}

// presetFlag is a capture.Preset as a flag: its name.
type presetFlag capture.Preset

func (p *presetFlag) String() string { return p.Name }

func (p *presetFlag) Set(name string) error {
	v, err := capture.PresetByName(name)
	if err == nil {
		*p = presetFlag(v)
	}
	return err
}
