package capture

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// OpenFile decodes a media file with Debian's ffmpeg (os/exec) into a video
// source (I420 at w x h and fps, scaled and padded) and an audio source (48 kHz
// mono in 20 ms chunks; nil when the file has no audio), both paced in real
// time by ffmpeg's -re and looping the file. Closing either stops its ffmpeg.
func OpenFile(ctx context.Context, path string, w, h int, fps float64) (VideoSource, AudioSource, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("capture: media file: %w", err)
	}
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, nil, fmt.Errorf("capture: a media file needs ffmpeg (scripts/deps.sh installs it): %w", err)
	}
	scale := fmt.Sprintf("scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2", w, h, w, h)
	vcmd := exec.CommandContext(ctx, bin, "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", path,
		"-an", "-vf", scale, "-r", strconv.FormatFloat(fps, 'f', -1, 64), "-pix_fmt", "yuv420p", "-f", "rawvideo", "pipe:1")
	vout, err := vcmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := vcmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("capture: start ffmpeg: %w", err)
	}
	v := &fileVideo{cmd: vcmd, r: vout, w: w, h: h, fps: fps}
	var a AudioSource
	if hasAudio(ctx, path) {
		acmd := exec.CommandContext(ctx, bin, "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", path,
			"-vn", "-ac", "1", "-ar", "48000", "-f", "s16le", "pipe:1")
		aout, err := acmd.StdoutPipe()
		if err == nil && acmd.Start() == nil {
			a = &fileAudio{cmd: acmd, r: aout, frameSamples: 960}
		}
	}
	return v, a, nil
}

// hasAudio asks ffprobe whether the file has an audio stream.
func hasAudio(ctx context.Context, path string) bool {
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-v", "error", "-select_streams", "a", "-show_entries", "stream=index", "-of", "csv=p=0", path).Output()
	return err == nil && len(out) > 0
}

type fileVideo struct {
	cmd  *exec.Cmd
	r    io.ReadCloser
	w, h int
	fps  float64
	once sync.Once
}

// Size returns the scaled frame size and rate.
func (f *fileVideo) Size() (int, int, float64) { return f.w, f.h, f.fps }

// Read returns the next decoded frame.
func (f *fileVideo) Read() (VideoFrame, func(), error) {
	img := image.NewYCbCr(image.Rect(0, 0, f.w, f.h), image.YCbCrSubsampleRatio420)
	for _, plane := range [][]byte{img.Y, img.Cb, img.Cr} {
		if _, err := io.ReadFull(f.r, plane); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return VideoFrame{}, func() {}, fmt.Errorf("capture: media file ended: %w", io.EOF)
			}
			return VideoFrame{}, func() {}, fmt.Errorf("capture: media file: %w", err)
		}
	}
	return VideoFrame{Image: img, Captured: time.Now()}, func() {}, nil
}

// Close stops ffmpeg.
func (f *fileVideo) Close() error {
	f.once.Do(func() {
		f.r.Close()
		if f.cmd.Process != nil {
			f.cmd.Process.Kill()
		}
		f.cmd.Wait()
	})
	return nil
}

type fileAudio struct {
	cmd          *exec.Cmd
	r            io.ReadCloser
	frameSamples int
	once         sync.Once
}

// Format returns 48 kHz, mono, 20 ms chunks.
func (f *fileAudio) Format() (int, int, int) { return 48000, 1, f.frameSamples }

// Read returns the next chunk.
func (f *fileAudio) Read() (AudioFrame, func(), error) {
	buf := make([]byte, 2*f.frameSamples)
	if _, err := io.ReadFull(f.r, buf); err != nil {
		return AudioFrame{}, func() {}, fmt.Errorf("capture: media file audio: %w", err)
	}
	pcm := make([]int16, f.frameSamples)
	for i := range pcm {
		pcm[i] = int16(uint16(buf[2*i]) | uint16(buf[2*i+1])<<8)
	}
	at := time.Now().Add(-time.Duration(f.frameSamples) * time.Second / 48000)
	return AudioFrame{PCM: pcm, Captured: at}, func() {}, nil
}

// Close stops ffmpeg.
func (f *fileAudio) Close() error {
	f.once.Do(func() {
		f.r.Close()
		if f.cmd.Process != nil {
			f.cmd.Process.Kill()
		}
		f.cmd.Wait()
	})
	return nil
}
