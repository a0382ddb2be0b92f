// Package device opens real cameras and microphones through pion/mediadevices
// and presents them as capture.VideoSource and capture.AudioSource. Builds
// with the nodevices tag (or on other systems) get a stub that reports
// capture.ErrNoDevice, so CI and cross-builds need no device libraries.
//
// Microphone capture through mediadevices (malgo) may deliver nothing on some
// systems (PulseAudio without a source): Read then fails with
// capture.ErrNoSignal after NoSignalTimeout instead of hanging.
package device

import "time"

// Kind is a kind of capture device.
type Kind int

// Kinds of devices.
const (
	Camera Kind = iota
	Microphone
)

// String names the kind.
func (k Kind) String() string {
	if k == Camera {
		return "camera"
	}
	return "microphone"
}

// Info describes one device.
type Info struct {
	// ID identifies the device for Open.
	ID string
	// Name is a human-readable name.
	Name string
	Kind Kind
	// Default says the system prefers this device.
	Default bool
}

// NoSignalTimeout is how long Read waits for a device's first data.
var NoSignalTimeout = 3 * time.Second
