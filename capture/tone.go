package capture

import (
	"math"
	"time"
)

// The synthetic audio is a chirp locked to the wall clock (docs/MEDIA.md,
// "Test tone"). With τ = (Unix time in seconds) mod 1, the signal is
//
//	x(t) = ToneLevel · sin(2π·φ(τ)),  φ(τ) = ToneLow·τ + ToneSweep/2·τ²
//
// so its instantaneous frequency sweeps from ToneLow to ToneLow+ToneSweep Hz
// once a second and its phase is a known function of the capture time. φ(1) is
// a whole number of cycles, so the phase is continuous across the wrap. A
// window of the tone gives back τ of its first sample (ToneTime): the capture
// time modulo one second, to well under a millisecond, unaffected by the
// uneven phase response of lossy codecs (which a design built on phase
// differences of steady tones is not).
const (
	ToneLow   = 300.0
	ToneSweep = 1000.0
	ToneLevel = 0.4
)

// tonePhase returns φ(τ) in cycles for τ in [0, 1).
func tonePhase(tau float64) float64 { return ToneLow*tau + ToneSweep/2*tau*tau }

// Tone generates the synthetic audio as interleaved 16-bit PCM, all channels equal.
type Tone struct {
	sampleRate, channels int
	startMicros          int64
	n                    int64 // samples generated per channel
}

// NewTone returns a tone generator whose first sample is captured at start.
func NewTone(sampleRate, channels int, start time.Time) *Tone {
	return &Tone{sampleRate: sampleRate, channels: channels, startMicros: start.UnixMicro()}
}

// SampleRate returns the sample rate in Hz.
func (t *Tone) SampleRate() int { return t.sampleRate }

// Channels returns the channel count.
func (t *Tone) Channels() int { return t.channels }

// Next fills dst (interleaved, a whole number of frames) with the next samples
// and returns the capture time of the first of them.
func (t *Tone) Next(dst []int16) time.Time {
	first := t.At(t.n)
	sr := int64(t.sampleRate)
	tau0 := float64(mod64(t.startMicros, 1_000_000)) / 1e6
	for i := 0; i+t.channels <= len(dst); i += t.channels {
		tau := frac(tau0 + float64(t.n%sr)/float64(sr))
		s := int16(math.Round(ToneLevel * math.Sin(2*math.Pi*frac(tonePhase(tau))) * 32767))
		for c := 0; c < t.channels; c++ {
			dst[i+c] = s
		}
		t.n++
	}
	return first
}

// At returns the capture time of sample n (per channel) of the tone.
func (t *Tone) At(n int64) time.Time {
	return time.UnixMicro(t.startMicros).Add(time.Duration(n) * time.Second / time.Duration(t.sampleRate))
}

func mod64(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
}

func frac(x float64) float64 {
	f := x - math.Floor(x)
	if f >= 1 {
		f = 0
	}
	return f
}

// ToneTimeInt16 is ToneTime for interleaved 16-bit PCM, reading channel 0.
func ToneTimeInt16(pcm []int16, channels, sampleRate int) (float64, bool) {
	if channels < 1 {
		return 0, false
	}
	mono := make([]float32, len(pcm)/channels)
	for i := range mono {
		mono[i] = float32(pcm[i*channels]) / 32768
	}
	return ToneTime(mono, sampleRate)
}

// maxToneWindow bounds the samples ToneTime looks at, in seconds.
const maxToneWindow = 0.2

// ToneTime recovers, from a window of mono samples of the test tone, the
// capture time of its first sample modulo one second, in seconds in [0, 1).
// The window must be at least 20 ms; 50 to 200 ms gives the best precision
// (longer input is cut to 200 ms). ok is false when the window does not hold
// the tone: silence, noise, or mostly something else. Compare the result with
// a clock reading t via ToneOffset(sec, math.Mod(t, 1)).
//
// It finds the τ that maximises the correlation of the window with the chirp
// starting at τ: a grid search over the second, then a golden-section search.
func ToneTime(pcm []float32, sampleRate int) (sec float64, ok bool) {
	if sampleRate <= 0 || len(pcm) < sampleRate/50 || len(pcm) < 32 {
		return 0, false
	}
	if max := int(maxToneWindow * float64(sampleRate)); len(pcm) > max {
		pcm = pcm[:max]
	}
	n := len(pcm)
	var energy float64
	for _, x := range pcm {
		energy += float64(x) * float64(x)
	}
	if energy == 0 {
		return 0, false
	}
	dt := 1 / float64(sampleRate)
	// corr is the energy of the window's least-squares projection onto the
	// chirp starting at tau0 (both quadratures, so short windows are unbiased).
	// The coarse grid reads every stride-th sample: at about 8 kHz the chirp
	// (at most 1300 Hz) is still well sampled, and the grid costs a sixth.
	stride := max(1, sampleRate/8000)
	corrN := func(tau0 float64, stride int) float64 {
		var xc, xs, cc, ss, cs float64
		for i := 0; i < len(pcm); i += stride {
			x := pcm[i]
			p := 2 * math.Pi * frac(tonePhase(frac(tau0+float64(i)*dt)))
			s, c := math.Sincos(p)
			xc += float64(x) * c
			xs += float64(x) * s
			cc += c * c
			ss += s * s
			cs += c * s
		}
		det := cc*ss - cs*cs
		if det <= 0 {
			return 0
		}
		return (xc*xc*ss - 2*xc*xs*cs + xs*xs*cc) / det * float64(stride)
	}
	corr := func(tau0 float64) float64 { return corrN(tau0, 1) }
	// The correlation peak is about 1/(ToneSweep·window) seconds wide.
	lobe := 1 / (ToneSweep * float64(n) * dt)
	step := math.Min(0.005, lobe/4)
	best, bestC := 0.0, -1.0
	for tau := 0.0; tau < 1; tau += step {
		if c := corrN(tau, stride); c > bestC {
			best, bestC = tau, c
		}
	}
	bestC = corr(frac(best))
	// A finer grid around the best point, then golden-section search.
	centre, fine := best, step/16
	for tau := centre - step; tau <= centre+step; tau += fine {
		if c := corr(frac(tau)); c > bestC {
			best, bestC = tau, c
		}
	}
	lo, hi := best-fine, best+fine
	const g = 0.6180339887498949
	a, b := hi-g*(hi-lo), lo+g*(hi-lo)
	ca, cb := corr(frac(a)), corr(frac(b))
	for hi-lo > 1e-6 {
		if ca > cb {
			hi, b, cb = b, a, ca
			a = hi - g*(hi-lo)
			ca = corr(frac(a))
		} else {
			lo, a, ca = a, b, cb
			b = lo + g*(hi-lo)
			cb = corr(frac(b))
		}
	}
	tau := frac((lo + hi) / 2)
	c := corr(tau)
	// c is the energy of the fitted tone, n·A²/2; it must carry most of the window's.
	amp := math.Sqrt(2 * c / float64(n))
	if amp < ToneLevel/8 || c < energy/2 {
		return 0, false
	}
	return tau, true
}

// ToneOffset returns a − b for two times modulo one second (as from ToneTime
// and math.Mod of a clock), wrapped into [−0.5, 0.5) seconds.
func ToneOffset(a, b float64) float64 {
	d := math.Mod(a-b, 1)
	if d >= 0.5 {
		d -= 1
	} else if d < -0.5 {
		d += 1
	}
	return d
}
