package publish

import (
	"encoding/hex"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/tributary-live/tributary/capture"
)

// RegisterFlags sets the command line's defaults, parses the flags into
// the config, and refuses a preset, mode or certificate hash it cannot read.
func TestRegisterFlags(t *testing.T) {
	parse := func(args ...string) (StartConfig, error) {
		var c StartConfig
		fs := flag.NewFlagSet("publish", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.RegisterFlags(fs)
		return c, fs.Parse(args)
	}
	c, err := parse()
	if err != nil {
		t.Fatal(err)
	}
	if c.Sources.Source != TestSource || !c.Sources.MicrophoneOptional || c.Preset.Name != capture.DefaultPreset ||
		c.VideoCodec != capture.H264 || c.GOP != 2*time.Second || !c.Adapt || c.Connect.Mode != ModeAuto {
		t.Errorf("defaults: %+v", c)
	}
	hash := strings.Repeat("ab", 32)
	c, err = parse("--source", "camera", "--camera", "cam0", "--mic", "none", "--preset", "360p", "--codec", "vp8",
		"--bitrate", "1000000", "--gop", "1s", "--adapt=false", "--mode", "publish", "--insecure", "--cert-hash", hash)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sources != (Sources{Source: CameraSource, Camera: "cam0", Microphone: NoMicrophone, MicrophoneOptional: true}) ||
		c.Preset.Name != "360p" || c.VideoCodec != capture.VP8 || c.VideoBitrate != 1_000_000 || c.GOP != time.Second ||
		c.Adapt || c.Connect.Mode != ModePublish || !c.Connect.Dial.Insecure ||
		len(c.Connect.Dial.CertHashes) != 1 || hex.EncodeToString(c.Connect.Dial.CertHashes[0]) != hash {
		t.Errorf("parsed: %+v", c)
	}
	for _, bad := range [][]string{{"--preset", "8k"}, {"--mode", "loud"}, {"--cert-hash", "zz"}} {
		if _, err := parse(bad...); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
