package publish

import (
	"context"
	"log/slog"
	"time"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/capture/device"
)

// What Sources.Source names besides a media file.
const (
	// TestSource is the test pattern and the tone.
	TestSource = "testsrc"
	// CameraSource is Sources.Camera and Sources.Microphone.
	CameraSource = "camera"
)

// Pseudo device IDs that Sources.Camera and Sources.Microphone take besides
// a device's ID: the synthetic sources, and no sound.
const (
	TestPattern  = "testsrc"
	TestTone     = "tone"
	NoMicrophone = "none"
)

// Sources names what a broadcast sends; Open opens it.
type Sources struct {
	// Source is TestSource (the default), CameraSource, or the path of a
	// media file (decoded by ffmpeg, looped, with its sound if it has any).
	Source string
	// Camera, with CameraSource, is a camera's ID, TestPattern, or empty
	// for the system's preferred camera.
	Camera string
	// Microphone, with CameraSource, is a microphone's ID, TestTone,
	// NoMicrophone, or empty for the system's preferred microphone.
	Microphone string
	// MicrophoneOptional leaves out a microphone that does not open (with
	// a warning) instead of failing: the broadcast is then video only.
	MicrophoneOptional bool
}

// SourceError is a source that did not open.
type SourceError struct {
	// Device is "camera", "microphone" or "media file".
	Device string
	Err    error
}

func (e *SourceError) Error() string { return "publish: " + e.Device + ": " + e.Err.Error() }

// Unwrap returns the device's error (capture.ErrBusy, capture.ErrNoDevice ...).
func (e *SourceError) Unwrap() error { return e.Err }

// Open opens the sources at the preset's size and frame rate; audio is
// 48 kHz mono in 20 ms chunks. The audio source is nil for NoMicrophone
// (and for an optional microphone that did not open, logged to log). A
// media file's decoder stops when ctx ends.
func (s Sources) Open(ctx context.Context, p capture.Preset, log *slog.Logger) (capture.VideoSource, capture.AudioSource, error) {
	now := time.Now()
	switch s.Source {
	case TestSource, "":
		return capture.NewPatternSource(p.Width, p.Height, p.FrameRate, true, now),
			capture.NewToneSource(48000, 1, 20*time.Millisecond, true, now), nil
	case CameraSource:
	default:
		v, a, err := capture.OpenFile(ctx, s.Source, p.Width, p.Height, p.FrameRate)
		if err != nil {
			return nil, nil, &SourceError{Device: "media file", Err: err}
		}
		return v, a, nil
	}
	var v capture.VideoSource
	if s.Camera == TestPattern {
		v = capture.NewPatternSource(p.Width, p.Height, p.FrameRate, true, now)
	} else {
		var err error
		if v, err = device.OpenCamera(s.Camera, p.Width, p.Height, p.FrameRate); err != nil {
			return nil, nil, &SourceError{Device: "camera", Err: err}
		}
	}
	var a capture.AudioSource
	switch s.Microphone {
	case NoMicrophone:
	case TestTone:
		a = capture.NewToneSource(48000, 1, 20*time.Millisecond, true, now)
	default:
		var err error
		if a, err = device.OpenMicrophone(s.Microphone, 48000, 1, 20*time.Millisecond); err != nil {
			if s.MicrophoneOptional {
				orDefault(log).Warn("publish: no microphone, sending video only", "err", err)
				return v, nil, nil
			}
			v.Close()
			return nil, nil, &SourceError{Device: "microphone", Err: err}
		}
	}
	return v, a, nil
}

func orDefault(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.Default()
	}
	return log
}
