package capture

import (
	"fmt"
	"strings"
)

// Preset is a capture and encoding preset: resolution, frame rate and bitrates.
type Preset struct {
	Name          string
	Width, Height int
	FrameRate     float64
	// VideoBitrate and AudioBitrate are the starting targets in bits per second.
	VideoBitrate, AudioBitrate int
}

// Presets are the presets offered, smallest first.
var Presets = []Preset{
	{Name: "360p", Width: 640, Height: 360, FrameRate: 30, VideoBitrate: 800_000, AudioBitrate: 64_000},
	{Name: "720p", Width: 1280, Height: 720, FrameRate: 30, VideoBitrate: 2_500_000, AudioBitrate: 96_000},
	{Name: "1080p", Width: 1920, Height: 1080, FrameRate: 30, VideoBitrate: 5_000_000, AudioBitrate: 128_000},
}

// DefaultPreset is the preset used when none is chosen.
const DefaultPreset = "720p"

// PresetByName returns the preset with the given name ("360p", "720p", "1080p").
func PresetByName(name string) (Preset, error) {
	var names []string
	for _, p := range Presets {
		if strings.EqualFold(p.Name, name) {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Preset{}, fmt.Errorf("capture: unknown preset %q (have %s)", name, strings.Join(names, ", "))
}
