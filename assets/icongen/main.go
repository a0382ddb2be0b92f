// Command icongen draws Tributary's icon (assets/icon.png): three streams
// that join into one river, with a red "live" dot, on a rounded square.
//
// Run it from the assets folder with `go generate`; the PNG is committed so
// builds need no generator.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

type point struct{ x, y float64 }

// stroke is a polyline of a quadratic Bézier with a width that may change
// from its start to its end.
type stroke struct {
	pts    []point
	w0, w1 float64
}

func bezier(a, c, b point, w0, w1 float64) stroke {
	const n = 64
	s := stroke{w0: w0, w1: w1}
	for i := 0; i <= n; i++ {
		t := float64(i) / n
		u := 1 - t
		s.pts = append(s.pts, point{
			u*u*a.x + 2*u*t*c.x + t*t*b.x,
			u*u*a.y + 2*u*t*c.y + t*t*b.y,
		})
	}
	return s
}

// inside reports whether p lies within the stroke (a chain of capsules).
func (s stroke) inside(p point) bool {
	n := len(s.pts) - 1
	for i := 0; i < n; i++ {
		a, b := s.pts[i], s.pts[i+1]
		dx, dy := b.x-a.x, b.y-a.y
		l2 := dx*dx + dy*dy
		t := 0.0
		if l2 > 0 {
			t = math.Max(0, math.Min(1, ((p.x-a.x)*dx+(p.y-a.y)*dy)/l2))
		}
		qx, qy := a.x+t*dx-p.x, a.y+t*dy-p.y
		f := (float64(i) + t) / float64(n)
		w := s.w0 + (s.w1-s.w0)*f
		if qx*qx+qy*qy <= w*w/4 {
			return true
		}
	}
	return false
}

func roundedSquare(p point, size, r float64) bool {
	cx := math.Max(r, math.Min(size-r, p.x))
	cy := math.Max(r, math.Min(size-r, p.y))
	return (p.x-cx)*(p.x-cx)+(p.y-cy)*(p.y-cy) <= r*r
}

func mix(a, b color.NRGBA, t float64) color.NRGBA {
	l := func(x, y uint8) uint8 { return uint8(float64(x) + (float64(y)-float64(x))*t + 0.5) }
	return color.NRGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), l(a.A, b.A)}
}

func main() {
	out := flag.String("o", "icon.png", "output PNG")
	size := flag.Int("size", 512, "edge in pixels")
	flag.Parse()

	S := float64(*size)
	k := S / 512
	P := func(x, y float64) point { return point{x * k, y * k} }
	streams := []stroke{
		bezier(P(96, 118), P(150, 250), P(256, 300), 26*k, 40*k),
		bezier(P(256, 90), P(236, 200), P(256, 300), 26*k, 40*k),
		bezier(P(416, 196), P(340, 262), P(256, 300), 22*k, 40*k),
		bezier(P(256, 296), P(296, 372), P(226, 470), 58*k, 74*k),
	}
	dot := P(398, 104)
	dotR := 40 * k

	top := color.NRGBA{0x12, 0x3a, 0x5e, 0xff}
	bottom := color.NRGBA{0x0b, 0x7a, 0x86, 0xff}
	water := color.NRGBA{0xe9, 0xfb, 0xff, 0xff}
	red := color.NRGBA{0xf0, 0x3e, 0x3e, 0xff}
	ring := color.NRGBA{0xff, 0xff, 0xff, 0xff}

	img := image.NewNRGBA(image.Rect(0, 0, *size, *size))
	const ss = 4 // supersamples per axis
	for y := 0; y < *size; y++ {
		for x := 0; x < *size; x++ {
			var r, g, b, a float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					p := point{float64(x) + (float64(sx)+0.5)/ss, float64(y) + (float64(sy)+0.5)/ss}
					if !roundedSquare(p, S, 104*k) {
						continue
					}
					c := mix(top, bottom, p.y/S)
					for _, s := range streams {
						if s.inside(p) {
							c = mix(water, color.NRGBA{0xb8, 0xee, 0xf5, 0xff}, p.y/S)
							break
						}
					}
					d := math.Hypot(p.x-dot.x, p.y-dot.y)
					if d <= dotR+10*k {
						c = ring
					}
					if d <= dotR {
						c = red
					}
					r += float64(c.R)
					g += float64(c.G)
					b += float64(c.B)
					a += 255
				}
			}
			if a == 0 {
				continue
			}
			n := a / 255
			img.SetNRGBA(x, y, color.NRGBA{uint8(r/n + 0.5), uint8(g/n + 0.5), uint8(b/n + 0.5), uint8(a/(ss*ss) + 0.5)})
		}
	}
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "icongen:", err)
		os.Exit(1)
	}
	if err := png.Encode(f, img); err != nil {
		fmt.Fprintln(os.Stderr, "icongen:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "icongen:", err)
		os.Exit(1)
	}
}
