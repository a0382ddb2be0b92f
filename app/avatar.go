package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // avatars may be GIF
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/tributary-live/tributary/moq/netguard"
)

// Avatars are fetched from URLs that servers and posts name, so the fetch is
// guarded: https only (plain http only to loopback, and only when the core
// allows loopback servers), only public addresses (moq/netguard, checked
// after DNS, on every connection, so redirects and rebinding are covered),
// at most maxAvatarBytes, at most maxAvatarPixels per side before decoding,
// and a timeout.
const (
	maxAvatarBytes  = 2 << 20
	maxAvatarPixels = 4096
	avatarSize      = 96
	maxAvatarCache  = 256
)

// avatarCache holds fetched avatars by URL.
type avatarCache struct {
	mu      sync.Mutex
	imgs    map[string]image.Image
	waiting map[string][]func(image.Image)
	client  *http.Client
}

func newAvatarCache(allowLoopback bool) *avatarCache {
	guard := netguard.Guard{AllowLoopback: allowLoopback}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: guard.Control}
	check := func(u *url.URL) error {
		if u.Scheme == "https" {
			return nil
		}
		if u.Scheme == "http" && allowLoopback {
			if ip := net.ParseIP(u.Hostname()); (ip != nil && ip.IsLoopback()) || u.Hostname() == "localhost" {
				return nil
			}
		}
		return fmt.Errorf("avatar: %s URLs are not fetched", u.Scheme)
	}
	return &avatarCache{
		imgs:    map[string]image.Image{},
		waiting: map[string][]func(image.Image){},
		client: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{DialContext: dialer.DialContext, MaxIdleConns: 4, IdleConnTimeout: 30 * time.Second, ResponseHeaderTimeout: 5 * time.Second},
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 3 {
					return errors.New("avatar: too many redirects")
				}
				return check(req.URL)
			},
		},
	}
}

// Avatar fetches the picture at raw, scaled to 96x96, and calls done with
// it (nil when it cannot be fetched), from a background goroutine. Pictures
// are cached; concurrent requests for one URL share one fetch.
func (c *Core) Avatar(raw string, done func(image.Image)) {
	a := c.avatars
	a.mu.Lock()
	if img, ok := a.imgs[raw]; ok {
		a.mu.Unlock()
		go done(img)
		return
	}
	if ws, ok := a.waiting[raw]; ok {
		a.waiting[raw] = append(ws, done)
		a.mu.Unlock()
		return
	}
	a.waiting[raw] = []func(image.Image){done}
	a.mu.Unlock()
	c.goBG(func() {
		img, err := a.fetch(c.ctx, raw)
		if err != nil {
			c.log.Debug("avatar", "url", raw, "err", err)
		}
		a.mu.Lock()
		if len(a.imgs) >= maxAvatarCache {
			clear(a.imgs)
		}
		a.imgs[raw] = img
		ws := a.waiting[raw]
		delete(a.waiting, raw)
		a.mu.Unlock()
		for _, w := range ws {
			w(img)
		}
	})
}

func (a *avatarCache) fetch(ctx context.Context, raw string) (image.Image, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if err := a.client.CheckRedirect(&http.Request{URL: u}, nil); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("avatar: HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAvatarBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxAvatarBytes {
		return nil, fmt.Errorf("avatar: larger than %d bytes", maxAvatarBytes)
	}
	return decodeAvatar(body)
}

// decodeAvatar checks the picture's size before decoding it, then scales it
// to avatarSize square (centre crop).
func decodeAvatar(b []byte) (image.Image, error) {
	cfg, _, err := image.DecodeConfig(bytesReader(b))
	if err != nil {
		return nil, fmt.Errorf("avatar: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxAvatarPixels || cfg.Height > maxAvatarPixels {
		return nil, fmt.Errorf("avatar: %dx%d is not a picture size we decode", cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytesReader(b))
	if err != nil {
		return nil, fmt.Errorf("avatar: %w", err)
	}
	return squareThumb(img, avatarSize), nil
}

// squareThumb crops img to a centred square and scales it to n x n by
// averaging the source pixels under each target pixel.
func squareThumb(img image.Image, n int) image.Image {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	x0 := b.Min.X + (b.Dx()-side)/2
	y0 := b.Min.Y + (b.Dy()-side)/2
	out := image.NewNRGBA(image.Rect(0, 0, n, n))
	for ty := 0; ty < n; ty++ {
		sy0, sy1 := y0+ty*side/n, y0+(ty+1)*side/n
		sy1 = max(sy1, sy0+1)
		for tx := 0; tx < n; tx++ {
			sx0, sx1 := x0+tx*side/n, x0+(tx+1)*side/n
			sx1 = max(sx1, sx0+1)
			var r, g, bl, al, cnt uint64
			// Sample at most 4x4 source pixels per target pixel.
			stepY, stepX := max(1, (sy1-sy0)/4), max(1, (sx1-sx0)/4)
			for sy := sy0; sy < sy1; sy += stepY {
				for sx := sx0; sx < sx1; sx += stepX {
					cr, cg, cb, ca := img.At(sx, sy).RGBA()
					r, g, bl, al, cnt = r+uint64(cr), g+uint64(cg), bl+uint64(cb), al+uint64(ca), cnt+1
				}
			}
			i := out.PixOffset(tx, ty)
			if al == 0 {
				continue
			}
			// Un-premultiply the averaged colour.
			out.Pix[i+0] = uint8(r * 0xff / al)
			out.Pix[i+1] = uint8(g * 0xff / al)
			out.Pix[i+2] = uint8(bl * 0xff / al)
			out.Pix[i+3] = uint8(al / cnt >> 8)
		}
	}
	return out
}
