// Package player is what a viewer sees and hears: it subscribes to a
// broadcast's catalog (MSF or hang), picks renditions, subscribes to their
// tracks from the relay's current group, feeds a jitter buffer per track
// (player/jitter), decodes (player/decode), plays audio on the sound card
// (player/audio) and presents video frames in sync with the audio clock.
//
// A Player owns its goroutines: per track one reads the network and one
// plays out; Close stops them all and waits.
package player

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/hang"
	"github.com/tributary-live/tributary/moq/msf"
	"github.com/tributary-live/tributary/moq/wire"
	"github.com/tributary-live/tributary/player/audio"
	"github.com/tributary-live/tributary/player/decode"
	"github.com/tributary-live/tributary/player/jitter"
)

// Status is what the player is doing.
type Status int

// The player's statuses, reported through Options.OnStatus.
const (
	// Connecting: dialing, reading the catalog, waiting for the first frame.
	Connecting Status = iota
	// Playing: the first frame was presented.
	Playing
	// Ended: the broadcast ended.
	Ended
	// Failed: playback stopped with an error.
	Failed
)

// String names the status.
func (s Status) String() string {
	return [...]string{"connecting", "playing", "ended", "failed"}[s]
}

// VideoFrame is a presented picture.
type VideoFrame struct {
	// Image is the picture (*image.YCbCr in the common case).
	Image image.Image
	// Timestamp is the media timestamp (LOC capture time in wall-clock
	// microseconds since the Unix epoch, as a Duration).
	Timestamp time.Duration
	// Presented is when the frame was handed out.
	Presented time.Time
	// Group and Object locate the frame in its track.
	Group, Object uint64
}

// Options configure a Player. The zero value plays with a real-time target,
// sound on the default device and no callbacks.
type Options struct {
	// Latency is the jitter buffer target (zero value: real-time).
	Latency jitter.Target
	// Nudge is the largest playback-rate change that holds the target
	// (default 0.03; negative disables).
	Nudge float64
	// Dial secures the connection (certificate pin, insecure for development).
	Dial *moq.DialOptions
	// Session configures the MoQ session.
	Session *moq.Config
	// NoAudio leaves the sound card alone: audio is decoded (OnAudio still
	// gets it) and video runs on a wall clock.
	NoAudio bool
	// NoVideo skips video.
	NoVideo bool
	// MaxHeight picks the video rendition with the largest height not above
	// it (default 1080).
	MaxHeight int
	// Volume is the initial volume, 0 to 1 (default 1).
	Volume *float64
	// OnVideo receives every presented frame, on the video goroutine; it
	// should return quickly (hand the image to the UI).
	OnVideo func(VideoFrame)
	// OnAudio receives decoded audio, on the audio goroutine.
	OnAudio func(decode.AudioFrame)
	// OnStatus receives status changes; err says why for Failed (and for a
	// sound problem reported with Playing).
	OnStatus func(s Status, err error)
	// Logger receives the player's logs (default slog.Default()).
	Logger *slog.Logger

	// openSound opens the sound card (default audio.Open); tests replace it.
	openSound func(onError func(error)) (sound, error)
}

// sound is an audio output as the player uses it: audio.Output, or a
// test's stand-in.
type sound interface {
	Write(pcm []float32, rate, channels int, ts time.Duration) error
	Clock(now time.Time) (time.Duration, bool)
	Underruns() uint64
	SetVolume(v float64)
	Close() error
}

// openSoundCard opens the default sound device.
func openSoundCard(onError func(error)) (sound, error) {
	out, err := audio.Open(onError)
	if err != nil {
		return nil, err // not a nil *audio.Output in a non-nil interface
	}
	return out, nil
}

