// Package capture is what a streamer sends: synthetic sources (a test pattern
// with a burned-in frame counter and capture clock, a tone whose phase encodes
// time), the video and audio encoders, encoder presets and the bitrate
// adapter. Real cameras and microphones live in capture/device; the publisher
// that packages and sends everything lives in capture/publish.
//
// See docs/MEDIA.md, "Capture and packaging".
package capture
