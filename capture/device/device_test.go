package device

import (
	"errors"
	"testing"
	"time"

	"github.com/tributary-live/tributary/capture"
)

func TestCameraErrors(t *testing.T) {
	cams, err := List(Camera)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cameras: %+v", cams)
	if _, err := OpenCamera("no-such-camera", 640, 360, 30); !errors.Is(err, capture.ErrNoDevice) {
		t.Errorf("missing camera: %v", err)
	}
	if len(cams) == 0 {
		if _, err := OpenCamera("", 640, 360, 30); !errors.Is(err, capture.ErrNoDevice) {
			t.Errorf("no camera at all: %v", err)
		}
	}
}

// A microphone either delivers samples or fails with ErrNoSignal: it never hangs.
func TestMicrophoneNeverHangs(t *testing.T) {
	mics, err := List(Microphone)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("microphones: %+v", mics)
	if _, err := OpenMicrophone("no-such-microphone", 48000, 1, 20*time.Millisecond); !errors.Is(err, capture.ErrNoDevice) {
		t.Errorf("missing microphone: %v", err)
	}
	if len(mics) == 0 {
		t.Skip("no microphone on this machine")
	}
	old := NoSignalTimeout
	NoSignalTimeout = 500 * time.Millisecond
	defer func() { NoSignalTimeout = old }()
	m, err := OpenMicrophone("", 48000, 1, 20*time.Millisecond)
	if err != nil {
		t.Logf("open: %v", err)
		return
	}
	defer m.Close()
	f, release, err := m.Read()
	if err != nil {
		if !errors.Is(err, capture.ErrNoSignal) {
			t.Errorf("read: %v", err)
		}
		t.Logf("read: %v", err)
		return
	}
	release()
	if len(f.PCM) != 960 {
		t.Errorf("chunk of %d samples", len(f.PCM))
	}
}
