package publish

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/tributary-live/tributary/capture"
)

// StartConfig configures Start: what to send, how to encode it, and where.
type StartConfig struct {
	// Config is the publisher's. When it has a Video or Audio source,
	// those are sent (and Start owns them from then on); otherwise Start
	// opens Sources. Zero bitrates take the preset's.
	Config
	// Sources are what Start opens when Config has no source.
	Sources Sources
	// Preset gives the sources' size and frame rate and the default
	// bitrates (default capture.DefaultPreset).
	Preset capture.Preset
	// GOP is the keyframe interval, and so the group length, when
	// Config.KeyframeInterval is 0 (default 2 s).
	GOP time.Duration
	// URL is the relay's (moqt:// or https://).
	URL string
	// Connect says how to offer the broadcast to the relay and how to
	// reconnect; its Config.Logger defaults to Config.Logger.
	Connect ConnectOptions
	// Wait bounds how long Start waits for the relay to take the
	// broadcast (default 20 s).
	Wait time.Duration
}

// closeWait bounds how long Close waits for capture and the connection to end.
const closeWait = 5 * time.Second

// Broadcast is a broadcast that Start put on air: capture and encoding run
// until Close, and the relay connection reconnects by itself meanwhile.
type Broadcast struct {
	pub    *Publisher
	cancel context.CancelFunc
	done   chan struct{}
	err    error // how Run ended; written before done is closed
}

// Start opens the sources (or takes Config's), starts capture and encoding,
// connects to the relay and returns once the relay has taken the broadcast
// (Publisher.OnAir): viewers of that relay can then subscribe. It fails when
// the sources do not open, when the first answered attempt is refused (by
// the relay, or by the token source), when capture stops, when ctx ends, or
// when cfg.Wait passes first (an error that matches
// context.DeadlineExceeded); unanswered dials are retried until then.
//
// ctx bounds only the start: once Start has returned, the broadcast runs
// until Close or until capture fails.
func Start(ctx context.Context, cfg StartConfig) (*Broadcast, error) {
	if cfg.Preset.Name == "" {
		cfg.Preset, _ = capture.PresetByName(capture.DefaultPreset)
	}
	if cfg.GOP <= 0 {
		cfg.GOP = 2 * time.Second
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 20 * time.Second
	}
	cfg.Logger = orDefault(cfg.Logger)
	if cfg.Connect.Config.Logger == nil {
		cfg.Connect.Config.Logger = cfg.Logger
	}
	// The broadcast, and a media file's decoder, outlive ctx.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	if cfg.Video == nil && cfg.Audio == nil {
		var err error
		if cfg.Video, cfg.Audio, err = cfg.Sources.Open(rctx, cfg.Preset, cfg.Logger); err != nil {
			cancel()
			return nil, err
		}
	}
	if cfg.VideoBitrate == 0 {
		cfg.VideoBitrate = cfg.Preset.VideoBitrate
	}
	if cfg.AudioBitrate == 0 {
		cfg.AudioBitrate = cfg.Preset.AudioBitrate
	}
	if cfg.KeyframeInterval == 0 && cfg.Video != nil {
		_, _, fps := cfg.Video.Size()
		cfg.KeyframeInterval = max(1, int(cfg.GOP.Seconds()*fps+0.5))
	}
	pub, err := New(cfg.Config)
	if err != nil {
		for _, s := range []interface{ Close() error }{cfg.Video, cfg.Audio} {
			if s != nil {
				s.Close()
			}
		}
		cancel()
		return nil, err
	}
	b := &Broadcast{pub: pub, cancel: cancel, done: make(chan struct{})}
	a := &attempts{refused: make(chan error, 1)}
	go b.run(rctx, cfg.URL, &cfg.Connect, a.failed)
	if err := b.waitOnAir(ctx, cfg.URL, cfg.Wait, a); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// run is the broadcast: Run here, Connect beside it, until Run ends (when
// ctx ends or a source fails); then the connection ends too.
func (b *Broadcast) run(ctx context.Context, url string, opts *ConnectOptions, failed func(error, bool)) {
	defer close(b.done)
	connected := make(chan struct{})
	go func() {
		defer close(connected)
		b.pub.connect(ctx, url, opts, failed)
	}()
	err := b.pub.Run(ctx)
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		err = nil // stopped by Close
	}
	b.cancel()
	<-connected
	b.err = err
}

// waitOnAir waits until the relay has taken the broadcast, or says why not.
func (b *Broadcast) waitOnAir(ctx context.Context, relayURL string, wait time.Duration, a *attempts) error {
	t := time.NewTimer(wait)
	defer t.Stop()
	var err error
	select {
	case <-b.pub.OnAir():
		return nil
	case err = <-a.refused:
	case <-b.done:
		if err = b.err; err == nil {
			err = errors.New("publish: capture stopped before the relay took the broadcast")
		}
	case <-t.C:
		err = &notOnAirError{host: hostOf(relayURL), wait: wait, last: a.last()}
	case <-ctx.Done():
		err = context.Cause(ctx)
	}
	select {
	case <-b.pub.OnAir(): // it came on air meanwhile
		return nil
	default:
		return err
	}
}

// Stats returns the publisher's counters.
func (b *Broadcast) Stats() Stats { return b.pub.Stats() }

// Done is closed when the broadcast has ended: after Close, or when
// capture failed (Close then says why).
func (b *Broadcast) Done() <-chan struct{} { return b.done }

// Close stops capture and the relay connection and waits, at most 5 s,
// until they have ended. It returns why capture failed, if it failed
// before Close.
func (b *Broadcast) Close() error {
	b.cancel()
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-b.done:
		return b.err
	case <-t.C:
		return fmt.Errorf("publish: the broadcast did not stop within %v", closeWait)
	}
}

// attempts collects what Connect tells of its failed attempts while Start
// waits: the last error, and the first answered one.
type attempts struct {
	mu      sync.Mutex
	err     error
	refused chan error
}

func (a *attempts) failed(err error, answered bool) {
	if err == nil {
		err = errors.New("publish: the relay ended the session")
	}
	a.mu.Lock()
	a.err = err
	a.mu.Unlock()
	if answered {
		select {
		case a.refused <- err:
		default:
		}
	}
}

func (a *attempts) last() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// notOnAirError is Start's error when the relay did not take the broadcast
// in time: a deadline, with the last attempt's error.
type notOnAirError struct {
	host string
	wait time.Duration
	last error
}

func (e *notOnAirError) Error() string {
	s := fmt.Sprintf("publish: %s did not take the broadcast within %v", e.host, e.wait)
	if e.last != nil {
		s += ": " + e.last.Error()
	}
	return s
}

// Unwrap gives context.DeadlineExceeded and the last attempt's error.
func (e *notOnAirError) Unwrap() []error {
	if e.last == nil {
		return []error{context.DeadlineExceeded}
	}
	return []error{context.DeadlineExceeded, e.last}
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}
