package player

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/hang"
	"github.com/tributary-live/tributary/moq/loc"
	"github.com/tributary-live/tributary/moq/msf"
	"github.com/tributary-live/tributary/moq/wire"
	"github.com/tributary-live/tributary/player/decode"
	"github.com/tributary-live/tributary/player/jitter"
)

// Limits of the track readers.
const (
	// maxGroupReaders is how many groups are read at once: a stalled old
	// group must not hold up a new one.
	maxGroupReaders = 3
	// lateVideo is how far behind the master clock a decoded picture may be
	// and still be shown when a newer one is due.
	lateVideo = 50 * time.Millisecond
	// tooLateVideo is how far behind the master clock a picture is never
	// shown (but the first): it is a catch-up's, or from before a network
	// hold-up, and a live one follows.
	tooLateVideo = 150 * time.Millisecond
	// maxVideoWait bounds the wait of a picture ahead of the master clock;
	// beyond it the clocks disagree and the picture is shown at once.
	maxVideoWait = 500 * time.Millisecond
	// stallAfter is how long without a presented frame counts as a stall.
	stallAfter = 250 * time.Millisecond
)

// trackPlayer plays one track: readLoop feeds the jitter buffer from the
// network, playLoop pops, decodes and presents.
type trackPlayer struct {
	p    *Player
	ct   msf.Track
	kind string
	sub  *moq.Subscription

	mu     sync.Mutex
	buf    *jitter.Buffer
	config []byte // codec description (catalog init data or LOC config property)
	wake   chan struct{}
	ended  bool

	joinSet   bool // the jitter buffer knows the join point
	shownAny  bool // a picture was shown: the first one is shown even if late (join at once)
	shownLive bool // a picture published after the join point was shown
}

func (p *Player) newTrack(cat *msf.Catalog, ct msf.Track) (*trackPlayer, error) {
	desc, err := cat.InitData(&ct)
	if err != nil {
		p.log.Warn("player: track init data", "track", ct.Name, "err", err)
	}
	t := &trackPlayer{p: p, ct: ct, kind: ct.Kind(), config: desc, wake: make(chan struct{}, 1)}
	t.buf = jitter.New(jitter.Config{Target: p.opts.Latency, Nudge: p.opts.Nudge, NeedKeyframe: t.kind == msf.RoleVideo})
	ns := p.ns
	if ct.Namespace != "" {
		if n, err := wire.ParseNamespaceString(ct.Namespace); err == nil {
			ns = n
		}
	}
	ftn := wire.FullTrackName{Namespace: ns, Name: []byte(ct.Name)}
	sub, err := p.sess.Subscribe(p.ctx, ftn, &moq.SubscribeOptions{JoinGroup: true})
	if err != nil {
		return nil, fmt.Errorf("player: subscribing to %s: %w", ct.Name, err)
	}
	t.sub = sub
	if l, ok := sub.Largest(); ok {
		// Objects up to the join point come from the relay's cache: the
		// joined group's catch-up.
		t.buf.SetJoin(l.Group, l.Object)
		t.joinSet = true
	}
	return t, nil
}

func (t *trackPlayer) signal() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// readLoop reads groups as they come, each on its own goroutine, and
// pushes their objects into the jitter buffer.
func (t *trackPlayer) readLoop() {
	p := t.p
	defer p.wg.Done()
	defer t.sub.Close()
	r := t.sub.Track().Reader(nil)
	defer r.Close()
	var groups []context.CancelFunc
	var gwg sync.WaitGroup
	defer func() {
		for _, c := range groups {
			c()
		}
		gwg.Wait()
	}()
	for {
		g, err := r.NextGroup(p.ctx)
		if err != nil {
			if p.ctx.Err() == nil {
				if !errors.Is(err, io.EOF) {
					p.log.Warn("player: track ended with an error", "track", t.ct.Name, "err", err)
				}
				gwg.Wait()
				t.mu.Lock()
				t.ended = true
				t.mu.Unlock()
				t.signal()
			}
			return
		}
		if len(groups) == maxGroupReaders {
			groups[0]()
			groups = groups[1:]
		}
		ctx, cancel := context.WithCancel(p.ctx)
		groups = append(groups, cancel)
		gwg.Add(1)
		go func() {
			defer gwg.Done()
			defer cancel()
			t.readGroup(ctx, g)
		}()
	}
}

