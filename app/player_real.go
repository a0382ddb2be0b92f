package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/netguard"
	"github.com/tributary-live/tributary/player"
	"github.com/tributary-live/tributary/player/jitter"
)

// playerReal plays streams with the player package.
type playerReal struct {
	log *slog.Logger
	// noAudio leaves the sound card alone (tests, machines without one).
	noAudio bool
	// roots replaces the system's trusted roots when set (tests).
	roots *x509.CertPool
	// allowLoopback lets guarded dials reach loopback (tests).
	allowLoopback bool
}

type playerRealHandle struct {
	p   *player.Player
	url string
}

// jitterTarget maps a latency mode to the player's jitter buffer target.
func jitterTarget(m LatencyMode) jitter.Target {
	switch m {
	case LatencyLow:
		return jitter.Target{Mode: jitter.Fixed, Delay: m.Target()}
	case LatencySmooth:
		return jitter.Target{Mode: jitter.Fixed, Delay: m.Target()}
	}
	return jitter.Target{Mode: jitter.Realtime}
}

func maxHeight(q Quality) int {
	switch q {
	case Quality360:
		return 360
	case Quality720:
		return 720
	}
	return 1080
}

func (r playerReal) open(ctx context.Context, url string, o playOptions, ev playEvents) (playerHandle, error) {
	dial := &moq.DialOptions{}
	if o.Guard {
		dial.Resolve = netguard.Guard{AllowLoopback: r.allowLoopback}.ResolveAddr
	}
	if r.roots != nil {
		dial.TLS = &tls.Config{RootCAs: r.roots}
	}
	for _, c := range o.CertHashes {
		h, err := moq.ParseCertHash(c)
		if err != nil {
			return nil, fmt.Errorf("certificate pin %q: %w", c, err)
		}
		dial.CertHashes = append(dial.CertHashes, h)
	}
	vol := o.Volume
	if o.Muted {
		vol = 0
	}
	p, err := player.Open(ctx, url, player.Options{
		Latency:   jitterTarget(o.Latency),
		Dial:      dial,
		Session:   &moq.Config{Logger: r.log, Implementation: "tributary-app", AuthToken: []byte(o.Token)},
		NoAudio:   r.noAudio,
		MaxHeight: maxHeight(o.Quality),
		Volume:    &vol,
		Logger:    r.log,
		OnVideo:   func(f player.VideoFrame) { ev.frame(f.Image) },
		OnStatus: func(s player.Status, err error) {
			switch s {
			case player.Connecting:
				ev.status(PlayerConnecting, nil)
			case player.Playing:
				if err != nil {
					r.log.Warn("player: no sound", "err", err)
				}
				ev.status(PlayerPlaying, nil)
			case player.Ended:
				ev.status(PlayerEnded, nil)
			case player.Failed:
				if errors.Is(err, io.EOF) {
					ev.status(PlayerEnded, nil)
					return
				}
				ev.status(PlayerFailed, err)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return &playerRealHandle{p: p, url: url}, nil
}

func (h *playerRealHandle) stats() PlayerStats {
	s := h.p.Stats()
	return PlayerStats{
		LatencyMS:   s.Latency.P50,
		BitrateKbps: s.Bitrate / 1000,
		Frames:      s.Frames,
		Dropped:     s.Dropped,
		Stalls:      s.Stalls,
		RTTMS:       s.RTTMS,
		Width:       s.Width,
		Height:      s.Height,
		Codec:       s.VideoCodec,
		RelayPath:   []string{hostOf(h.url)},
	}
}

func (h *playerRealHandle) setVolume(v float64, muted bool) {
	if muted {
		v = 0
	}
	h.p.SetVolume(v)
}

func (h *playerRealHandle) close() error {
	done := make(chan error, 1)
	go func() { done <- h.p.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		return errors.New("player: did not stop within 5 s")
	}
}
