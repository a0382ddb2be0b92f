package decode

import (
	"testing"
	"time"
)

// FuzzH264Decode gives the H.264 decoder (our Annex-B/AVCC handling and
// libavcodec behind it) arbitrary access units after a valid keyframe: it
// must return errors, never crash.
func FuzzH264Decode(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0x41, 0x9a, 0x00, 0x10}, false)
	f.Add([]byte{0, 0, 0, 3, 0x65, 0x88, 0x84, 0, 0, 0, 1, 0x41}, true)
	d, err := NewVideo("avc1.42e01f", nil)
	if err != nil {
		f.Fatal(err)
	}
	var key []byte
	f.Fuzz(func(t *testing.T, au []byte, reset bool) {
		if key == nil {
			aus, _ := h264Clip(t, 64, 48, 1, 1)
			key = aus[0]
		}
		if reset {
			if _, err := d.Decode(key, 0); err != nil {
				t.Fatalf("keyframe: %v", err)
			}
		}
		frames, _ := d.Decode(au, time.Millisecond)
		for _, fr := range frames {
			if fr.Image == nil {
				t.Fatal("nil image")
			}
		}
	})
}

// FuzzAACDecode gives the AAC decoder arbitrary frames.
func FuzzAACDecode(f *testing.F) {
	f.Add([]byte{0x21, 0x10, 0x04, 0x60, 0x8c, 0x1c})
	f.Add([]byte{0xff, 0xf1, 0x50, 0x80, 0x01, 0x7f, 0xfc, 0x21})
	d, err := NewAudio("mp4a.40.2", []byte{0x11, 0x90}, 48000, 2)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		out, _ := d.Decode(frame, 0)
		for _, a := range out {
			if len(a.Samples) != len(a.Samples)/a.Channels*a.Channels {
				t.Fatal("ragged PCM")
			}
		}
	})
}

// FuzzOpusDecode gives the pure-Go Opus decoder arbitrary packets.
func FuzzOpusDecode(f *testing.F) {
	f.Add([]byte{0xfc, 0xff, 0xfe})
	f.Add([]byte{0x78, 0x01, 0x02, 0x03})
	d, _ := NewAudio("opus", nil, 48000, 2)
	f.Fuzz(func(t *testing.T, p []byte) {
		_, _ = d.Decode(p, 0)
	})
}
