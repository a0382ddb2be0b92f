package app

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
)

// relayRun is the personal relay while it runs.
type relayRun struct {
	cancel context.CancelFunc
	h      relayHandle
	info   relayInfo
}

// demoRun is the demo broadcast while it runs.
type demoRun struct {
	cancel context.CancelFunc
	h      demoHandle
	stream Stream
}

// SetRelayEnabled turns the personal relay on or off and saves the choice.
func (c *Core) SetRelayEnabled(on bool) {
	c.UpdateSettings(func(s *Settings) { s.RelayEnabled = on }, nil)
}

// RestartRelay stops and starts the personal relay (after a failure).
func (c *Core) RestartRelay() {
	c.do(func() {
		c.stopRelay()
		c.startRelay()
	})
}

// startServices starts the embedded default: relay, demo, playback.
func (c *Core) startServices() {
	c.startRelay()
	c.loadAccounts()
}

// stopServices stops everything, newest first.
func (c *Core) stopServices() {
	c.stopLiveNow()
	c.stopPlaying()
	c.stopRelay()
	c.stopFedi()
}

// settingsChanged restarts what a settings change affects.
func (c *Core) settingsChanged(old, n Settings) {
	if old.RelayEnabled != n.RelayEnabled || old.RelayPort != n.RelayPort ||
		old.RelayPolicy != n.RelayPolicy || !slices.Equal(old.Upstreams, n.Upstreams) {
		c.stopRelay()
		c.startRelay()
	}
	if r := c.playing; r != nil {
		if old.Latency != n.Latency || old.Quality != n.Quality {
			c.play(r.stream)
		} else if (old.Volume != n.Volume || old.Muted != n.Muted) && r.h != nil {
			r.h.setVolume(n.Volume, n.Muted)
		}
	}
}

func (c *Core) startRelay() {
	if c.svc.relay == nil || !c.st.Settings.RelayEnabled {
		c.st.Relay = RelayState{}
		return
	}
	ctx, cancel := context.WithCancel(c.ctx)
	r := &relayRun{cancel: cancel}
	c.relayRun = r
	cfg := relayConfig{
		Addr:      net.JoinHostPort("127.0.0.1", strconv.Itoa(c.st.Settings.RelayPort)),
		Policy:    c.st.Settings.RelayPolicy,
		Upstreams: slices.Clone(c.st.Settings.Upstreams),
	}
	c.st.Relay = RelayState{Step: Step{Busy: true, Label: "Starting your personal relay…"}}
	svc := c.svc.relay
	c.goBG(func() {
		h, err := svc.start(ctx, cfg)
		c.do(func() {
			if c.relayRun != r || ctx.Err() != nil {
				if h != nil {
					c.goBG(func() { h.close() })
				}
				return
			}
			if err != nil {
				c.relayRun = nil
				c.st.Relay = RelayState{Err: relayProblem(cfg, err)}
				return
			}
			r.h = h
			r.info = h.info()
			c.st.Relay = RelayState{Running: true, Addr: r.info.Addr, URL: r.info.URL, CertHash: r.info.CertHash}
			c.log.Info("personal relay running", "url", r.info.URL)
			c.startDemo()
		})
	})
}

func relayProblem(cfg relayConfig, err error) *Problem {
	if _, port, _ := net.SplitHostPort(cfg.Addr); port != "0" && isAddrInUse(err) {
		return &Problem{What: fmt.Sprintf("Your personal relay could not start: port %s is in use by another program.", port), Todo: "Choose another port in Relay, or 0 to pick a free one.", Err: err}
	}
	return &Problem{What: "Your personal relay could not start: " + err.Error(), Todo: "Try again with Restart; if it keeps failing, choose another port.", Err: err}
}

func (c *Core) stopRelay() {
	c.stopDemo()
	r := c.relayRun
	if r == nil {
		return
	}
	c.relayRun = nil
	r.cancel()
	if r.h != nil {
		h := r.h
		c.goBG(func() { h.close() })
	}
	c.st.Relay = RelayState{}
}

// startDemo publishes the demo broadcast on the personal relay and, when
// nothing else plays, plays it.
func (c *Core) startDemo() {
	if c.opts.NoDemo || c.svc.demo == nil || c.relayRun == nil {
		return
	}
	info := c.relayRun.info
	ctx, cancel := context.WithCancel(c.ctx)
	d := &demoRun{cancel: cancel}
	c.demoRun = d
	svc := c.svc.demo
	c.goBG(func() {
		h, err := svc.start(ctx, info)
		c.do(func() {
			if c.demoRun != d || ctx.Err() != nil {
				if h != nil {
					c.goBG(func() { h.close() })
				}
				return
			}
			if err != nil {
				c.demoRun = nil
				c.st.Notice = &Problem{What: "The demo broadcast could not start: " + err.Error(), Todo: "Your relay still runs; open a stream from Live now.", Err: err}
				return
			}
			d.h = h
			d.stream = h.stream()
			d.stream.Demo = true
			c.mergeStreams()
			if c.playing == nil && (c.st.Player.Status == PlayerIdle || c.st.Player.Status == "") {
				c.play(d.stream)
			}
		})
	})
}

func (c *Core) stopDemo() {
	d := c.demoRun
	if d == nil {
		return
	}
	c.demoRun = nil
	d.cancel()
	if d.h != nil {
		h := d.h
		c.goBG(func() { h.close() })
	}
	if r := c.playing; r != nil && r.stream.Demo {
		c.stopPlaying()
		c.st.Player = PlayerState{Status: PlayerIdle}
	}
	c.mergeStreams()
}

// refreshFigures polls the running services for their figures.
func (c *Core) refreshFigures() bool {
	changed := c.refreshPlayerFigures()
	if r := c.relayRun; r != nil && r.h != nil {
		f := r.h.figures()
		c.st.Relay.Broadcasts = f.Broadcasts
		c.st.Relay.UpstreamBytes = f.UpstreamBytes
		c.st.Relay.LocalBytes = f.LocalBytes
		changed = true
	}
	if c.refreshLiveFigures() {
		changed = true
	}
	return changed
}
