// Package dump writes what the player presents to files: pictures as PNG and
// audio as a WAV file, for tests and for `tributary play --dump`.
package dump

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sync"
)

// Writer writes pictures and audio into a directory. Pictures are encoded
// on a goroutine of its own, so the player is not slowed down.
type Writer struct {
	dir    string
	frames chan frame
	wg     sync.WaitGroup

	mu       sync.Mutex
	wav      *os.File
	wavBuf   *bufio.Writer
	rate     int
	channels int
	samples  int64
	dropped  int
	err      error
}

type frame struct {
	n   int
	img image.Image
}

// QueueLen is how many pictures may wait for encoding before new ones are dropped.
const QueueLen = 256

// New creates dir if needed and returns a writer into it.
func New(dir string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("dump: %w", err)
	}
	w := &Writer{dir: dir, frames: make(chan frame, QueueLen)}
	w.wg.Add(1)
	go w.encode()
	return w, nil
}

func (w *Writer) encode() {
	defer w.wg.Done()
	for f := range w.frames {
		path := filepath.Join(w.dir, fmt.Sprintf("frame-%06d.png", f.n))
		out, err := os.Create(path)
		if err == nil {
			err = png.Encode(out, f.img)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			w.setErr(fmt.Errorf("dump: %s: %w", path, err))
		}
	}
}

func (w *Writer) setErr(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// Picture queues picture number n for writing as frame-NNNNNN.png; it is
// dropped (and counted) when the queue is full.
func (w *Writer) Picture(n int, img image.Image) {
	select {
	case w.frames <- frame{n, img}:
	default:
		w.mu.Lock()
		w.dropped++
		w.mu.Unlock()
	}
}

// Audio appends interleaved float32 PCM to audio.wav (16-bit PCM). The
// first call fixes the rate and channel count; PCM in another format is
// skipped.
func (w *Writer) Audio(pcm []float32, rate, channels int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wav == nil {
		f, err := os.Create(filepath.Join(w.dir, "audio.wav"))
		if err != nil {
			return fmt.Errorf("dump: %w", err)
		}
		w.wav, w.wavBuf, w.rate, w.channels = f, bufio.NewWriter(f), rate, channels
		if _, err := w.wavBuf.Write(make([]byte, 44)); err != nil { // header written at Close
			return fmt.Errorf("dump: %w", err)
		}
	}
	if rate != w.rate || channels != w.channels {
		return nil
	}
	var b [2]byte
	for _, s := range pcm {
		v := int16(math.Round(float64(max(-1, min(1, s))) * 32767))
		binary.LittleEndian.PutUint16(b[:], uint16(v))
		if _, err := w.wavBuf.Write(b[:]); err != nil {
			return fmt.Errorf("dump: %w", err)
		}
	}
	w.samples += int64(len(pcm))
	return nil
}

// Dropped reports pictures dropped because encoding fell behind.
func (w *Writer) Dropped() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dropped
}

// Close finishes the files and reports the first error.
func (w *Writer) Close() error {
	close(w.frames)
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wav != nil {
		if err := w.wavBuf.Flush(); err != nil && w.err == nil {
			w.err = err
		}
		data := uint32(w.samples * 2)
		h := make([]byte, 0, 44)
		h = append(h, "RIFF"...)
		h = binary.LittleEndian.AppendUint32(h, 36+data)
		h = append(h, "WAVEfmt "...)
		h = binary.LittleEndian.AppendUint32(h, 16)
		h = binary.LittleEndian.AppendUint16(h, 1) // PCM
		h = binary.LittleEndian.AppendUint16(h, uint16(w.channels))
		h = binary.LittleEndian.AppendUint32(h, uint32(w.rate))
		h = binary.LittleEndian.AppendUint32(h, uint32(w.rate*w.channels*2))
		h = binary.LittleEndian.AppendUint16(h, uint16(w.channels*2))
		h = binary.LittleEndian.AppendUint16(h, 16)
		h = append(h, "data"...)
		h = binary.LittleEndian.AppendUint32(h, data)
		if _, err := w.wav.WriteAt(h, 0); err != nil && w.err == nil {
			w.err = err
		}
		if err := w.wav.Close(); err != nil && w.err == nil {
			w.err = err
		}
	}
	return w.err
}
