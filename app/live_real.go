package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/capture/device"
	"github.com/tributary-live/tributary/capture/publish"
	"github.com/tributary-live/tributary/fedi/livepost"
	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// Pseudo devices offered beside the real ones: the synthetic sources, so
// a machine without a camera can still go live (and tests can).
const (
	testPatternID = publish.TestPattern
	testToneID    = publish.TestTone
	noMicID       = publish.NoMicrophone
)

// liveReal captures with capture/device (or the synthetic sources) and
// publishes with capture/publish.
type liveReal struct {
	log *slog.Logger
	// roots replaces the system's trusted roots when set (tests).
	roots *x509.CertPool
}

func (l liveReal) devices(ctx context.Context) ([]Device, []Device, error) {
	var cams, mics []Device
	var errs []error
	if ds, err := device.List(device.Camera); err != nil {
		errs = append(errs, err)
	} else {
		for _, d := range ds {
			cams = append(cams, Device{ID: d.ID, Label: d.Name})
		}
	}
	if ds, err := device.List(device.Microphone); err != nil {
		errs = append(errs, err)
	} else {
		for _, d := range ds {
			// ALSA's null device ("Discard all samples ...") is no microphone.
			if strings.HasPrefix(d.Name, "Discard all samples") {
				continue
			}
			mics = append(mics, Device{ID: d.ID, Label: d.Name})
		}
	}
	cams = append(cams, Device{ID: testPatternID, Label: "Test pattern"})
	mics = append(mics, Device{ID: testToneID, Label: "Test tone"}, Device{ID: noMicID, Label: "No sound"})
	return cams, mics, errors.Join(errs...)
}

func presetFor(q Quality) capture.Preset {
	name := "720p"
	switch q {
	case Quality360:
		name = "360p"
	case Quality1080:
		name = "1080p"
	}
	p, err := capture.PresetByName(name)
	if err != nil {
		return capture.Presets[0]
	}
	return p
}

// openSources opens the chosen camera and microphone; none chosen is the
// test pattern and tone.
func (l liveReal) openSources(ctx context.Context, cam, mic string, p capture.Preset) (capture.VideoSource, capture.AudioSource, error) {
	if cam == "" {
		cam = testPatternID
	}
	if mic == "" {
		mic = testToneID
	}
	v, a, err := publish.Sources{Source: publish.CameraSource, Camera: cam, Microphone: mic}.Open(ctx, p, l.log)
	if se, ok := errors.AsType[*publish.SourceError](err); ok {
		return nil, nil, deviceError(se.Device, se.Err)
	}
	return v, a, err
}

func deviceError(what string, err error) error {
	switch {
	case errors.Is(err, capture.ErrBusy):
		return &Problem{What: "The " + what + " is in use by another program.", Todo: "Close the other program, or pick another " + what + ".", Err: err}
	case errors.Is(err, capture.ErrNoDevice):
		return &Problem{What: "The " + what + " is gone.", Todo: "Connect it again, or pick another " + what + ".", Err: err}
	case errors.Is(err, capture.ErrNoSignal):
		return &Problem{What: "The " + what + " opened but sends nothing.", Todo: "Check that it is switched on, or pick another " + what + ".", Err: err}
	}
	return &Problem{What: "The " + what + " could not be opened: " + err.Error(), Todo: "Pick another " + what + ".", Err: err}
}

// teeVideo shows every few frames of a source in the preview.
type teeVideo struct {
	capture.VideoSource
	frame func(image.Image)
	every int
	n     int
}

func (t *teeVideo) Read() (capture.VideoFrame, func(), error) {
	f, release, err := t.VideoSource.Read()
	if err == nil && t.frame != nil {
		if t.n%t.every == 0 {
			t.frame(cloneImage(f.Image))
		}
		t.n++
	}
	return f, release, err
}

// cloneImage copies a frame so the preview may keep it after the source
// reuses its buffer.
func cloneImage(img image.Image) image.Image {
	if y, ok := img.(*image.YCbCr); ok {
		c := *y
		c.Y, c.Cb, c.Cr = slices.Clone(y.Y), slices.Clone(y.Cb), slices.Clone(y.Cr)
		return &c
	}
	b := img.Bounds()
	out := image.NewRGBA(b)
	for yy := b.Min.Y; yy < b.Max.Y; yy++ {
		for xx := b.Min.X; xx < b.Max.X; xx++ {
			out.Set(xx, yy, img.At(xx, yy))
		}
	}
	return out
}

// teeAudio measures the level of a source.
type teeAudio struct {
	capture.AudioSource
	level func(float64)
}

func (t *teeAudio) Read() (capture.AudioFrame, func(), error) {
	f, release, err := t.AudioSource.Read()
	if err == nil && t.level != nil {
		t.level(pcmLevel(f.PCM))
	}
	return f, release, err
}

