package app

import (
	"context"
	"errors"
	"image"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// liveBackend is what the core needs from capture and publishing.
type liveBackend interface {
	// devices lists cameras and microphones.
	devices(ctx context.Context) (cameras, mics []Device, err error)
	// preview shows a camera and measures a microphone until ctx ends.
	preview(ctx context.Context, camera, mic string, frame func(image.Image), level func(float64)) error
	// start publishes to the target relay and returns the running broadcast.
	start(ctx context.Context, opts LiveOptions, target liveTarget, frame func(image.Image), level func(float64)) (liveHandle, error)
}

// liveHandle is a running broadcast.
type liveHandle interface {
	// watchURL is where viewers watch.
	watchURL() string
	// figures are the viewers (-1 unknown) and the upload bitrate.
	figures() (viewers int, uploadKbps float64)
	close() error
}

// liveRun is the Go live screen's activity: preview, then broadcast.
type liveRun struct {
	previewCancel context.CancelFunc
	startCancel   context.CancelFunc
	h             liveHandle
	path          string // the broadcast's namespace as a path
	endPost       func(context.Context) error
	level         atomic.Uint64 // math.Float64bits of the mic level, x1e6
}

// SetPreviewSink sets where the camera preview's frames go (nil for none).
func (c *Core) SetPreviewSink(s VideoSink) {
	if s == nil {
		c.preview.Store(nil)
		return
	}
	c.preview.Store(&videoSinkBox{s})
}

func (c *Core) previewFrame(img image.Image) {
	if b := c.preview.Load(); b != nil {
		b.s.VideoFrame(img)
	}
}

func (c *Core) liveState() *liveRun {
	if c.liveRun == nil {
		c.liveRun = &liveRun{}
	}
	return c.liveRun
}

// OpenGoLive lists devices and starts the camera preview and microphone
// meter; call it when the Go live screen opens.
func (c *Core) OpenGoLive() {
	c.do(func() {
		if c.svc.live == nil {
			return
		}
		l := c.liveState()
		if l.previewCancel != nil || l.h != nil {
			return
		}
		ctx, cancel := context.WithCancel(c.ctx)
		l.previewCancel = cancel
		c.st.Live.Step = Step{Busy: true, Label: "Looking for cameras and microphones…"}
		svc := c.svc.live
		c.goBG(func() {
			dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
			cams, mics, err := svc.devices(dctx)
			dcancel()
			c.do(func() {
				if ctx.Err() != nil {
					return
				}
				c.st.Live.Step = Step{}
				c.st.Live.Cameras, c.st.Live.Microphones = cams, mics
				if err != nil {
					c.st.Live.Err = AsProblem("Looking for cameras and microphones", err)
				}
				o := &c.st.Live.Options
				if !hasDevice(cams, o.Camera) && len(cams) > 0 {
					o.Camera = cams[0].ID
				}
				if !hasDevice(mics, o.Microphone) && len(mics) > 0 {
					o.Microphone = mics[0].ID
				}
				if len(cams) == 0 && len(mics) == 0 {
					return
				}
				opts := *o
				c.goBG(func() { c.runPreview(ctx, svc, opts) })
			})
		})
	})
}

// runPreview runs the preview until ctx ends, reporting a device error.
func (c *Core) runPreview(ctx context.Context, svc liveBackend, o LiveOptions) {
	l := c.liveRun
	err := svc.preview(ctx, o.Camera, o.Microphone, c.previewFrame, func(v float64) { l.setLevel(v) })
	if err != nil && ctx.Err() == nil {
		c.do(func() { c.st.Live.Err = deviceProblem(err) })
	}
}

func (l *liveRun) setLevel(v float64) { l.level.Store(uint64(min(max(v, 0), 1) * 1e6)) }

func (l *liveRun) levelValue() float64 { return float64(l.level.Load()) / 1e6 }

func hasDevice(ds []Device, id string) bool {
	for _, d := range ds {
		if d.ID == id {
			return true
		}
	}
	return false
}

func deviceProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	return &Problem{What: "The camera or microphone could not be opened: " + err.Error(), Todo: "Close other programs that use it, or pick another device.", Err: err}
}

