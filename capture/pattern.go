package capture

import (
	"image"
	"image/color"
	"time"
)

// The test pattern burns a frame counter and the capture clock into the top of
// each frame as two rows of 48 large black or white cells, so that a reader can
// recover them after lossy compression (see ReadPattern and docs/MEDIA.md):
//
//	row 0: sync 1010 | frame counter, 32 bits MSB first | CRC-8 of the counter | sync 0101
//	row 1: sync 1010 | capture clock in Unix milliseconds mod 2^36 | CRC-8 of those 36 bits
//
// Cells are W/48 pixels wide and as tall as they are wide; a reader averages the
// luma of the middle half of each cell and compares it with mid-grey.
const (
	patternCells = 48
	clockBits    = 36
	clockMask    = 1<<clockBits - 1
	lumaBlack    = 16
	lumaWhite    = 235
)

// PatternStamp is what the pattern carries: the frame counter and the capture
// clock (Unix milliseconds modulo 2^36, about 795 days).
type PatternStamp struct {
	Frame       uint32
	ClockMillis uint64
}

// Time returns the capture time of the stamp: the instant whose Unix
// millisecond count matches ClockMillis modulo 2^36 nearest to near.
func (s PatternStamp) Time(near time.Time) time.Time {
	n := near.UnixMilli()
	base := n &^ clockMask
	best := base + int64(s.ClockMillis)
	for _, c := range []int64{best - clockMask - 1, best + clockMask + 1} {
		if abs64(c-n) < abs64(best-n) {
			best = c
		}
	}
	return time.UnixMilli(best)
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// crc8 is CRC-8 with polynomial x^8+x^2+x+1 (0x07) over the bits of v, MSB first.
func crc8(v uint64, bits int) uint8 {
	var c uint8
	for i := bits - 1; i >= 0; i-- {
		in := uint8(v>>uint(i)) & 1
		top := c >> 7
		c <<= 1
		if top^in != 0 {
			c ^= 0x07
		}
	}
	return c
}

// patternRows returns the 48 bits of each of the two rows.
func patternRows(s PatternStamp) [2]uint64 {
	ms := s.ClockMillis & clockMask
	r0 := uint64(0b1010)<<44 | uint64(s.Frame)<<12 | uint64(crc8(uint64(s.Frame), 32))<<4 | 0b0101
	r1 := uint64(0b1010)<<44 | ms<<8 | uint64(crc8(ms, clockBits))
	return [2]uint64{r0, r1}
}

// Pattern draws the synthetic test pattern: moving colour bars and a moving
// square under the two rows of stamp cells. It reuses no memory between frames:
// each Draw returns a new image.
type Pattern struct {
	width, height int
}

// NewPattern returns a pattern generator for frames of w x h pixels (both even,
// w at least 96).
func NewPattern(w, h int) *Pattern { return &Pattern{width: w, height: h} }

// Draw returns frame s.Frame of the pattern as an I420 image.
func (p *Pattern) Draw(s PatternStamp) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, p.width, p.height), image.YCbCrSubsampleRatio420)
	p.DrawInto(img, s)
	return img
}

// bars are the luma and chroma of eight colour bars (white, yellow, cyan,
// green, magenta, red, blue, black in BT.601 studio range).
var bars = [8][3]uint8{
	{180, 128, 128}, {162, 44, 142}, {131, 156, 44}, {112, 72, 58},
	{84, 184, 198}, {65, 100, 212}, {35, 212, 114}, {16, 128, 128},
}