// Player plays one broadcast.
type Player struct {
	opts   Options
	log    *slog.Logger
	sess   *moq.Session
	owns   bool
	ns     wire.Namespace
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup
	st     stats
	start  time.Time

	mu       sync.Mutex
	tracks   []*trackPlayer
	out      sound
	soundErr error // why the sound card is not used (it failed to open or was lost); not tried again
	status   Status
	err      error
	done     chan struct{}
	finished bool // finish ran (done is closed at its end)
	ended    int
	volume   float64
	stopped  bool
}

// Open dials the stream URL (see ParseURL) and starts playing. It returns
// once the session is up; the catalog and first frames follow in the
// background (see Options.OnStatus).
func Open(ctx context.Context, rawURL string, opts Options) (*Player, error) {
	dial, ns, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	sess, err := moq.Dial(ctx, dial, opts.Session, opts.Dial)
	if err != nil {
		return nil, fmt.Errorf("player: connecting to %s: %w", dial, err)
	}
	p := Start(sess, ns, opts)
	p.owns = true
	return p, nil
}

// Start plays the broadcast with namespace ns over an existing session,
// which the player does not close.
func Start(sess *moq.Session, ns wire.Namespace, opts Options) *Player {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Nudge == 0 {
		opts.Nudge = 0.03
	}
	if opts.Nudge < 0 {
		opts.Nudge = 0
	}
	if opts.MaxHeight <= 0 {
		opts.MaxHeight = 1080
	}
	if opts.openSound == nil {
		opts.openSound = openSoundCard
	}
	p := &Player{opts: opts, log: opts.Logger, sess: sess, ns: ns, done: make(chan struct{}), volume: 1, start: time.Now()}
	if opts.Volume != nil {
		p.volume = *opts.Volume
	}
	p.ctx, p.cancel = context.WithCancelCause(sess.Context())
	p.st.s.Clock = "wall"
	p.report(Connecting, nil)
	p.wg.Add(1)
	go p.run()
	return p
}

// Stats returns the current figures.
func (p *Player) Stats() Stats {
	now := time.Now()
	s := p.st.snapshot(now)
	p.mu.Lock()
	tracks := p.tracks
	out := p.out
	p.mu.Unlock()
	for _, t := range tracks {
		if t.kind != msf.RoleVideo {
			continue
		}
		t.mu.Lock()
		js := t.buf.Stats()
		t.mu.Unlock()
		s.JitterMS = ms(js.Jitter)
		s.TargetMS = ms(js.Target)
		s.DelayMS = ms(js.Delay)
		s.Skipped = int64(js.Skipped + js.TooLate + js.Overflow)
		s.Dropped += s.Skipped
	}
	if out != nil {
		s.AudioUnderruns = int64(out.Underruns())
	}
	return s
}

// Done is closed when playback has stopped (ended, failed or closed), after
// Options.OnStatus got the final status.
func (p *Player) Done() <-chan struct{} { return p.done }

// Err reports why playback stopped: nil while playing and after Close, an
// error wrapping io.EOF when the broadcast ended.
func (p *Player) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// SetVolume sets the volume, 0 (muted) to 1.
func (p *Player) SetVolume(v float64) {
	p.mu.Lock()
	p.volume = v
	out := p.out
	p.mu.Unlock()
	if out != nil {
		out.SetVolume(v)
	}
}

// Close stops playback, waits for the player's goroutines and closes the
// session if Open made it.
func (p *Player) Close() error {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.cancel(errClosed)
	p.wg.Wait()
	p.finish(nil)
	if p.owns {
		return p.sess.Close()
	}
	return nil
}

var errClosed = errors.New("player: closed")

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (p *Player) report(s Status, err error) {
	p.mu.Lock()
	if p.stopped && s != Ended && s != Failed {
		p.mu.Unlock()
		return
	}
	p.status = s
	p.mu.Unlock()
	if p.opts.OnStatus != nil {
		p.opts.OnStatus(s, err)
	}
}

