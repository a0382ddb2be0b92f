// Package audio plays decoded PCM on the sound card through
// github.com/ebitengine/oto/v3 and reports the audio clock the player syncs
// video to. A missing sound card or a lost device is reported through Err and
// an error callback, never fatal: the player then runs on a wall clock.
package audio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/ebitengine/oto/v3"
)

// Output format of the device: oto supports one context per process, so
// every stream is converted to it.
const (
	// Rate is the device sample rate.
	Rate = 48000
	// Channels is the device channel count.
	Channels = 2
	// deviceBuffer is the device buffer asked of the driver.
	deviceBuffer = 40 * time.Millisecond
	// playerBuffer is the buffer oto's player reads ahead from us.
	playerBuffer = 20 * time.Millisecond
	// MaxQueue bounds the PCM queued in front of the device.
	MaxQueue = 2 * time.Second
)

// ErrNoDevice means the sound system could not be opened.
var ErrNoDevice = errors.New("audio: no sound device")

var (
	ctxOnce sync.Once
	ctxVal  *oto.Context
	ctxErr  error

	// openMu guards outputs: the device is suspended while no output is open.
	openMu  sync.Mutex
	outputs int
)

// context opens the process's one oto context (oto supports only one).
func context() (*oto.Context, error) {
	ctxOnce.Do(func() {
		c, ready, err := oto.NewContext(&oto.NewContextOptions{
			SampleRate: Rate, ChannelCount: Channels, Format: oto.FormatFloat32LE, BufferSize: deviceBuffer,
		})
		if err != nil {
			ctxErr = fmt.Errorf("%w: %w", ErrNoDevice, err)
			return
		}
		select {
		case <-ready:
		case <-time.After(5 * time.Second):
			ctxErr = fmt.Errorf("%w: the device did not become ready", ErrNoDevice)
			return
		}
		ctxVal = c
	})
	return ctxVal, ctxErr
}

// chunk is PCM at the device format with the media time of its first sample.
type chunk struct {
	ts      time.Duration
	samples []float32
}

// Output is one stream's audio on the device. Its methods are safe for
// concurrent use.
type Output struct {
	mu       sync.Mutex
	cond     *sync.Cond
	queue    []chunk
	queued   int // samples (per channel) queued
	readTS   time.Duration
	haveTS   bool
	closed   bool
	err      error
	onError  func(error)
	player   *oto.Player
	ctx      *oto.Context
	underrun uint64
	playing  bool
	written  uint64
	done     chan struct{}
}

// Open starts an output on the default device. onError (may be nil) is
// called once, from another goroutine, if the device fails later. With no
// sound device Open returns an error wrapping ErrNoDevice.
func Open(onError func(error)) (*Output, error) {
	c, err := context()
	if err != nil {
		return nil, err
	}
	if err := c.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoDevice, err)
	}
	openMu.Lock()
	if outputs == 0 {
		if err := c.Resume(); err != nil {
			openMu.Unlock()
			return nil, fmt.Errorf("%w: %w", ErrNoDevice, err)
		}
	}
	outputs++
	openMu.Unlock()
	o := &Output{ctx: c, onError: onError, done: make(chan struct{})}
	o.cond = sync.NewCond(&o.mu)
	o.player = c.NewPlayer(reader{o})
	o.player.SetBufferSize(int(playerBuffer.Seconds()*Rate) * Channels * 4)
	go o.watch()
	return o, nil
}

// watch polls the context and player for a device error: oto reports a lost
// or missing device only through Err.
func (o *Output) watch() {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-o.done:
			return
		case <-t.C:
		}
		err := o.ctx.Err()
		if err == nil {
			err = o.player.Err()
		}
		if err != nil {
			o.fail(fmt.Errorf("audio: device failed: %w", err))
			return
		}
	}
}

func (o *Output) fail(err error) {
	o.mu.Lock()
	if o.err != nil || o.closed {
		o.mu.Unlock()
		return
	}
	o.err = err
	o.queue, o.queued = nil, 0
	o.cond.Broadcast()
	cb := o.onError
	o.mu.Unlock()
	if cb != nil {
		cb(err)
	}
}

