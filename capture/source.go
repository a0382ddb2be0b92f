package capture

import (
	"errors"
	"image"
	"sync"
	"time"
)

// ErrNoDevice reports that no capture device of the wanted kind exists.
var ErrNoDevice = errors.New("capture: no such device")

// ErrBusy reports a device that another program is using.
var ErrBusy = errors.New("capture: device busy")

// ErrNoSignal reports a device that opened but delivers nothing.
var ErrNoSignal = errors.New("capture: device delivers no data")

// VideoFrame is one captured picture.
type VideoFrame struct {
	// Image is the picture; an I420 *image.YCbCr from the synthetic source.
	Image image.Image
	// Captured is the wall-clock capture time.
	Captured time.Time
}

// AudioFrame is one captured chunk of interleaved 16-bit PCM.
type AudioFrame struct {
	PCM []int16
	// Captured is the wall-clock capture time of the first sample.
	Captured time.Time
}

// VideoSource is a camera or synthetic video: Read blocks until the next frame
// and returns it with a release function to call when done with it.
type VideoSource interface {
	Read() (f VideoFrame, release func(), err error)
	// Size returns the frame size in pixels and the nominal frame rate.
	Size() (width, height int, fps float64)
	Close() error
}

// AudioSource is a microphone or synthetic audio: Read blocks until the next
// chunk of FrameSamples samples per channel.
type AudioSource interface {
	Read() (f AudioFrame, release func(), err error)
	// Format returns the sample rate, channel count and samples per channel of each Read.
	Format() (sampleRate, channels, frameSamples int)
	Close() error
}

// pacer releases ticks at a fixed period on the wall clock. When the consumer
// falls behind by more than a period, the missed ticks are dropped at the
// source rather than queued.
type pacer struct {
	period time.Duration
	next   time.Time
	done   chan struct{}
	once   sync.Once
}

func newPacer(period time.Duration) *pacer {
	return &pacer{period: period, done: make(chan struct{})}
}

// wait blocks until the next tick and returns its time, or false when closed.
func (p *pacer) wait() (time.Time, bool) {
	now := time.Now()
	if p.next.IsZero() {
		p.next = now
	}
	if d := p.next.Sub(now); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-p.done:
			t.Stop()
			return time.Time{}, false
		}
	} else if -d > p.period {
		// Late by more than a frame: drop the missed ticks.
		missed := -d / p.period
		p.next = p.next.Add(missed * p.period)
	}
	select {
	case <-p.done:
		return time.Time{}, false
	default:
	}
	at := p.next
	p.next = p.next.Add(p.period)
	return at, true
}

func (p *pacer) close() { p.once.Do(func() { close(p.done) }) }

// PatternSource is the synthetic video: the test pattern stamped with a frame
// counter (the number of frames delivered so far) and the capture clock.
type PatternSource struct {
	pattern *Pattern
	w, h    int
	fps     float64
	paced   *pacer
	start   time.Time
	n       uint32
	mu      sync.Mutex
	closed  bool
}

// NewPatternSource returns the test pattern at w x h and fps. A paced source
// delivers frames in real time (dropping frames when its reader is late); an
// unpaced one delivers them as fast as they are read, stamped as if captured
// at start + n/fps.
func NewPatternSource(w, h int, fps float64, paced bool, start time.Time) *PatternSource {
	s := &PatternSource{pattern: NewPattern(w, h), w: w, h: h, fps: fps, start: start}
	if paced {
		s.paced = newPacer(time.Duration(float64(time.Second) / fps))
	}
	return s
}

// Size returns the frame size and rate.
func (s *PatternSource) Size() (int, int, float64) { return s.w, s.h, s.fps }

// Read returns the next frame.
func (s *PatternSource) Read() (VideoFrame, func(), error) {
	at := s.start.Add(time.Duration(float64(s.n) / s.fps * float64(time.Second)))
	if s.paced != nil {
		var ok bool
		if at, ok = s.paced.wait(); !ok {
			return VideoFrame{}, func() {}, ErrClosed
		}
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return VideoFrame{}, func() {}, ErrClosed
	}
	img := s.pattern.Draw(PatternStamp{Frame: s.n, ClockMillis: uint64(at.UnixMilli())})
	s.n++
	return VideoFrame{Image: img, Captured: at}, func() {}, nil
}

// Close ends the source; a blocked Read returns ErrClosed.
func (s *PatternSource) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.paced != nil {
		s.paced.close()
	}
	return nil
}

// ToneSource is the synthetic audio: the test tone in chunks of frameDur.
type ToneSource struct {
	tone         *Tone
	frameSamples int
	frameDur     time.Duration
	paced        *pacer
	mu           sync.Mutex
	closed       bool
}

// NewToneSource returns the test tone at sampleRate with channels, in chunks
// of frameDur. A paced source delivers chunks in real time, as a microphone
// does: each when its last sample is due, so the chunk starting at start comes
// at start+frameDur; when its reader is late the tone skips ahead so that its
// phase keeps following the clock.
func NewToneSource(sampleRate, channels int, frameDur time.Duration, paced bool, start time.Time) *ToneSource {
	s := &ToneSource{
		tone:         NewTone(sampleRate, channels, start),
		frameSamples: int(int64(sampleRate) * int64(frameDur) / int64(time.Second)),
	}
	if paced {
		s.paced = newPacer(frameDur)
		s.paced.next = start.Add(frameDur)
		s.frameDur = frameDur
	}
	return s
}

// Format returns the sample rate, channels and samples per channel per Read.
func (s *ToneSource) Format() (int, int, int) {
	return s.tone.sampleRate, s.tone.channels, s.frameSamples
}

// Read returns the next chunk.
func (s *ToneSource) Read() (AudioFrame, func(), error) {
	if s.paced != nil {
		at, ok := s.paced.wait()
		if !ok {
			return AudioFrame{}, func() {}, ErrClosed
		}
		// The chunk ends at the tick; keep the tone on the clock after
		// dropped chunks.
		if want := at.Add(-s.frameDur).Sub(time.UnixMicro(s.tone.startMicros)); want > 0 {
			s.tone.n = int64(want) * int64(s.tone.sampleRate) / int64(time.Second)
		}
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return AudioFrame{}, func() {}, ErrClosed
	}
	pcm := make([]int16, s.frameSamples*s.tone.channels)
	at := s.tone.Next(pcm)
	return AudioFrame{PCM: pcm, Captured: at}, func() {}, nil
}

// Close ends the source; a blocked Read returns ErrClosed.
func (s *ToneSource) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.paced != nil {
		s.paced.close()
	}
	return nil
}
