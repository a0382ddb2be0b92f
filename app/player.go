package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"net/url"
	"strings"
	"time"
)

// reconnect backoff: first retry after reconnectFirst, doubling up to
// reconnectMax, giving up after reconnectTries attempts in a row.
const (
	reconnectFirst = 500 * time.Millisecond
	reconnectMax   = 5 * time.Second
	reconnectTries = 12
)

// playRun is one playback, from Play to StopPlaying or the next Play.
type playRun struct {
	id     uint64
	cancel context.CancelFunc
	h      playerHandle
	stream Stream
	url    int // index into stream.URLs in use
	tries  int // failed attempts in a row
	timer  *time.Timer
}

var playSeq uint64

// Play starts watching s (stopping what was playing). It returns at once.
func (c *Core) Play(s Stream) {
	c.do(func() { c.play(s) })
}

// PlayURL starts watching a stream given by hand (moqt:// or https://). A
// URL that is not valid is reported in the player's state.
func (c *Core) PlayURL(raw string) {
	raw = strings.TrimSpace(raw)
	c.do(func() {
		if err := CheckStreamURL(raw); err != nil {
			c.stopPlaying()
			c.st.Player.Status = PlayerFailed
			c.st.Player.Err = &Problem{What: "That is not a stream URL: " + err.Error() + ".", Todo: "Paste a moqt:// or https:// link from a go-live post."}
			return
		}
		title := raw
		if u, err := url.Parse(raw); err == nil {
			title = strings.Trim(u.Path, "/")
			if title == "" {
				title = u.Host
			}
		}
		c.play(Stream{ID: raw, Title: title, URLs: []string{raw}, Viewers: -1, State: StreamUnknown})
	})
}

// StopPlaying stops the player.
func (c *Core) StopPlaying() {
	c.do(func() {
		c.stopPlaying()
		c.startChat(&c.watchChat, &c.st.Chat, "", "")
		c.st.Player = PlayerState{Status: PlayerIdle}
	})
}

// RetryPlaying starts the last stream again after a failure.
func (c *Core) RetryPlaying() {
	c.do(func() {
		if s := c.st.Player.Stream; len(s.URLs) > 0 {
			c.play(s)
		}
	})
}

// SetVolume sets the player's volume (0 to 1) and saves it.
func (c *Core) SetVolume(v float64) {
	v = min(max(v, 0), 1)
	c.UpdateSettings(func(s *Settings) { s.Volume = v }, nil)
}

// SetMuted mutes or unmutes the player.
func (c *Core) SetMuted(m bool) {
	c.UpdateSettings(func(s *Settings) { s.Muted = m }, nil)
}

// SetLatency sets the latency mode; a playing stream restarts with it.
func (c *Core) SetLatency(m LatencyMode) {
	c.UpdateSettings(func(s *Settings) { s.Latency = m }, nil)
}

func (c *Core) play(s Stream) {
	c.stopPlaying()
	if c.svc.player == nil {
		c.st.Player = PlayerState{Status: PlayerFailed, Stream: s, Err: &Problem{What: "This build of Tributary has no player.", Todo: "Build it with the player package."}}
		return
	}
	if !s.Playable() {
		c.st.Player = PlayerState{Status: PlayerFailed, Stream: s, Err: &Problem{What: "This stream offers no MoQ address Tributary can play.", Todo: "Open its web page instead: " + s.PageURL}}
		return
	}
	playSeq++
	r := &playRun{id: playSeq, stream: s}
	// A Fediverse stream plays through the home relay first (it pulls the
	// broadcast once for the whole community); the streamer's own
	// endpoints follow as the fallback.
	r.stream.URLs, _ = c.viaHome(s)
	c.playing = r
	c.st.Player = PlayerState{Status: PlayerConnecting, Stream: s}
	c.startChat(&c.watchChat, &c.st.Chat, s.PostID, strings.TrimPrefix(s.Handle, "@"))
	c.openPlayer(r)
}