// CloseGoLive stops the preview (not a running broadcast); call it when the
// Go live screen closes.
func (c *Core) CloseGoLive() {
	c.do(func() {
		if l := c.liveRun; l != nil && l.previewCancel != nil && l.h == nil && l.startCancel == nil {
			l.previewCancel()
			l.previewCancel = nil
		}
	})
}

// SetLiveOptions changes the Go live choices; a new device restarts the
// preview.
func (c *Core) SetLiveOptions(o LiveOptions) {
	c.do(func() {
		old := c.st.Live.Options
		c.st.Live.Options = o
		l := c.liveRun
		if c.svc.live == nil || l == nil || l.h != nil || l.previewCancel == nil {
			return
		}
		if old.Camera != o.Camera || old.Microphone != o.Microphone {
			l.previewCancel()
			ctx, cancel := context.WithCancel(c.ctx)
			l.previewCancel = cancel
			svc := c.svc.live
			c.goBG(func() { c.runPreview(ctx, svc, o) })
		}
	})
}

// GoLive starts broadcasting with the current options, and announces it
// when asked to.
func (c *Core) GoLive() {
	c.do(func() {
		if c.svc.live == nil {
			return
		}
		l := c.liveState()
		if l.h != nil || l.startCancel != nil {
			return
		}
		o := c.st.Live.Options
		o.Title = strings.TrimSpace(o.Title)
		if o.Title == "" {
			c.st.Live.Err = &Problem{What: "Your stream has no title.", Todo: "Give it a title so followers know what it is."}
			return
		}
		if len([]rune(o.Title)) > 200 {
			c.st.Live.Err = &Problem{What: "The title is longer than 200 characters.", Todo: "Shorten it."}
			return
		}
		tg := liveTarget{RelayURL: c.st.Settings.HomeRelayURL, Quality: c.st.Settings.Quality, Path: []string{localOrigin, "me", "live"}}
		if len(c.st.Accounts) > 0 {
			if user, domain, ok := strings.Cut(c.st.Accounts[0].ID, "@"); ok {
				tg.Path = []string{domain, user, "live"}
			}
		}
		if h := c.st.Home.Relay; tg.RelayURL == "" && h != nil && len(h.Publish) > 0 && c.svc.fedi != nil {
			// The account's home relay, with its grant: the broadcast goes
			// under the namespace the grant allows (<instance>/<user>/live).
			tg.RelayURL = h.URL
			if len(h.CertHashes) > 0 {
				tg.CertHash = h.CertHashes[0]
			}
			tg.Path = append(strings.Split(strings.Trim(h.Publish[0], "/"), "/"), "live")
			svc, id := c.svc.fedi, c.home.id
			tg.TokenFunc = func(ctx context.Context) (string, error) {
				g, err := svc.homeRelay(ctx, id)
				return g.token, err
			}
		}
		if tg.RelayURL == "" {
			if c.relayRun == nil || c.relayRun.h == nil {
				c.st.Live.Err = &Problem{What: "There is no relay to send your stream to.", Todo: "Turn on your personal relay in Relay, or set a home relay URL in Settings."}
				return
			}
			tg.RelayURL = c.relayRun.info.URL
			tg.CertHash = c.relayRun.info.CertHash
			tg.Token = c.relayRun.info.Token
		}
		relayURL := tg.RelayURL
		// Without an account there is nobody to announce to: go live
		// unannounced (the UI shows the choice disabled).
		var acc *Account
		if o.Announce && len(c.st.Accounts) > 0 && c.svc.fedi != nil {
			a := c.st.Accounts[0]
			acc = &a
		}
		// A relay only this computer reaches makes a link followers cannot
		// open: go live, but do not post it.
		var unreachable *Problem
		if acc != nil && !c.opts.AllowLoopbackHTTP && isLoopbackURL(relayURL) {
			acc = nil
			unreachable = &Problem{
				What: "You are live on your personal relay, which only this computer can reach, so the stream was not announced.",
				Todo: "To reach your followers, set your instance's relay as the home relay URL in Settings.",
			}
		}
		if l.previewCancel != nil {
			l.previewCancel()
			l.previewCancel = nil
		}
		ctx, cancel := context.WithCancel(c.ctx)
		l.startCancel = cancel
		c.st.Live.Err = nil
		c.st.Live.Step = Step{Busy: true, Label: "Connecting to " + hostOf(relayURL) + "…"}
		svc, fedi := c.svc.live, c.svc.fedi
		c.goBG(func() {
			h, err := svc.start(ctx, o, tg, c.previewFrame, func(v float64) { l.setLevel(v) })
			var post announced
			var end func(context.Context) error
			var annErr error
			if err == nil && acc != nil && fedi != nil {
				c.do(func() { c.st.Live.Step.Label = "Announcing to your followers…" })
				actx, acancel := context.WithTimeout(ctx, 20*time.Second)
				post, end, annErr = fedi.announce(actx, acc.ID, o.Title, h.watchURL(), o.Visibility)
				acancel()
			}
			c.do(func() {
				l.startCancel = nil
				if ctx.Err() != nil {
					if h != nil {
						c.goBG(func() { h.close() })
					}
					return
				}
				c.st.Live.Step = Step{}
				if err != nil {
					cancel()
					c.st.Live.Err = AsProblem("Going live on "+hostOf(relayURL), err)
					return
				}
				l.h = h
				l.path = strings.Join(tg.Path, "/")
				l.endPost = end
				c.st.Live.Live = true
				c.st.Live.Since = time.Now()
				c.st.Live.URL = h.watchURL()
				c.st.Live.Announced = post.URL
				if acc != nil {
					c.startChat(&c.liveChat, &c.st.Live.Chat, post.ID, acc.ID)
				}
				if unreachable != nil {
					c.st.Live.Err = unreachable
				}
				if annErr != nil {
					c.st.Live.Err = &Problem{What: "You are live, but the announcement could not be posted: " + annErr.Error(), Todo: "Share the watch link yourself, or stop and try again.", Err: annErr}
				}
			})
		})
	})
}

