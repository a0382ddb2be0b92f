//go:build nodevices || !(linux || darwin || windows)

package device

import (
	"fmt"
	"time"

	"github.com/tributary-live/tributary/capture"
)

// List returns no devices: this build has no device support.
func List(kind Kind) ([]Info, error) { return nil, nil }

// OpenCamera fails: this build has no device support.
func OpenCamera(id string, w, h int, fps float64) (capture.VideoSource, error) {
	return nil, fmt.Errorf("%w: built without camera support (nodevices)", capture.ErrNoDevice)
}

// OpenMicrophone fails: this build has no device support.
func OpenMicrophone(id string, sampleRate, channels int, frameDur time.Duration) (capture.AudioSource, error) {
	return nil, fmt.Errorf("%w: built without microphone support (nodevices)", capture.ErrNoDevice)
}