func (t *trackPlayer) readGroup(ctx context.Context, g *moq.GroupReader) {
	defer g.Close()
	for range 1 << 16 {
		o, err := g.ReadObject(ctx)
		if err != nil {
			return
		}
		if len(o.Payload) == 0 {
			continue
		}
		now := time.Now()
		t.p.st.received(now, len(o.Payload))
		f, err := t.unpack(o, now)
		if err != nil {
			t.p.log.Debug("player: object skipped", "track", t.ct.Name, "group", o.Group, "object", o.ID, "err", err)
			t.p.st.update(func(s *Stats) {
				if t.kind == msf.RoleVideo {
					s.Dropped++
				}
			})
			continue
		}
		t.mu.Lock()
		if !t.joinSet {
			// SUBSCRIBE_OK did not say where the publisher was (a relay
			// that did not carry the track yet): the first object is the
			// join picture, shown at once; the catch-up after it is told
			// from live frames by its transit (player/jitter).
			t.buf.SetJoin(f.Group, f.Object)
			t.joinSet = true
		}
		perr := t.buf.Push(f, now)
		t.mu.Unlock()
		if perr != nil {
			t.p.log.Debug("player: frame dropped", "track", t.ct.Name, "group", f.Group, "object", f.Object, "err", perr)
		}
		t.signal()
	}
}

// unpack turns an object into a jitter-buffer frame according to the
// track's packaging: LOC (properties on the object, draft-ietf-moq-loc
// section 2.3), hang legacy (varint timestamp prefix) or hang LOC (in-band
// properties, draft-lcurley-moq-hang section 5).
func (t *trackPlayer) unpack(o moq.Object, now time.Time) (jitter.Frame, error) {
	f := jitter.Frame{Group: o.Group, Object: o.ID, Keyframe: o.ID == 0 || t.kind == msf.RoleAudio}
	var props loc.Properties
	var err error
	payload := o.Payload
	switch t.ct.Packaging {
	case msf.PackagingHangLegacy:
		ts, pl, err := hang.ParseLegacyFrame(payload)
		if err != nil {
			return f, err
		}
		f.Timestamp = time.Duration(ts) * time.Microsecond
		f.Payload = pl
		return f, nil
	case msf.PackagingHangLOC:
		props, payload, err = loc.ParseFrame(payload)
	default:
		props, err = loc.FromWire(o.Properties)
	}
	if err != nil {
		return f, err
	}
	f.Payload = payload
	switch {
	case props.HasTimestamp && props.Timescale > 0:
		f.Timestamp = time.Duration(float64(props.Timestamp) / float64(props.Timescale) * float64(time.Second))
	case props.HasTimestamp:
		f.Timestamp = time.Duration(props.Timestamp) * time.Microsecond
	default:
		f.Timestamp = time.Duration(now.UnixMicro()) * time.Microsecond
	}
	if props.FrameMarking != nil {
		f.Keyframe = props.Keyframe() || t.kind == msf.RoleAudio
	}
	if c := props.VideoConfig; c != nil && t.kind == msf.RoleVideo {
		t.setConfig(c)
	}
	if c := props.AudioConfig; c != nil && t.kind == msf.RoleAudio {
		t.setConfig(c)
	}
	return f, nil
}

func (t *trackPlayer) setConfig(c []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !bytes.Equal(c, t.config) {
		t.config = bytes.Clone(c)
	}
}