// pcmLevel maps the RMS of a chunk to 0..1 on a 60 dB scale.
func pcmLevel(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s) / 32768
		sum += v * v
	}
	rms := math.Sqrt(sum / float64(len(pcm)))
	if rms <= 0 {
		return 0
	}
	db := 20 * math.Log10(rms)
	return min(max((db+60)/60, 0), 1)
}

func (l liveReal) preview(ctx context.Context, cam, mic string, frame func(image.Image), level func(float64)) error {
	p := presetFor(Quality360)
	v, a, err := l.openSources(ctx, cam, mic, p)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		v.Close()
		if a != nil {
			a.Close()
		}
	}()
	var wg sync.WaitGroup
	var aerr error
	if a != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ta := &teeAudio{AudioSource: a, level: level}
			for ctx.Err() == nil {
				_, release, err := ta.Read()
				if err != nil {
					if ctx.Err() == nil {
						aerr = deviceError("microphone", err)
					}
					return
				}
				release()
			}
		}()
	}
	tv := &teeVideo{VideoSource: v, frame: frame, every: 2}
	var verr error
	for ctx.Err() == nil {
		_, release, err := tv.Read()
		if err != nil {
			if ctx.Err() == nil {
				verr = deviceError("camera", err)
			}
			break
		}
		release()
	}
	wg.Wait()
	if verr != nil {
		return verr
	}
	return aerr
}

// liveTarget says where a broadcast goes.
type liveTarget struct {
	RelayURL string // moqt:// or https:// relay
	CertHash string // pin of the personal relay's certificate
	Token    string // the personal relay's token for the app
	// TokenFunc, if set, gives the token before each connection (a home
	// relay's grant, renewed when it runs out).
	TokenFunc func(ctx context.Context) (string, error)
	Path      []string // the broadcast's namespace
	Quality   Quality
}

type liveRealHandle struct {
	b     *publish.Broadcast
	watch string

	mu        sync.Mutex
	lastBytes uint64
	lastAt    time.Time
	kbps      float64
}

func (l liveReal) start(ctx context.Context, o LiveOptions, tg liveTarget, frame func(image.Image), level func(float64)) (liveHandle, error) {
	watch, err := watchURL(tg.RelayURL, strings.Join(tg.Path, "/"))
	if err != nil {
		return nil, err
	}
	dial := moq.DialOptions{}
	if l.roots != nil {
		dial.TLS = &tls.Config{RootCAs: l.roots}
	}
	if tg.CertHash != "" {
		h, err := moq.ParseCertHash(tg.CertHash)
		if err != nil {
			return nil, err
		}
		dial.CertHashes = [][]byte{h}
	}
	p := presetFor(tg.Quality)
	v, a, err := l.openSources(ctx, o.Camera, o.Microphone, p)
	if err != nil {
		return nil, err
	}
	var audio capture.AudioSource
	if a != nil {
		audio = &teeAudio{AudioSource: a, level: level}
	}
	token := func(ctx context.Context) ([]byte, error) {
		if tg.TokenFunc == nil {
			return []byte(tg.Token), nil
		}
		t, err := tg.TokenFunc(ctx)
		return []byte(t), err
	}
	b, err := publish.Start(ctx, publish.StartConfig{
		Config: publish.Config{Namespace: wire.NewNamespace(tg.Path...), Video: &teeVideo{VideoSource: v, frame: frame, every: 2},
			Audio: audio, Adapt: true, Logger: l.log},
		Preset: p,
		URL:    tg.RelayURL,
		Connect: publish.ConnectOptions{
			Config:    moq.Config{Logger: l.log, Implementation: "tributary-app"},
			Dial:      dial,
			AuthToken: token,
		},
	})
	if err != nil {
		return nil, err
	}
	return &liveRealHandle{b: b, watch: watch, lastAt: time.Now()}, nil
}

// watchURL is the https watch page of a broadcast on a relay, the link a
// go-live post carries (docs/FEDIVERSE.md).
func watchURL(relayURL, path string) (string, error) {
	u, err := url.Parse(relayURL)
	if err != nil {
		return "", fmt.Errorf("relay URL: %w", err)
	}
	return livepost.BuildWatchURL(u.Host, path)
}

func (h *liveRealHandle) watchURL() string { return h.watch }

func (h *liveRealHandle) figures() (int, float64) {
	st := h.b.Stats()
	b := st.VideoBytes + st.AudioBytes
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	if dt := now.Sub(h.lastAt).Seconds(); dt >= 0.5 && b >= h.lastBytes {
		h.kbps = float64(b-h.lastBytes) * 8 / 1000 / dt
		h.lastBytes, h.lastAt = b, now
	}
	return -1, h.kbps
}

func (h *liveRealHandle) close() error { return h.b.Close() }