// DrawInto draws frame s into img, which must be I420 of the pattern's size.
func (p *Pattern) DrawInto(img *image.YCbCr, s PatternStamp) {
	w, h := p.width, p.height
	shift := int(s.Frame*4) % w
	barW := (w + 7) / 8
	// Colour bars, scrolling left by 4 pixels a frame: one line, copied down.
	line := make([]uint8, w)
	for x := range line {
		line[x] = bars[((x+shift)/barW)%8][0]
	}
	for y := 0; y < h; y++ {
		copy(img.Y[y*img.YStride:y*img.YStride+w], line)
	}
	cb, cr := make([]uint8, w/2), make([]uint8, w/2)
	for x := range cb {
		b := bars[((2*x+shift)/barW)%8]
		cb[x], cr[x] = b[1], b[2]
	}
	for y := 0; y < h/2; y++ {
		copy(img.Cb[y*img.CStride:y*img.CStride+w/2], cb)
		copy(img.Cr[y*img.CStride:y*img.CStride+w/2], cr)
	}
	// A white square bouncing across the lower half.
	sq := h / 6
	period := 2 * (w - sq)
	if period > 0 && sq > 0 {
		pos := int(s.Frame*8) % period
		if pos > w-sq {
			pos = period - pos
		}
		y0 := h/2 + h/8
		for y := y0; y < y0+sq && y < h; y++ {
			row := img.Y[y*img.YStride:]
			for x := pos; x < pos+sq && x < w; x++ {
				row[x] = lumaWhite
			}
		}
	}
	// The stamp: two rows of 48 cells on neutral chroma.
	rows := patternRows(s)
	cw := float64(w) / patternCells
	ch := int(cw)
	for r := 0; r < 2; r++ {
		for x := 0; x < w; x++ {
			cell := int(float64(x) / cw)
			if cell >= patternCells {
				cell = patternCells - 1
			}
			if rows[r]>>(patternCells-1-cell)&1 == 1 {
				line[x] = lumaWhite
			} else {
				line[x] = lumaBlack
			}
		}
		for y := r * ch; y < (r+1)*ch && y < h; y++ {
			copy(img.Y[y*img.YStride:y*img.YStride+w], line)
		}
	}
	for y := 0; y < ch && y < h/2; y++ {
		for x := 0; x < w/2; x++ {
			img.Cb[y*img.CStride+x] = 128
			img.Cr[y*img.CStride+x] = 128
		}
	}
}

// ReadPatternCounter returns the frame counter burned into a test pattern
// frame; ok is false when the stamp cannot be read or its checksum fails.
func ReadPatternCounter(img image.Image) (frame uint32, ok bool) {
	s, ok := ReadPattern(img)
	return s.Frame, ok
}

// ReadPattern returns the frame counter and capture clock burned into a test
// pattern frame, possibly scaled or compressed; ok is false when a row's sync
// bits or checksum do not match.
func ReadPattern(img image.Image) (PatternStamp, bool) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	cw := float64(w) / patternCells
	if cw < 2 || float64(h) < 2*cw {
		return PatternStamp{}, false
	}
	var rows [2]uint64
	for r := 0; r < 2; r++ {
		for c := 0; c < patternCells; c++ {
			x0 := b.Min.X + int(float64(c)*cw+cw/4)
			x1 := b.Min.X + int(float64(c)*cw+3*cw/4)
			y0 := b.Min.Y + int(float64(r)*cw+cw/4)
			y1 := b.Min.Y + int(float64(r)*cw+3*cw/4)
			if x1 <= x0 {
				x1 = x0 + 1
			}
			if y1 <= y0 {
				y1 = y0 + 1
			}
			rows[r] <<= 1
			if meanLuma(img, x0, y0, x1, y1) >= 128 {
				rows[r] |= 1
			}
		}
	}
	r0, r1 := rows[0], rows[1]
	if r0>>44 != 0b1010 || r0&0xf != 0b0101 || r1>>44 != 0b1010 {
		return PatternStamp{}, false
	}
	frame := uint32(r0 >> 12)
	if uint8(r0>>4) != crc8(uint64(frame), 32) {
		return PatternStamp{}, false
	}
	ms := r1 >> 8 & clockMask
	if uint8(r1) != crc8(ms, clockBits) {
		return PatternStamp{}, false
	}
	return PatternStamp{Frame: frame, ClockMillis: ms}, true
}

func meanLuma(img image.Image, x0, y0, x1, y1 int) int {
	sum, n := 0, 0
	if yc, ok := img.(*image.YCbCr); ok {
		for y := y0; y < y1; y++ {
			off := yc.YOffset(x0, y)
			for x := x0; x < x1; x++ {
				sum += int(yc.Y[off])
				off++
			}
			n += x1 - x0
		}
		return sum / n
	}
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			sum += int(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
			n++
		}
	}
	return sum / n
}