// openPlayer connects r to its current URL in the background.
func (c *Core) openPlayer(r *playRun) {
	u := r.stream.URLs[r.url]
	ctx, cancel := context.WithCancel(c.ctx)
	r.cancel = cancel
	c.st.Player.URL = u
	c.st.Player.Via = c.pathLabel(u)
	c.st.Player.Step = Step{Busy: true, Label: "Connecting to " + hostOf(u) + "…"}
	if c.st.Player.Status == PlayerReconnecting {
		c.st.Player.Step.Label = fmt.Sprintf("Reconnecting to %s (attempt %d)…", hostOf(u), r.tries+1)
	}
	opts := playOptions{Latency: c.st.Settings.Latency, Quality: c.st.Settings.Quality, Volume: c.st.Settings.Volume, Muted: c.st.Settings.Muted}
	opts.CertHashes = append(opts.CertHashes, r.stream.CertHashes...)
	if c.relayRun != nil && sameHost(u, c.relayRun.info.URL) {
		opts.CertHashes = append(opts.CertHashes, c.relayRun.info.CertHash)
		opts.Token = c.relayRun.info.Token
	}
	var home *HomeState
	acct := c.home.id
	if h := c.st.Home.Relay; h != nil && sameHost(u, h.URL) {
		hs := c.st.Home
		home = &hs
	}
	// A post named this address (not the home relay, not one typed by the
	// user or the personal relay): no private or internal addresses.
	opts.Guard = r.stream.Federated && home == nil
	fedi := c.svc.fedi
	id := r.id
	ev := playEvents{
		frame: func(img image.Image) { c.videoFrame(img) },
		status: func(st PlayerStatus, err error) {
			c.do(func() { c.playerStatus(id, st, err) })
		},
	}
	svc := c.svc.player
	c.goBG(func() {
		if home != nil && fedi != nil {
			// The home relay gets the account's grant (fetched or
			// renewed now), and nothing else does.
			g, err := fedi.homeRelay(ctx, acct)
			if err != nil {
				c.do(func() { c.playerStatus(id, PlayerFailed, err) })
				return
			}
			opts.Token = g.token
			opts.CertHashes = append(opts.CertHashes, g.relay.CertHashes...)
		}
		h, err := svc.open(ctx, u, opts, ev)
		c.do(func() {
			if c.playing != r || ctx.Err() != nil {
				if h != nil {
					h.close()
				}
				return
			}
			if err != nil {
				c.playerStatus(id, PlayerFailed, err)
				return
			}
			r.h = h
		})
		if !c.started.Load() && h != nil {
			h.close()
		}
	})
}

// playerStatus handles a report of playback id.
func (c *Core) playerStatus(id uint64, st PlayerStatus, err error) {
	r := c.playing
	if r == nil || r.id != id {
		return
	}
	switch st {
	case PlayerPlaying:
		r.tries = 0
		c.st.Player.Status = PlayerPlaying
		c.st.Player.Step = Step{}
		c.st.Player.Err = nil
	case PlayerConnecting:
		c.st.Player.Step = Step{Busy: true, Label: "Waiting for the first picture…"}
	case PlayerEnded:
		c.closePlayer(r)
		c.st.Player.Status = PlayerEnded
		c.st.Player.Step = Step{}
		c.st.Player.Err = nil
	case PlayerFailed, PlayerReconnecting:
		c.closePlayer(r)
		r.tries++
		// Try the next URL the stream offers, then start over, with backoff.
		if len(r.stream.URLs) > 1 {
			r.url = (r.url + 1) % len(r.stream.URLs)
		}
		if r.tries > reconnectTries {
			c.st.Player.Status = PlayerFailed
			c.st.Player.Step = Step{}
			c.st.Player.Err = playProblem(err, r.stream)
			return
		}
		c.st.Player.Status = PlayerReconnecting
		c.st.Player.Reconnects++
		c.st.Player.Err = playProblem(err, r.stream)
		wait := reconnectFirst << min(r.tries-1, 4)
		wait = min(wait, reconnectMax)
		c.st.Player.Step = Step{Busy: true, Label: fmt.Sprintf("Connection lost; reconnecting in %.1f s…", wait.Seconds())}
		r.timer = time.AfterFunc(wait, func() {
			c.do(func() {
				if c.playing == r {
					c.openPlayer(r)
				}
			})
		})
	}
}

func (c *Core) closePlayer(r *playRun) {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if r.cancel != nil {
		r.cancel()
	}
	if r.h != nil {
		h := r.h
		r.h = nil
		c.goBG(func() { h.close() })
	}
}

func (c *Core) stopPlaying() {
	if c.playing == nil {
		return
	}
	c.closePlayer(c.playing)
	c.playing = nil
}

// playProblem explains a playback error.
func playProblem(err error, s Stream) *Problem {
	if err == nil {
		return &Problem{What: "The stream stopped.", Todo: "Tributary keeps trying; you can also pick another stream."}
	}
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	return &Problem{What: "The stream could not be played: " + err.Error(), Todo: "Check that the streamer is still live and your network works; Tributary keeps trying.", Err: err}
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

func sameHost(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && ua.Host != "" && ua.Host == ub.Host
}

// refreshPlayerFigures copies the player's stats into the state.
func (c *Core) refreshPlayerFigures() bool {
	if c.playing == nil || c.playing.h == nil {
		return false
	}
	c.st.Player.Stats = c.playing.h.stats()
	return true
}
