//go:build !nodevices && (linux || darwin || windows)

package drivertest

import (
	"image"
	"testing"
	"time"

	// mediadevices' own test devices: a camera of colour bars and noise
	// (640x480 at 30 fps, 4:2:2) and a microphone of a 480 Hz sine. They
	// stand in for hardware this machine lacks; everything from the driver
	// manager up (listing, mode choice, format conversion, reading, closing)
	// is the code a real device goes through.
	_ "github.com/pion/mediadevices/pkg/driver/audiotest"
	_ "github.com/pion/mediadevices/pkg/driver/videotest"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/capture/device"
)

// TestCameraThroughEncoder opens the test camera asking for 720p, gets its
// only mode (640x480 at 30), reads a second of frames (I420, with the colour
// bars' brightness falling left to right) and encodes them with the default
// H.264 encoder, a keyframe first.
func TestCameraThroughEncoder(t *testing.T) {
	cams, err := device.List(device.Camera)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range cams {
		found = found || c.Name == "VideoTest" || c.ID == "VideoTest"
	}
	if !found {
		t.Fatalf("the test camera is not listed: %+v", cams)
	}
	cam, err := device.OpenCamera("VideoTest", 1280, 720, 30)
	if err != nil {
		t.Fatal(err)
	}
	defer cam.Close()
	w, h, fps := cam.Size()
	if w != 640 || h != 480 || fps != 30 {
		t.Fatalf("mode %dx%d at %v, want the camera's only mode 640x480 at 30", w, h, fps)
	}
	enc, err := capture.NewVideoEncoder(capture.VideoConfig{Width: w, Height: h, FrameRate: fps, Bitrate: 800_000, KeyframeInterval: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var prev time.Time
	for i := range 30 {
		f, release, err := cam.Read()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		img, ok := f.Image.(*image.YCbCr)
		if !ok || img.SubsampleRatio != image.YCbCrSubsampleRatio420 || img.Bounds() != image.Rect(0, 0, 640, 480) {
			release()
			t.Fatalf("frame %d: %T %v, want 640x480 I420", i, f.Image, f.Image.Bounds())
		}
		// Seven bars across the top three quarters, brightest on the left.
		var luma [7]uint8
		for b := range luma {
			luma[b] = img.Y[img.YOffset(b*640/7+640/14, 100)]
		}
		for b := 1; b < len(luma); b++ {
			if luma[b] >= luma[b-1] {
				release()
				t.Fatalf("frame %d: bar luma %v does not fall left to right", i, luma)
			}
		}
		if !f.Captured.After(prev) {
			t.Fatalf("frame %d captured at %v, not after %v", i, f.Captured, prev)
		}
		prev = f.Captured
		au, err := enc.Encode(f.Image, f.Captured)
		release()
		if err != nil {
			t.Fatalf("encode frame %d: %v", i, err)
		}
		if len(au.Data) == 0 || (i == 0 && !au.Keyframe) {
			t.Fatalf("frame %d: %d bytes, keyframe %v", i, len(au.Data), au.Keyframe)
		}
	}
}

// TestMicrophoneThroughEncoder opens the test microphone for 48 kHz mono in
// 20 ms chunks and finds its 480 Hz sine (about 19 zero crossings a chunk),
// then encodes Opus packets of it.
func TestMicrophoneThroughEncoder(t *testing.T) {
	mic, err := device.OpenMicrophone("AudioTest", 48000, 1, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer mic.Close()
	rate, chans, n := mic.Format()
	if rate != 48000 || chans != 1 || n != 960 {
		t.Fatalf("format %d Hz x %d, %d samples a chunk", rate, chans, n)
	}
	enc, err := capture.NewAudioEncoder(capture.AudioConfig{SampleRate: rate, Channels: chans})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	for i := range 25 {
		f, release, err := mic.Read()
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if len(f.PCM) != 960 {
			t.Fatalf("chunk %d: %d samples", i, len(f.PCM))
		}
		peak := 0
		for _, v := range f.PCM {
			peak = max(peak, int(v), -int(v))
		}
		if peak < 7400 || peak > 9000 { // a sine of amplitude 0.25: 8192
			t.Fatalf("chunk %d: peak %d, want about 8192", i, peak)
		}
		crossings := 0
		for j := 1; j < len(f.PCM); j++ {
			if (f.PCM[j-1] < 0) != (f.PCM[j] < 0) {
				crossings++
			}
		}
		if crossings < 17 || crossings > 21 {
			t.Fatalf("chunk %d: %d zero crossings, want about 19 (480 Hz)", i, crossings)
		}
		au, err := enc.Encode(f.PCM, f.Captured)
		release()
		if err != nil || len(au.Data) == 0 {
			t.Fatalf("encode chunk %d: %d bytes, %v", i, len(au.Data), err)
		}
	}
}