// EndLive stops broadcasting and marks the announcement as ended.
func (c *Core) EndLive() {
	c.do(func() { c.stopLiveNow() })
}

func (c *Core) stopLiveNow() {
	l := c.liveRun
	if l == nil {
		return
	}
	if l.startCancel != nil {
		l.startCancel()
		l.startCancel = nil
	}
	if l.previewCancel != nil {
		l.previewCancel()
		l.previewCancel = nil
	}
	h, end := l.h, l.endPost
	l.h, l.endPost = nil, nil
	c.startChat(&c.liveChat, &c.st.Live.Chat, "", "")
	c.st.Live.Live = false
	c.st.Live.Step = Step{}
	c.st.Live.Viewers = -1
	c.st.Live.UploadKbps = 0
	c.st.Live.MicLevel = 0
	if h == nil {
		return
	}
	c.st.Live.Step = Step{Busy: true, Label: "Ending your stream…"}
	c.goBG(func() {
		err := h.close()
		var postErr error
		if end != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			postErr = end(ctx)
			cancel()
		}
		c.do(func() {
			c.st.Live.Step = Step{}
			if postErr != nil {
				c.st.Live.Err = &Problem{What: "Your stream ended, but the announcement could not be marked as ended: " + postErr.Error(), Todo: "Edit or delete the post on your server.", Err: postErr}
			} else if err != nil {
				c.log.Warn("end live", "err", err)
			}
		})
	})
}

func (c *Core) refreshLiveFigures() bool {
	l := c.liveRun
	if l == nil {
		return false
	}
	c.st.Live.MicLevel = l.levelValue()
	if l.h != nil {
		c.st.Live.Viewers, c.st.Live.UploadKbps = l.h.figures()
		if c.st.Settings.HomeRelayURL == "" && c.relayRun != nil {
			// On the personal relay the viewers are known: the relay lists
			// the broadcast once someone watches.
			c.st.Live.Viewers = 0
			for _, b := range c.st.Relay.Broadcasts {
				if b.Name == l.path {
					c.st.Live.Viewers = b.Viewers
				}
			}
		}
	}
	return l.h != nil || l.previewCancel != nil
}

// isLoopbackURL reports whether raw names a loopback host.
func isLoopbackURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
