//go:build !nodevices && (linux || darwin || windows)

package device

import (
	"fmt"
	"image"
	"math"
	"sort"
	"time"

	"github.com/pion/mediadevices/pkg/driver"
	_ "github.com/pion/mediadevices/pkg/driver/camera"     // registers cameras
	_ "github.com/pion/mediadevices/pkg/driver/microphone" // registers microphones
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"

	"github.com/tributary-live/tributary/capture"
)

func typeOf(k Kind) driver.DeviceType {
	if k == Camera {
		return driver.Camera
	}
	return driver.Microphone
}

// List returns the devices of one kind, the system's preferred first.
func List(kind Kind) ([]Info, error) {
	ds := driver.GetManager().Query(driver.FilterDeviceType(typeOf(kind)))
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Info().Priority > ds[j].Info().Priority })
	var out []Info
	for _, d := range ds {
		in := d.Info()
		name := in.Name
		if name == "" {
			name = in.Label
		}
		out = append(out, Info{ID: d.ID(), Name: name, Kind: kind, Default: in.Priority > driver.PriorityNormal})
	}
	return out, nil
}

func find(kind Kind, id string) (driver.Driver, error) {
	ds := driver.GetManager().Query(driver.FilterDeviceType(typeOf(kind)))
	if len(ds) == 0 {
		return nil, fmt.Errorf("%w: no %s found", capture.ErrNoDevice, kind)
	}
	if id == "" {
		sort.SliceStable(ds, func(i, j int) bool { return ds[i].Info().Priority > ds[j].Info().Priority })
		return ds[0], nil
	}
	for _, d := range ds {
		if d.ID() == id || d.Info().Label == id || d.Info().Name == id {
			return d, nil
		}
	}
	return nil, fmt.Errorf("%w: no %s %q", capture.ErrNoDevice, kind, id)
}

// cameraSource is a camera as a capture.VideoSource.
type cameraSource struct {
	d      driver.Driver
	r      video.Reader
	w, h   int
	fps    float64
	first  bool
	frames chan result
}

type result struct {
	img     image.Image
	release func()
	err     error
}

// OpenCamera opens camera id ("" for the preferred one) at the supported mode
// closest to w x h at fps. The frames' actual size is in Size.
func OpenCamera(id string, w, h int, fps float64) (capture.VideoSource, error) {
	d, err := find(Camera, id)
	if err != nil {
		return nil, err
	}
	if err := d.Open(); err != nil {
		if isBusy(err) {
			return nil, fmt.Errorf("%w: camera %s: %w", capture.ErrBusy, d.Info().Label, err)
		}
		return nil, fmt.Errorf("capture: open camera %s: %w", d.Info().Label, err)
	}
	props := d.Properties()
	if len(props) == 0 {
		d.Close()
		return nil, fmt.Errorf("%w: camera %s offers no video mode", capture.ErrNoDevice, d.Info().Label)
	}
	best := props[0]
	score := func(p prop.Media) float64 {
		s := float64(abs(p.Width-w) + abs(p.Height-h))
		if p.FrameRate > 0 {
			s += 10 * absf(float64(p.FrameRate)-fps)
		}
		if p.FrameFormat != frame.FormatYUYV && p.FrameFormat != frame.FormatI420 && p.FrameFormat != frame.FormatNV12 && p.FrameFormat != frame.FormatMJPEG {
			s += 1e6
		}
		return s
	}
	for _, p := range props[1:] {
		if score(p) < score(best) {
			best = p
		}
	}
	if best.FrameRate == 0 {
		best.FrameRate = float32(fps)
	}
	vr, ok := d.(driver.VideoRecorder)
	if !ok {
		d.Close()
		return nil, fmt.Errorf("%w: %s is not a camera", capture.ErrNoDevice, d.Info().Label)
	}
	r, err := vr.VideoRecord(best)
	if err != nil {
		d.Close()
		if isBusy(err) {
			return nil, fmt.Errorf("%w: camera %s: %w", capture.ErrBusy, d.Info().Label, err)
		}
		return nil, fmt.Errorf("capture: start camera %s: %w", d.Info().Label, err)
	}
	c := &cameraSource{d: d, r: video.ToI420(r), w: best.Width, h: best.Height, fps: float64(best.FrameRate), frames: make(chan result, 1)}
	return c, nil
}

// Size returns the frame size and rate of the chosen mode.
func (c *cameraSource) Size() (int, int, float64) { return c.w, c.h, c.fps }

// Read returns the next frame; the first waits at most NoSignalTimeout.
func (c *cameraSource) Read() (capture.VideoFrame, func(), error) {
	if !c.first {
		go func() {
			img, rel, err := c.r.Read()
			c.frames <- result{img, rel, err}
		}()
		select {
		case res := <-c.frames:
			c.first = true
			if res.err != nil {
				return capture.VideoFrame{}, func() {}, fmt.Errorf("capture: camera: %w", res.err)
			}
			return capture.VideoFrame{Image: res.img, Captured: time.Now()}, res.release, nil
		case <-time.After(NoSignalTimeout):
			return capture.VideoFrame{}, func() {}, fmt.Errorf("%w: camera sent no frame in %v", capture.ErrNoSignal, NoSignalTimeout)
		}
	}
	img, rel, err := c.r.Read()
	if err != nil {
		return capture.VideoFrame{}, func() {}, fmt.Errorf("capture: camera: %w", err)
	}
	return capture.VideoFrame{Image: img, Captured: time.Now()}, rel, nil
}

// Close stops the camera.
func (c *cameraSource) Close() error { return c.d.Close() }

// micSource is a microphone as a capture.AudioSource.
type micSource struct {
	d            driver.Driver
	r            audio.Reader
	sampleRate   int
	channels     int
	frameSamples int
	pending      []int16
	chunks       chan result16
	stop         chan struct{}
	pumpDone     chan struct{}
}