// Write queues PCM (interleaved float32 at the given rate and channel count)
// whose first sample has media time ts. It converts to the device format.
// When more than MaxQueue is queued, the oldest is dropped.
func (o *Output) Write(pcm []float32, rate, channels int, ts time.Duration) error {
	if rate <= 0 || channels <= 0 || channels > 8 {
		return fmt.Errorf("audio: PCM of %d Hz, %d channels", rate, channels)
	}
	out := Convert(pcm, rate, channels)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	if o.closed {
		return io.ErrClosedPipe
	}
	o.queue = append(o.queue, chunk{ts: ts, samples: out})
	o.queued += len(out) / Channels
	o.written += uint64(len(out) / Channels)
	if !o.playing {
		// Start the player with the first audio, so that oto's first reads
		// find data instead of spinning on an empty source.
		o.playing = true
		go o.player.Play()
	}
	for o.queued > int(MaxQueue.Seconds()*Rate) && len(o.queue) > 1 {
		o.queued -= len(o.queue[0].samples) / Channels
		o.queue = o.queue[1:]
	}
	o.cond.Broadcast()
	return nil
}

// Convert resamples interleaved PCM to the device format (48 kHz stereo):
// linear interpolation for the rate, mono duplicated, extra channels dropped.
func Convert(pcm []float32, rate, channels int) []float32 {
	frames := len(pcm) / channels
	n := frames
	if rate != Rate {
		n = int(int64(frames) * Rate / int64(rate))
	}
	out := make([]float32, n*Channels)
	for i := range n {
		pos := float64(i)
		if rate != Rate {
			pos = float64(i) * float64(rate) / Rate
		}
		j := int(pos)
		frac := float32(pos - float64(j))
		for c := range Channels {
			sc := min(c, channels-1)
			a := pcm[min(j, frames-1)*channels+sc]
			b := pcm[min(j+1, frames-1)*channels+sc]
			out[i*Channels+c] = a + (b-a)*frac
		}
	}
	return out
}

// Clock reports the media time of the sample being heard now, and false
// when there is none (nothing played yet, or the device failed).
func (o *Output) Clock(now time.Time) (time.Duration, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.haveTS || o.err != nil {
		return 0, false
	}
	// Samples handed to oto but not yet heard: its player buffer and the device buffer.
	pending := time.Duration(o.player.BufferedSize()/(Channels*4)) * time.Second / Rate
	pending += deviceBuffer
	t := o.readTS - pending
	return t, true
}

// Queued reports how much PCM waits in front of the device.
func (o *Output) Queued() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return time.Duration(o.queued) * time.Second / Rate
}

// Underruns counts the times the device asked for audio and none was queued.
func (o *Output) Underruns() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.underrun
}

// SetVolume sets the volume, 0 to 1.
func (o *Output) SetVolume(v float64) {
	o.player.SetVolume(math.Max(0, math.Min(1, v)))
}

// Err reports the device error, if any.
func (o *Output) Err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.err
}

// Close stops the output.
func (o *Output) Close() error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return nil
	}
	o.closed = true
	close(o.done)
	o.cond.Broadcast()
	o.mu.Unlock()
	// Close still stops oto pulling from the reader and frees the player
	// at once, which the shutdown of an output relies on.
	//lint:ignore SA1019 oto v3.4 says Close is optional, not that it is gone
	err := o.player.Close()
	openMu.Lock()
	outputs--
	if outputs == 0 {
		// An idle device would play silence forever (and a file sink would grow).
		_ = o.ctx.Suspend()
	}
	openMu.Unlock()
	return err
}

// reader is what oto pulls PCM from.
type reader struct{ o *Output }

// Read gives oto queued PCM as float32 little endian. With nothing queued
// it waits a little (oto calls again at once on a short read), then returns
// no data so the device plays silence.
func (r reader) Read(p []byte) (int, error) {
	o := r.o
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.queue) == 0 && !o.closed && o.err == nil {
		t := time.AfterFunc(20*time.Millisecond, func() {
			o.mu.Lock()
			o.cond.Broadcast()
			o.mu.Unlock()
		})
		o.cond.Wait()
		t.Stop()
	}
	if o.closed {
		return 0, io.EOF
	}
	if len(o.queue) == 0 {
		if o.haveTS {
			o.underrun++
		}
		return 0, nil
	}
	n := 0
	for len(o.queue) > 0 && len(p)-n >= 4*Channels {
		c := &o.queue[0]
		if !o.haveTS || c.ts != o.readTS {
			o.readTS = c.ts
			o.haveTS = true
		}
		k := min(len(c.samples), (len(p)-n)/4/Channels*Channels)
		for i := range k {
			binary.LittleEndian.PutUint32(p[n+4*i:], math.Float32bits(c.samples[i]))
		}
		n += 4 * k
		c.samples = c.samples[k:]
		adv := time.Duration(k/Channels) * time.Second / Rate
		c.ts += adv
		o.readTS = c.ts
		o.queued -= k / Channels
		if len(c.samples) == 0 {
			o.queue = o.queue[1:]
		}
	}
	return n, nil
}
