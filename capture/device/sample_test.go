//go:build !nodevices && (linux || darwin || windows)

package device

import (
	"testing"

	"github.com/pion/mediadevices/pkg/wave"
)

func TestSampleToInt16(t *testing.T) {
	for _, c := range []struct {
		in   wave.Sample
		want int16
	}{
		{wave.Int16Sample(1234), 1234},
		{wave.Int16Sample(-32768), -32768},
		{wave.Float32Sample(0.25), 8192},
		{wave.Float32Sample(-1), -32767},
		{wave.Float32Sample(1.5), 32767},   // clipped, not wrapped
		{wave.Float32Sample(-2), -32768},   // clipped
		{wave.Int64Sample(1 << 30), 16384}, // 32-bit scale, as Int() gives
	} {
		if got := sampleToInt16(c.in); got != c.want {
			t.Errorf("%T(%v): %d, want %d", c.in, c.in, got, c.want)
		}
	}
}