type result16 struct {
	pcm []int16
	err error
}

// OpenMicrophone opens microphone id ("" for the preferred one) for 16-bit
// PCM at sampleRate with channels, delivered in chunks of frameDur.
func OpenMicrophone(id string, sampleRate, channels int, frameDur time.Duration) (capture.AudioSource, error) {
	d, err := find(Microphone, id)
	if err != nil {
		return nil, err
	}
	if err := d.Open(); err != nil {
		if isBusy(err) {
			return nil, fmt.Errorf("%w: microphone %s: %w", capture.ErrBusy, d.Info().Label, err)
		}
		return nil, fmt.Errorf("capture: open microphone %s: %w", d.Info().Label, err)
	}
	ar, ok := d.(driver.AudioRecorder)
	if !ok {
		d.Close()
		return nil, fmt.Errorf("%w: %s is not a microphone", capture.ErrNoDevice, d.Info().Label)
	}
	// Starting the device can block on a sound server that never answers:
	// give up after NoSignalTimeout rather than hang (the attempt is abandoned).
	type started struct {
		r   audio.Reader
		err error
	}
	ch := make(chan started, 1)
	go func() {
		r, err := ar.AudioRecord(prop.Media{Audio: prop.Audio{
			SampleRate: sampleRate, ChannelCount: channels, SampleSize: 2, IsInterleaved: true, Latency: frameDur,
		}})
		ch <- started{r, err}
	}()
	var r audio.Reader
	select {
	case st := <-ch:
		if st.err != nil {
			d.Close()
			return nil, fmt.Errorf("capture: start microphone %s: %w", d.Info().Label, st.err)
		}
		r = st.r
	case <-time.After(NoSignalTimeout):
		return nil, fmt.Errorf("%w: microphone %s did not start in %v", capture.ErrNoSignal, d.Info().Label, NoSignalTimeout)
	}
	m := &micSource{d: d, r: r, sampleRate: sampleRate, channels: channels,
		frameSamples: int(int64(sampleRate) * int64(frameDur) / int64(time.Second)),
		chunks:       make(chan result16, 4), stop: make(chan struct{}), pumpDone: make(chan struct{})}
	go m.pump()
	return m, nil
}

// pump reads the driver, which can block forever, into a channel.
func (m *micSource) pump() {
	defer close(m.pumpDone)
	for {
		select {
		case <-m.stop:
			return
		default:
		}
		chunk, rel, err := m.r.Read()
		var res result16
		if err != nil {
			res.err = err
		} else {
			res.pcm = toInt16(chunk, m.channels)
			rel()
		}
		select {
		case m.chunks <- res:
		case <-m.stop:
			return
		}
		if err != nil {
			return
		}
	}
}

func toInt16(a wave.Audio, channels int) []int16 {
	info := a.ChunkInfo()
	out := make([]int16, 0, info.Len*channels)
	for i := 0; i < info.Len; i++ {
		for c := 0; c < channels; c++ {
			ch := c
			if ch >= info.Channels {
				ch = info.Channels - 1
			}
			out = append(out, sampleToInt16(a.At(i, ch)))
		}
	}
	return out
}

// sampleToInt16 converts one sample. Not through its Int(), which is scaled
// to 32 bits (an Int16Sample's is s<<16, so the low 16 bits are zero), nor
// through wave.Int16SampleFormat, which maps float 0.5 to full scale and wraps
// above it: float samples are taken as [-1, 1] and clipped.
func sampleToInt16(s wave.Sample) int16 {
	switch v := s.(type) {
	case wave.Int16Sample:
		return int16(v)
	case wave.Float32Sample:
		f := float64(v) * 32767
		return int16(max(-32768, min(32767, math.Round(f))))
	}
	return int16(max(-32768, min(32767, s.Int()>>16)))
}

// Format returns the sample rate, channels and samples per channel per Read.
func (m *micSource) Format() (int, int, int) { return m.sampleRate, m.channels, m.frameSamples }

// Read returns the next chunk; it fails with capture.ErrNoSignal when the
// device delivers nothing for NoSignalTimeout.
func (m *micSource) Read() (capture.AudioFrame, func(), error) {
	want := m.frameSamples * m.channels
	for len(m.pending) < want {
		select {
		case res := <-m.chunks:
			if res.err != nil {
				return capture.AudioFrame{}, func() {}, fmt.Errorf("capture: microphone: %w", res.err)
			}
			m.pending = append(m.pending, res.pcm...)
		case <-m.stop:
			return capture.AudioFrame{}, func() {}, capture.ErrClosed
		case <-time.After(NoSignalTimeout):
			return capture.AudioFrame{}, func() {}, fmt.Errorf("%w: microphone sent nothing in %v", capture.ErrNoSignal, NoSignalTimeout)
		}
	}
	pcm := append([]int16(nil), m.pending[:want]...)
	m.pending = m.pending[want:]
	at := time.Now().Add(-time.Duration(len(m.pending)/m.channels+m.frameSamples) * time.Second / time.Duration(m.sampleRate))
	return capture.AudioFrame{PCM: pcm, Captured: at}, func() {}, nil
}

// Close stops the microphone. The driver is closed only once the reading
// goroutine has left the driver's Read (closing it during a Read races inside
// mediadevices); a device that never delivers is left open rather than raced.
func (m *micSource) Close() error {
	select {
	case <-m.stop:
		return nil
	default:
	}
	close(m.stop)
	select {
	case <-m.pumpDone:
		return m.d.Close()
	case <-time.After(NoSignalTimeout):
		return fmt.Errorf("%w: microphone did not stop", capture.ErrNoSignal)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func absf(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