// playLoop pops due frames, decodes them and presents them.
func (t *trackPlayer) playLoop() {
	p := t.p
	defer p.wg.Done()
	var vdec decode.VideoDecoder
	var adec decode.AudioDecoder
	var decConfig []byte
	badConfig := false
	defer func() {
		if vdec != nil {
			vdec.Close()
		}
		if adec != nil {
			adec.Close()
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	lastShown := time.Time{}
	waitKey := false
	for {
		p.syncTransit()
		// Video releases frames on the audio track's playout clock, so both
		// tracks come out of their buffers together.
		var master jitter.Clock
		follow := false
		if t.kind == msf.RoleVideo {
			master, follow = p.audioPlayout()
		}
		now := time.Now()
		t.mu.Lock()
		if follow {
			t.buf.Follow(master)
		} else {
			t.buf.Unfollow()
		}
		f, ok := t.buf.Pop(now)
		next, have := t.buf.NextDue(now)
		ended := t.ended && t.buf.Len() == 0
		config := t.config
		t.mu.Unlock()
		if !ok && ended {
			p.trackEnded()
			return
		}
		if !ok {
			wait := 100 * time.Millisecond
			if have {
				wait = min(max(next.Sub(now), 0), wait)
			}
			if t.kind == msf.RoleVideo && !lastShown.IsZero() {
				t.checkStall(now, lastShown)
			}
			timer.Reset(wait)
			select {
			case <-p.ctx.Done():
				return
			case <-t.wake:
			case <-timer.C:
			}
			continue
		}
		// (Re)open the decoder when the codec configuration changes.
		if badConfig && bytes.Equal(config, decConfig) {
			// Still the configuration the decoder refused: skip the frame.
			p.st.update(func(s *Stats) { s.DecodeErrors++ })
			continue
		}
		if (vdec == nil && adec == nil) || !bytes.Equal(config, decConfig) {
			badConfig = false
			if vdec != nil {
				vdec.Close()
				vdec = nil
			}
			if adec != nil {
				adec.Close()
				adec = nil
			}
			var err error
			if t.kind == msf.RoleVideo {
				vdec, err = decode.NewVideo(t.ct.Codec, config)
				if err == nil {
					p.st.update(func(s *Stats) { s.VideoCodec = vdec.Codec() })
				}
			} else {
				adec, err = decode.NewAudio(t.ct.Codec, config, t.ct.SampleRate, t.ct.Channels())
				if err == nil {
					p.st.update(func(s *Stats) { s.AudioCodec = adec.Codec() })
				}
			}
			decConfig = config
			if err != nil {
				if errors.Is(err, decode.ErrBadConfig) {
					// Wait for a better configuration from a later object.
					p.log.Warn("player: decoder configuration", "track", t.ct.Name, "err", err)
					badConfig = true
					continue
				}
				p.log.Warn("player: cannot decode track", "track", t.ct.Name, "err", err)
				t.sub.Close()
				p.trackEnded()
				return
			}
		}
		if t.kind == msf.RoleVideo {
			if waitKey && !f.Keyframe {
				p.st.update(func(s *Stats) { s.Dropped++ })
				continue
			}
			waitKey = false
			shown, err := t.presentVideo(vdec, f)
			if err != nil {
				// Skip to the next keyframe: what follows a broken frame refers to it.
				waitKey = true
				p.st.update(func(s *Stats) { s.DecodeErrors++; s.Dropped++ })
				p.log.Debug("player: video frame", "group", f.Group, "object", f.Object, "err", err)
			}
			if shown && t.shownLive {
				// Stalls are counted from the first live picture on: the
				// wait between the join picture and it is the join's
				// catch-up (Stats.LiveMS).
				lastShown = time.Now()
			}
		} else {
			t.playAudio(adec, f)
		}
	}
}

// checkStall counts a stall when no picture was shown for stallAfter.
func (t *trackPlayer) checkStall(now, lastShown time.Time) {
	stalled := now.Sub(lastShown) > stallAfter
	t.p.st.mu.Lock()
	if stalled && !t.p.st.stalled {
		t.p.st.s.Stalls++
	}
	t.p.st.stalled = stalled
	t.p.st.mu.Unlock()
}

// presentVideo decodes a frame and shows it when the master clock reaches
// its timestamp; late pictures are decoded (later ones need them) but not
// shown. Of the joined group's cached frames that are late, only the first
// (the join picture) is shown, at once: the rest are decoded as the
// catch-up and never shown late, so playback resumes at the live frames.
func (t *trackPlayer) presentVideo(dec decode.VideoDecoder, f jitter.Frame) (bool, error) {
	p := t.p
	start := time.Now()
	frames, err := dec.Decode(f.Payload, f.Timestamp)
	took := ms(time.Since(start))
	p.st.update(func(s *Stats) {
		if s.DecodeMS == 0 {
			s.DecodeMS = took
		} else {
			s.DecodeMS += (took - s.DecodeMS) / 16
		}
	})
	shown := false
	for _, vf := range frames {
		if f.CatchUp && t.shownAny {
			p.st.update(func(s *Stats) { s.Late++; s.Dropped++ })
			continue
		}
		clock, src := p.masterClock(time.Now(), t)
		if d := vf.Timestamp - clock; d > 0 && !f.CatchUp {
			wait := min(d, maxVideoWait)
			timer := time.NewTimer(wait)
			select {
			case <-p.ctx.Done():
				timer.Stop()
				return shown, err
			case <-timer.C:
			}
			clock, src = p.masterClock(time.Now(), t)
		}
		now := time.Now()
		if t.shownAny && vf.Timestamp < clock-lateVideo && (f.Cached || vf.Timestamp < clock-tooLateVideo || t.nextDue(now)) {
			// Behind by more than a frame: show the newer one instead (a
			// cached one or a very late one never: newer live ones are on
			// their way).
			p.st.update(func(s *Stats) { s.Late++; s.Dropped++ })
			continue
		}
		live := !f.Cached && !t.shownLive
		t.shownLive = t.shownLive || !f.Cached
		b := vf.Image.Bounds()
		p.st.update(func(s *Stats) {
			s.Frames++
			s.Width, s.Height = b.Dx(), b.Dy()
			s.Clock = src
			if !f.CatchUp {
				s.AVOffsetMS = ms(vf.Timestamp - clock)
			}
			if s.Frames == 1 {
				s.JoinMS = ms(now.Sub(p.start))
			}
			if live {
				s.LiveMS = ms(now.Sub(p.start))
			}
		})
		p.st.mu.Lock()
		p.st.stalled = false
		p.st.mu.Unlock()
		// Glass-to-glass: the LOC timestamp is the capture time in wall-clock µs.
		if capture := time.UnixMicro(int64(vf.Timestamp / time.Microsecond)); plausibleWallClock(capture, now) {
			p.st.latency(ms(now.Sub(capture)))
		}
		t.shownAny = true
		if !shown {
			shown = true
			p.mu.Lock()
			first := p.status != Playing
			p.mu.Unlock()
			if first {
				p.report(Playing, nil)
			}
		}
		if p.opts.OnVideo != nil {
			p.opts.OnVideo(VideoFrame{Image: vf.Image, Timestamp: vf.Timestamp, Presented: now, Group: f.Group, Object: f.Object})
		}
	}
	return shown, err
}

// nextDue reports whether the jitter buffer holds a frame that is due now.
func (t *trackPlayer) nextDue(now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.buf.NextDue(now)
	return ok && !at.After(now)
}

// plausibleWallClock reports whether a timestamp is a wall-clock capture
// time (within a day of now) rather than a stream-relative one.
func plausibleWallClock(capture, now time.Time) bool {
	d := now.Sub(capture)
	return d > -24*time.Hour && d < 24*time.Hour
}

// playAudio decodes an audio frame and queues it on the sound card; frames
// past their time are dropped, since late sound only adds delay.
func (t *trackPlayer) playAudio(dec decode.AudioDecoder, f jitter.Frame) {
	p := t.p
	frames, err := dec.Decode(f.Payload, f.Timestamp)
	if err != nil {
		p.st.update(func(s *Stats) { s.DecodeErrors++ })
		p.log.Debug("player: audio frame", "group", f.Group, "object", f.Object, "err", err)
	}
	if len(frames) == 0 {
		return
	}
	out := p.openAudio()
	for _, a := range frames {
		if p.opts.OnAudio != nil {
			p.opts.OnAudio(a)
		}
		p.st.update(func(s *Stats) { s.AudioFrames++ })
		if out == nil {
			continue
		}
		if f.Late > 100*time.Millisecond || f.CatchUp {
			continue
		}
		// While the buffer nudges its rate, the sound is resampled to match
		// (a pitch change of a few percent), or the device's queue would
		// grow or run dry instead of the delay changing.
		t.mu.Lock()
		rate := t.buf.Rate()
		t.mu.Unlock()
		inRate := a.SampleRate
		if rate != 1 {
			inRate = int(float64(a.SampleRate) * rate)
		}
		if err := out.Write(a.Samples, inRate, a.Channels, a.Timestamp); err != nil {
			p.log.Debug("player: audio write", "err", err)
		}
	}
	if out == nil {
		p.mu.Lock()
		first := p.status != Playing && (p.opts.NoVideo || len(p.tracks) == 1)
		p.mu.Unlock()
		if first {
			p.report(Playing, nil)
		}
	}
}
