package capture

import (
	"math"
	"time"
)

// The synthetic audio is the sum of two sines whose phases encode the capture
// clock (docs/MEDIA.md, "Test tone"):
//
//	x(t) = ToneLevel * (sin(2π·ToneFreqA·t) + sin(2π·ToneFreqB·t)),  t = Unix time in seconds
//
// Because 3·ToneFreqA − 2·ToneFreqB = −1 Hz, the phases θA and θB (in cycles)
// measured at any instant t satisfy 3θA − 2θB ≡ −t (mod 1): a window of the
// tone gives its capture time modulo one second, which ToneTime then refines
// with θA alone (period 2.5 ms). The tone sounds like a steady chord.
const (
	ToneFreqA = 400.0
	ToneFreqB = 600.5
	ToneLevel = 0.25
)

// Tone generates the synthetic audio: interleaved 16-bit PCM whose phase
// follows the wall clock of its start time.
type Tone struct {
	sampleRate, channels int
	startMicros          int64
	n                    int64 // samples generated per channel
	fracA0, fracB0       float64
}

// NewTone returns a tone generator whose first sample is captured at start.
func NewTone(sampleRate, channels int, start time.Time) *Tone {
	us := start.UnixMicro()
	return &Tone{
		sampleRate:  sampleRate,
		channels:    channels,
		startMicros: us,
		// Phases at start, exactly: frac(400·us/1e6) and frac(1201·us/2e6).
		fracA0: float64(mod64(400*us, 1_000_000)) / 1e6,
		fracB0: float64(mod64(1201*us, 2_000_000)) / 2e6,
	}
}

func mod64(a, m int64) int64 {
	r := a % m
	if r < 0 {
		r += m
	}
	return r
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
	for i := 0; i+t.channels <= len(dst); i += t.channels {
		n := t.n
		pa := t.fracA0 + float64(mod64(400*n, sr))/float64(sr)
		pb := t.fracB0 + float64(mod64(1201*n, 2*sr))/float64(2*sr)
		v := ToneLevel * (math.Sin(2*math.Pi*pa) + math.Sin(2*math.Pi*pb))
		s := int16(math.Round(v * 32767))
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

// ToneTime recovers, from a window of mono samples of the test tone (at least
// 10 ms; 20 ms or more is better), the capture time of its first sample modulo
// one second, in seconds in [0, 1). ok is false when the window is too short or
// does not hold the tone (either sine missing, or mostly noise). Compare the
// result with a clock reading t via math.Mod(t, 1).
func ToneTime(pcm []float32, sampleRate int) (sec float64, ok bool) {
	n := len(pcm)
	if sampleRate <= 0 || n < sampleRate/100 || n < 16 {
		return 0, false
	}
	// Least-squares fit of a·cos + b·sin at both frequencies.
	wa := 2 * math.Pi * ToneFreqA / float64(sampleRate)
	wb := 2 * math.Pi * ToneFreqB / float64(sampleRate)
	var m [4][5]float64
	var energy float64
	for i, x := range pcm {
		fi := float64(i)
		basis := [4]float64{math.Cos(wa * fi), math.Sin(wa * fi), math.Cos(wb * fi), math.Sin(wb * fi)}
		for r := 0; r < 4; r++ {
			for c := 0; c < 4; c++ {
				m[r][c] += basis[r] * basis[c]
			}
			m[r][4] += basis[r] * float64(x)
		}
		energy += float64(x) * float64(x)
	}
	coef, solved := solve4(m)
	if !solved {
		return 0, false
	}
	ampA := math.Hypot(coef[0], coef[1])
	ampB := math.Hypot(coef[2], coef[3])
	if ampA < ToneLevel/4 || ampB < ToneLevel/4 {
		return 0, false
	}
	// The fitted signal's energy against the window's: mostly tone, or not.
	fitted := float64(n) * (ampA*ampA + ampB*ampB) / 2
	if fitted < energy/2 {
		return 0, false
	}
	// A·sin(2πθ + ω i) = A sin(2πθ)·cos(ω i) + A cos(2πθ)·sin(ω i).
	thetaA := math.Atan2(coef[0], coef[1]) / (2 * math.Pi)
	thetaB := math.Atan2(coef[2], coef[3]) / (2 * math.Pi)
	coarse := frac(-(3*thetaA - 2*thetaB))
	// Refine: t ≡ θA/fA (mod 1/fA); pick the candidate nearest the coarse time.
	k := math.Round(coarse*ToneFreqA - thetaA)
	fine := (thetaA + k) / ToneFreqA
	return frac(fine), true
}

func frac(x float64) float64 {
	f := x - math.Floor(x)
	if f >= 1 {
		f = 0
	}
	return f
}

// solve4 solves a 4x4 linear system given as an augmented matrix, by Gaussian
// elimination with partial pivoting.
func solve4(m [4][5]float64) ([4]float64, bool) {
	for col := 0; col < 4; col++ {
		p := col
		for r := col + 1; r < 4; r++ {
			if math.Abs(m[r][col]) > math.Abs(m[p][col]) {
				p = r
			}
		}
		if math.Abs(m[p][col]) < 1e-9 {
			return [4]float64{}, false
		}
		m[col], m[p] = m[p], m[col]
		for r := 0; r < 4; r++ {
			if r == col {
				continue
			}
			f := m[r][col] / m[col][col]
			for c := col; c < 5; c++ {
				m[r][c] -= f * m[col][c]
			}
		}
	}
	var x [4]float64
	for i := 0; i < 4; i++ {
		x[i] = m[i][4] / m[i][i]
	}
	return x, true
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
