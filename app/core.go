// Package app is Tributary's core: it starts and stops the services (the
// personal relay, the demo broadcast, the player, capture and publishing,
// the Fediverse accounts), owns the app's state in one goroutine, and
// reports that state to listeners as plain values. It never imports fyne: the
// UI builds its screens from what the core reports, and the core is tested
// without a display.
package app

import (
	"context"
	"crypto/x509"
	"errors"
	"image"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// Listener receives the app's state after every change. It is called on the
// core's goroutine and must return quickly (hand the value to the UI thread
// and return).
type Listener interface {
	StateChanged(s State)
}

// ListenerFunc adapts a function to Listener.
type ListenerFunc func(State)

// StateChanged calls f(s).
func (f ListenerFunc) StateChanged(s State) { f(s) }

// VideoSink receives decoded video frames. Frames come from a decoding
// goroutine at the stream's frame rate, not through the core's loop, so
// VideoFrame must return quickly; the sink may keep img (it is not reused).
type VideoSink interface {
	// VideoFrame is a new frame to show.
	VideoFrame(img image.Image)
}

// Options configure a Core.
type Options struct {
	// ConfigDir holds settings and accounts; empty means the user's
	// configuration directory (os.UserConfigDir()/tributary), or
	// $TRIBUTARY_CONFIG_DIR when set.
	ConfigDir string
	// Logger receives the core's logs; nil means slog.Default().
	Logger *slog.Logger
	// NoDemo skips the demo broadcast at start.
	NoDemo bool
	// StatsInterval is how often figures are refreshed; 0 means 1 s.
	StatsInterval time.Duration
	// NoAudio plays without opening the sound card.
	NoAudio bool
	// RootCAs, when set, replaces the system's trusted roots for Fediverse
	// servers, relays' /.well-known/moq and stream connections (tests with
	// development certificates).
	RootCAs *x509.CertPool
	// AllowLoopbackHTTP lets Fediverse servers on loopback use plain http
	// (tests against a local server only).
	AllowLoopbackHTTP bool
	// services replaces the real services (tests).
	services *services
}

// ErrClosed is returned by calls on a core that has been closed.
var ErrClosed = errors.New("app: core closed")

// Core is the app's core. Create it with New, start it with Start, and stop
// it with Close. Its methods may be called from any goroutine; they never
// block on network or disk: long steps run in the background and report
// through listeners.
type Core struct {
	opts Options
	log  *slog.Logger
	svc  services

	ctx    context.Context
	cancel context.CancelFunc

	cmds    chan func()
	started atomic.Bool
	closed  chan struct{}
	loopEnd chan struct{}
	bg      sync.WaitGroup

	avatars *avatarCache

	video   atomic.Pointer[videoSinkBox]
	preview atomic.Pointer[videoSinkBox]

	// Owned by the loop goroutine.
	st        State
	listeners []Listener
	relayRun  *relayRun
	demoRun   *demoRun
	playing   *playRun
	liveRun   *liveRun
	fedi      *fediRun
	home      homeRun
	watchChat *chatRun // the chat of the stream being watched
	liveChat  *chatRun // the chat of the user's own broadcast
}

type videoSinkBox struct{ s VideoSink }

// New makes a core; nothing runs until Start.
func New(opts Options) *Core {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.StatsInterval <= 0 {
		opts.StatsInterval = time.Second
	}
	if opts.ConfigDir == "" {
		opts.ConfigDir = os.Getenv("TRIBUTARY_CONFIG_DIR")
	}
	if opts.ConfigDir == "" {
		if d, err := os.UserConfigDir(); err == nil {
			opts.ConfigDir = filepath.Join(d, "tributary")
		} else {
			opts.ConfigDir = filepath.Join(os.TempDir(), "tributary")
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Core{
		opts:    opts,
		log:     opts.Logger,
		ctx:     ctx,
		cancel:  cancel,
		cmds:    make(chan func(), 64),
		closed:  make(chan struct{}),
		loopEnd: make(chan struct{}),
	}
	if opts.services != nil {
		c.svc = *opts.services
	} else {
		var p *Problem
		c.svc, p = realServices(opts)
		c.st.Notice = p
	}
	c.avatars = newAvatarCache(opts.AllowLoopbackHTTP)
	c.st.Features = c.svc.features()
	c.st.Settings = DefaultSettings()
	c.st.Player.Status = PlayerIdle
	c.st.Live.Viewers = -1
	c.st.Live.Options.Visibility = VisibilityPublic
	c.st.Live.Options.Announce = true
	return c
}

// ConfigDir is where settings and accounts are kept.
func (c *Core) ConfigDir() string { return c.opts.ConfigDir }

// AddListener registers l; it is called at once with the current state, and
// after every change.
func (c *Core) AddListener(l Listener) {
	c.do(func() {
		c.listeners = append(c.listeners, l)
		l.StateChanged(c.st.clone())
	})
}

// SetVideoSink sets where decoded frames of the player go (nil for none).
func (c *Core) SetVideoSink(s VideoSink) {
	if s == nil {
		c.video.Store(nil)
		return
	}
	c.video.Store(&videoSinkBox{s})
}

// videoFrame forwards a frame to the sink, from any goroutine.
func (c *Core) videoFrame(img image.Image) {
	if b := c.video.Load(); b != nil {
		b.s.VideoFrame(img)
	}
}

// Start loads the settings and starts the embedded default: the personal
// relay, the demo broadcast on it, and the player showing the demo. It
// returns at once; progress arrives through listeners.
func (c *Core) Start() {
	if !c.started.CompareAndSwap(false, true) {
		return
	}
	go c.loop()
	c.do(func() {
		s, err := loadSettings(c.opts.ConfigDir)
		if err != nil {
			c.log.Warn("settings", "err", err)
			c.st.Notice = &Problem{What: "Your settings could not be read, so the defaults are in use: " + err.Error(), Todo: "Open Settings and save them again.", Err: err}
		}
		c.st.Settings = s
		c.startServices()
	})
}

// Close stops everything the core started and waits for it.
func (c *Core) Close() error {
	select {
	case <-c.closed:
		return nil
	default:
	}
	if c.started.Load() {
		done := make(chan struct{})
		c.do(func() {
			c.stopServices()
			close(done)
		})
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.log.Warn("close: services did not stop within 10 s")
		}
	}
	close(c.closed)
	c.cancel()
	if c.started.Load() {
		<-c.loopEnd
	}
	c.bg.Wait()
	if cl, ok := c.svc.fedi.(interface{ close() }); ok {
		cl.close()
	}
	return nil
}

// State returns a snapshot of the current state. It waits for the core's
// loop; after Close it returns the last state.
func (c *Core) State() State {
	if !c.started.Load() {
		return c.st.clone()
	}
	ch := make(chan State, 1)
	if !c.do(func() { ch <- c.st.clone() }) {
		return c.st.clone()
	}
	select {
	case s := <-ch:
		return s
	case <-c.loopEnd:
		return c.st.clone()
	}
}

// do queues f to run on the loop (calls made before Start run once it
// starts). It reports false when the core is closed.
func (c *Core) do(f func()) bool {
	select {
	case <-c.closed:
		return false
	default:
	}
	select {
	case c.cmds <- f:
		return true
	case <-c.closed:
		return false
	}
}

// goBG runs f in the background, tracked so Close waits for it.
func (c *Core) goBG(f func()) {
	c.bg.Add(1)
	go func() {
		defer c.bg.Done()
		f()
	}()
}

func (c *Core) loop() {
	defer close(c.loopEnd)
	tick := time.NewTicker(c.opts.StatsInterval)
	defer tick.Stop()
	for {
		select {
		case f := <-c.cmds:
			f()
			c.emit()
		case <-tick.C:
			if c.refreshFigures() {
				c.emit()
			}
		case <-c.closed:
			// Run what was queued before Close so nothing waits forever.
			for {
				select {
				case f := <-c.cmds:
					f()
				default:
					return
				}
			}
		}
	}
}

func (c *Core) emit() {
	if len(c.listeners) == 0 {
		return
	}
	s := c.st.clone()
	for _, l := range c.listeners {
		l.StateChanged(s)
	}
}

// UpdateSettings applies change to a copy of the settings, checks and saves
// the result, and restarts what the change affects. A problem is reported
// through done (which may be nil) and nothing changes.
func (c *Core) UpdateSettings(change func(*Settings), done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	ok := c.do(func() {
		old := c.st.Settings
		n := old
		n.Upstreams = append([]string(nil), old.Upstreams...)
		change(&n)
		if err := n.Validate(); err != nil {
			done(err)
			return
		}
		if err := saveSettings(c.opts.ConfigDir, n); err != nil {
			done(&Problem{What: "Your settings could not be saved: " + err.Error(), Todo: "Check that " + c.opts.ConfigDir + " is writable.", Err: err})
			return
		}
		c.st.Settings = n
		c.st.Notice = nil
		c.settingsChanged(old, n)
		done(nil)
	})
	if !ok {
		done(ErrClosed)
	}
}