// finish records the end of playback once: the error, the final status
// (Ended or Failed, unless Close stopped it) and then Done, so that a
// caller woken by Done finds the status reported.
func (p *Player) finish(err error) {
	p.mu.Lock()
	if p.finished {
		p.mu.Unlock()
		return
	}
	p.finished = true
	stopped := p.stopped
	p.err = err
	out := p.out
	p.out = nil
	p.mu.Unlock()
	if out != nil {
		_ = out.Close()
	}
	if !stopped {
		switch {
		case errors.Is(err, io.EOF):
			p.report(Ended, nil)
		case err != nil:
			p.report(Failed, err)
		}
	}
	close(p.done)
}

// run reads the catalog, starts the tracks, and follows the catalog's
// updates until the player stops: a rendition that appears later (a
// broadcaster who turns the camera on after the microphone) is started then.
func (p *Player) run() {
	defer p.wg.Done()
	cat, feed, err := p.catalog()
	if err != nil {
		p.cancel(err)
		p.finish(err)
		return
	}
	defer feed.close()
	// A catalog with no tracks yet is a broadcast whose encoders have not
	// started: wait for the next one.
	for len(cat.Tracks) == 0 {
		p.log.Info("player: the catalog lists no tracks yet; waiting for an update")
		if cat, err = feed.next(p.ctx); err != nil {
			err = fmt.Errorf("player: catalog of %s: %w", p.ns, err)
			p.cancel(err)
			p.finish(context.Cause(p.ctx))
			return
		}
	}
	if err := p.startTracks(cat); err != nil {
		p.cancel(err)
		p.wg.Wait()
		p.finish(err)
		return
	}
	for {
		next, err := feed.next(p.ctx)
		if err != nil {
			if p.ctx.Err() == nil {
				p.log.Debug("player: catalog track ended", "err", err)
			}
			break
		}
		p.addTracks(next)
	}
	<-p.ctx.Done()
	cause := context.Cause(p.ctx)
	if errors.Is(cause, errClosed) {
		return
	}
	p.finish(cause)
}

// catalog subscribes to the broadcast's catalog tracks, MSF ("catalog")
// and hang ("catalog.json") at the same time, and returns the first complete
// catalog either gives with the feed of its updates: a relay may hold a
// subscription to a track nobody publishes instead of refusing it.
func (p *Player) catalog() (*msf.Catalog, *catalogFeed, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	type result struct {
		cat  *msf.Catalog
		feed *catalogFeed
		err  error
	}
	names := []string{msf.TrackName, hang.CatalogTrack}
	results := make(chan result, len(names))
	for _, name := range names {
		go func() {
			ftn := wire.FullTrackName{Namespace: p.ns, Name: []byte(name)}
			sub, err := p.sess.Subscribe(ctx, ftn, &moq.SubscribeOptions{JoinGroup: true})
			if err != nil {
				results <- result{err: fmt.Errorf("%s: %w", name, err)}
				return
			}
			feed := &catalogFeed{p: p, name: name, sub: sub, r: sub.Track().Reader(nil)}
			cat, err := feed.next(ctx)
			if err != nil {
				feed.close()
				results <- result{err: fmt.Errorf("%s: %w", name, err)}
				return
			}
			p.log.Info("player: catalog", "track", name, "tracks", len(cat.Tracks))
			results <- result{cat: cat, feed: feed}
		}()
	}
	var errs []error
	var won *result
	for range names {
		r := <-results
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		if won == nil {
			won = &r
			cancel() // stop the other reader
			continue
		}
		r.feed.close()
	}
	if won != nil {
		return won.cat, won.feed, nil
	}
	return nil, nil, fmt.Errorf("player: no catalog for %s: %w", p.ns, errors.Join(errs...))
}

// catalogFeed reads one catalog track: each next returns the catalog as of
// the next usable object (a full MSF catalog or one with a delta applied; a
// hang catalog.json document).
type catalogFeed struct {
	p    *Player
	name string
	sub  *moq.Subscription
	r    *moq.TrackReader
	g    *moq.GroupReader // the group being read, nil between groups
	mr   msf.Reader
}

