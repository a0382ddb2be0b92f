package app

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tributary-live/tributary/moq/netguard"
)

func pngBytes(t testing.TB, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestAvatarFetchIsGuarded(t *testing.T) {
	pic := pngBytes(t, 200, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a.png":
			w.Write(pic)
		case "/big":
			w.Write(bytes.Repeat([]byte{0}, maxAvatarBytes+10))
		case "/redirect":
			http.Redirect(w, r, "http://10.0.0.1/x.png", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	if _, err := newAvatarCache(false).fetch(ctx, srv.URL+"/a.png"); err == nil {
		t.Error("plain http to loopback fetched without permission")
	}
	a := newAvatarCache(true)
	img, err := a.fetch(ctx, srv.URL+"/a.png")
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != avatarSize || img.Bounds().Dy() != avatarSize {
		t.Errorf("avatar is %v, want %dx%d", img.Bounds(), avatarSize, avatarSize)
	}
	if _, err := a.fetch(ctx, srv.URL+"/big"); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Errorf("oversized avatar: %v", err)
	}
	if _, err := a.fetch(ctx, srv.URL+"/redirect"); err == nil {
		t.Error("followed a redirect to plain http on a private address")
	}
	// Every non-public address is refused before a connection is made,
	// not only private and loopback ones (100.64.0.1 used to pass).
	for _, u := range []string{
		"https://10.1.2.3/a.png", "https://100.64.0.1/a.png", "https://198.18.0.1/a.png",
		"https://169.254.169.254/latest/meta-data/", "https://[64:ff9b::a00:1]/a.png", "https://[fd00::1]/a.png",
		"https://0.0.0.0/a.png", "https://[::ffff:10.0.0.1]/a.png",
	} {
		if _, err := a.fetch(ctx, u); !errors.Is(err, netguard.ErrBlocked) {
			t.Errorf("%s: %v, want netguard.ErrBlocked", u, err)
		}
	}
	if _, err := a.fetch(ctx, "file:///etc/passwd"); err == nil {
		t.Error("fetched a file URL")
	}
}

func TestCoreAvatarCachesAndSharesFetches(t *testing.T) {
	var hits atomic.Int32
	pic := pngBytes(t, 10, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(pic)
	}))
	defer srv.Close()
	svc := services{}
	c := New(Options{ConfigDir: t.TempDir(), AllowLoopbackHTTP: true, services: &svc})
	c.Start()
	defer c.Close()
	got := make(chan image.Image, 3)
	for i := 0; i < 3; i++ {
		c.Avatar(srv.URL+"/p.png", func(img image.Image) { got <- img })
	}
	for i := 0; i < 3; i++ {
		if img := <-got; img == nil {
			t.Fatal("no avatar")
		}
	}
	c.Avatar(srv.URL+"/p.png", func(img image.Image) { got <- img })
	<-got
	if n := hits.Load(); n != 1 {
		t.Errorf("%d fetches for one URL, want 1", n)
	}
}

func TestDecodeAvatarRefusesHugeDimensions(t *testing.T) {
	// A PNG header claiming 100000x100000 pixels must be refused before decoding.
	b := pngBytes(t, 1, 1)
	b[16], b[17], b[18], b[19] = 0, 1, 0x86, 0xa0 // width 100000
	b[20], b[21], b[22], b[23] = 0, 1, 0x86, 0xa0 // height 100000
	if _, err := decodeAvatar(b); err == nil {
		t.Error("decoded a 100000x100000 picture")
	}
}

// FuzzDecodeAvatar feeds avatar bytes from servers: never a panic, and a
// picture that decodes is avatarSize square.
func FuzzDecodeAvatar(f *testing.F) {
	f.Add(pngBytes(f, 3, 2))
	var j bytes.Buffer
	jpeg.Encode(&j, image.NewGray(image.Rect(0, 0, 8, 5)), nil)
	f.Add(j.Bytes())
	var g bytes.Buffer
	gif.Encode(&g, image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White}), nil)
	f.Add(g.Bytes())
	f.Add([]byte("not a picture"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := decodeAvatar(b)
		if err == nil && (img.Bounds().Dx() != avatarSize || img.Bounds().Dy() != avatarSize) {
			t.Fatalf("avatar %v", img.Bounds())
		}
	})
}