func (f *catalogFeed) close() {
	if f.g != nil {
		f.g.Close()
	}
	f.r.Close()
	f.sub.Close()
}

// next returns the next catalog. Objects that do not parse are logged and
// skipped; after 64 groups without a usable one it gives up.
func (f *catalogFeed) next(ctx context.Context) (*msf.Catalog, error) {
	var lastErr error // why the last catalog object was refused
	for range 64 {
		if f.g == nil {
			g, err := f.r.NextGroup(ctx)
			if err != nil {
				if lastErr != nil {
					return nil, fmt.Errorf("%w (last catalog object: %w)", err, lastErr)
				}
				return nil, err
			}
			f.g = g
		}
		for range 1024 {
			o, err := f.g.ReadObject(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			cat, err := f.parse(o)
			if err != nil {
				f.p.log.Warn("player: catalog object", "track", f.name, "err", err)
				lastErr = err
				continue
			}
			if cat != nil {
				return cat, nil
			}
		}
		f.g.Close()
		f.g = nil
	}
	return nil, errors.New("player: no usable catalog object")
}

// parse reads one catalog object: a catalog, nil for an MSF object that
// completes none, or an error.
func (f *catalogFeed) parse(o moq.Object) (*msf.Catalog, error) {
	payload := o.Payload
	if kv, ok := o.Properties.Get(msf.PropertyCompression); ok && kv.Value != msf.CompressionNone {
		var err error
		if payload, err = msf.Decompress(kv.Value, payload); err != nil {
			return nil, err
		}
	}
	if f.name == hang.CatalogTrack {
		return hang.Parse(payload)
	}
	cat, _, err := f.mr.Push(o.Group, o.ID, payload)
	return cat, err
}

// startTracks picks the renditions to play and starts them.
func (p *Player) startTracks(cat *msf.Catalog) error {
	picked, reasons := p.pick(cat, nil)
	if len(picked) == 0 {
		return fmt.Errorf("player: nothing playable in the catalog: %w", errors.Join(reasons...))
	}
	for _, err := range reasons {
		p.log.Info("player: track left out", "err", err)
	}
	started, errs := p.subscribeTracks(cat, picked)
	if len(started) == 0 {
		return fmt.Errorf("player: no track could start: %w", errors.Join(append(reasons, errs...)...))
	}
	p.launch(started)
	p.wg.Add(1)
	go p.rttLoop(started[0].sub.Track().Name())
	return nil
}

// addTracks starts the renditions of a catalog update whose kind (video,
// audio) is not playing yet. A playing track is kept as it is.
func (p *Player) addTracks(cat *msf.Catalog) {
	playing := map[string]bool{}
	p.mu.Lock()
	for _, t := range p.tracks {
		playing[t.kind] = true
	}
	p.mu.Unlock()
	picked, _ := p.pick(cat, playing)
	if len(picked) == 0 {
		return
	}
	started, errs := p.subscribeTracks(cat, picked)
	for _, err := range errs {
		p.log.Warn("player: track of a catalog update", "err", err)
	}
	for _, t := range started {
		p.log.Info("player: track added by a catalog update", "track", t.ct.Name, "kind", t.kind)
	}
	p.launch(started)
}

// pick chooses a video and an audio rendition of cat, leaving out the kinds
// in skip; reasons say why a kind has none.
func (p *Player) pick(cat *msf.Catalog, skip map[string]bool) (picked []msf.Track, reasons []error) {
	if !p.opts.NoVideo && !skip[msf.RoleVideo] {
		if t, err := pickVideo(cat, p.opts.MaxHeight); err == nil {
			picked = append(picked, t)
		} else {
			reasons = append(reasons, err)
		}
	}
	if !skip[msf.RoleAudio] {
		if t, err := pickAudio(cat); err == nil {
			picked = append(picked, t)
		} else {
			reasons = append(reasons, err)
		}
	}
	return picked, reasons
}

// subscribeTracks subscribes to the picked tracks at once (each SUBSCRIBE
// and its joining FETCH is a round trip).
func (p *Player) subscribeTracks(cat *msf.Catalog, picked []msf.Track) (started []*trackPlayer, errs []error) {
	made := make([]*trackPlayer, len(picked))
	failed := make([]error, len(picked))
	var wg sync.WaitGroup
	for i, ct := range picked {
		wg.Add(1)
		go func() {
			defer wg.Done()
			made[i], failed[i] = p.newTrack(cat, ct)
		}()
	}
	wg.Wait()
	for i, t := range made {
		if failed[i] != nil {
			p.log.Warn("player: track", "name", picked[i].Name, "err", failed[i])
			errs = append(errs, failed[i])
			continue
		}
		started = append(started, t)
	}
	return started, errs
}

// launch adds started tracks to the player and runs their loops, unless the
// player has stopped.
func (p *Player) launch(started []*trackPlayer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range started {
		if p.stopped || p.ctx.Err() != nil {
			t.sub.Close()
			continue
		}
		p.tracks = append(p.tracks, t)
		p.wg.Add(2)
		go t.readLoop()
		go t.playLoop()
	}
}

// rttInterval is how often the player measures the round-trip time.
const rttInterval = 2 * time.Second

// rttLoop measures the round-trip time to the relay with a TRACK_STATUS
// request (draft-18 §9.12) for a track the relay is serving us, every
// rttInterval; the session does not expose QUIC's own estimate. The
// smallest of the last five samples feeds the real-time latency target.
func (p *Player) rttLoop(name wire.FullTrackName) {
	defer p.wg.Done()
	var samples []time.Duration
	tick := time.NewTicker(rttInterval)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(p.ctx, rttInterval)
		start := time.Now()
		_, err := p.sess.TrackStatus(ctx, name, nil)
		rtt := time.Since(start)
		cancel()
		if err == nil {
			samples = append(samples, rtt)
			if len(samples) > 5 {
				samples = samples[1:]
			}
			best := samples[0]
			for _, s := range samples {
				best = min(best, s)
			}
			p.st.update(func(s *Stats) { s.RTTMS = ms(rtt) })
			p.mu.Lock()
			tracks := p.tracks
			p.mu.Unlock()
			for _, t := range tracks {
				t.mu.Lock()
				t.buf.SetRTT(best)
				t.mu.Unlock()
			}
		} else if p.ctx.Err() == nil {
			p.log.Debug("player: RTT probe", "err", err)
		}
		select {
		case <-p.ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// pickVideo picks the decodable video rendition with the largest height not
// above maxHeight (the smallest if all are above).
func pickVideo(cat *msf.Catalog, maxHeight int) (msf.Track, error) {
	var best msf.Track
	found := false
	var codecs []string
	for _, t := range cat.TracksOf(msf.RoleVideo) {
		if !playable(t) {
			codecs = append(codecs, t.Codec)
			continue
		}
		switch {
		case !found:
			best, found = t, true
		case t.Height <= maxHeight && (best.Height > maxHeight || t.Height > best.Height):
			best = t
		case best.Height > maxHeight && t.Height < best.Height:
			best = t
		}
	}
	if !found {
		return best, fmt.Errorf("player: no decodable video track (codecs %q): %w", codecs, decode.ErrUnsupported)
	}
	return best, nil
}

func pickAudio(cat *msf.Catalog) (msf.Track, error) {
	var codecs []string
	for _, t := range cat.TracksOf(msf.RoleAudio) {
		if playable(t) {
			return t, nil
		}
		codecs = append(codecs, t.Codec)
	}
	return msf.Track{}, fmt.Errorf("player: no decodable audio track (codecs %q): %w", codecs, decode.ErrUnsupported)
}

// playable reports whether the player can decode and unpack a track.
func playable(t msf.Track) bool {
	switch t.Packaging {
	case "", msf.PackagingLOC, msf.PackagingHangLegacy, msf.PackagingHangLOC:
	default:
		return false
	}
	switch decode.Family(t.Codec) {
	case "h264", "hevc", "vp8", "vp9", "av1":
		return t.Kind() == msf.RoleVideo
	case "aac", "opus":
		return t.Kind() == msf.RoleAudio
	}
	return false
}

// masterClock is the clock video is presented against: the sound card's
// when audio plays, else the video track's own playout clock.
func (p *Player) masterClock(now time.Time, video *trackPlayer) (time.Duration, string) {
	p.mu.Lock()
	out := p.out
	p.mu.Unlock()
	if out != nil {
		if c, ok := out.Clock(now); ok {
			return c, "audio"
		}
	}
	video.mu.Lock()
	defer video.mu.Unlock()
	return video.buf.MediaNow(now), "wall"
}

// syncTransit gives every track's jitter buffer the largest transit time of
// all, so their playout clocks agree.
func (p *Player) syncTransit() {
	p.mu.Lock()
	tracks := p.tracks
	p.mu.Unlock()
	var floor time.Duration
	have := false
	for _, t := range tracks {
		t.mu.Lock()
		if d, ok := t.buf.Transit(); ok && (!have || d > floor) {
			floor, have = d, true
		}
		t.mu.Unlock()
	}
	if !have {
		return
	}
	for _, t := range tracks {
		t.mu.Lock()
		t.buf.SetTransitFloor(floor)
		t.mu.Unlock()
	}
}

// audioPlayout returns the audio track's playout clock while that track
// plays; false when there is no audio track, it ended or has not started.
func (p *Player) audioPlayout() (jitter.Clock, bool) {
	p.mu.Lock()
	tracks := p.tracks
	p.mu.Unlock()
	for _, t := range tracks {
		if t.kind != msf.RoleAudio {
			continue
		}
		t.mu.Lock()
		c, ok := t.buf.Clock()
		ended := t.ended && t.buf.Len() == 0
		t.mu.Unlock()
		return c, ok && !ended
	}
	return jitter.Clock{}, false
}

// trackEnded notes that a track ended; when all have, so has the broadcast.
func (p *Player) trackEnded() {
	p.mu.Lock()
	p.ended++
	all := p.ended >= len(p.tracks)
	p.mu.Unlock()
	if all {
		p.cancel(fmt.Errorf("player: broadcast ended: %w", io.EOF))
	}
}

// openAudio opens the sound card once, on the first audio frame. A card
// that could not be opened or was lost is not tried again: p.soundErr says
// so, under p.mu like p.out, and changes with it (Stats.AudioError, under
// the stats' own lock, only reports it).
func (p *Player) openAudio() sound {
	p.mu.Lock()
	if p.out != nil || p.opts.NoAudio || p.stopped || p.soundErr != nil {
		out := p.out
		p.mu.Unlock()
		return out
	}
	p.mu.Unlock()
	out, err := p.opts.openSound(p.soundLost)
	if err != nil {
		p.mu.Lock()
		p.soundErr = err
		p.mu.Unlock()
		p.st.update(func(s *Stats) { s.AudioError = err.Error() })
		p.log.Warn("player: no sound; video runs on the wall clock", "err", err)
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		_ = out.Close()
		return nil
	}
	if p.soundErr != nil {
		return nil // lost before it was installed: soundLost reported it
	}
	out.SetVolume(p.volume)
	p.out = out
	p.st.update(func(s *Stats) { s.Clock = "audio" })
	return out
}

// soundLost is the sound card's error callback (called from another
// goroutine): video goes on against the wall clock.
func (p *Player) soundLost(err error) {
	p.mu.Lock()
	p.out = nil
	p.soundErr = err
	p.mu.Unlock()
	p.st.update(func(s *Stats) { s.AudioError = err.Error(); s.Clock = "wall" })
	p.log.Warn("player: sound device lost; video continues on the wall clock", "err", err)
	p.report(Playing, err)
}
