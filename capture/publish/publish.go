// Package publish is the streamer's side of Tributary: it encodes a video and
// an audio source, packages each frame with LOC (draft-ietf-moq-loc) and
// writes an MSF catalog (draft-ietf-moq-msf) plus a video and an audio track
// into moq tracks, which any number of MoQ sessions then serve: to relays that
// take PUBLISH_NAMESPACE and then SUBSCRIBE, and to relays and servers that
// accept only PUBLISH. The tracks outlive sessions, so a relay reconnect does
// not restart capture or encoding.
//
// Start is the whole of it for a caller: it opens the sources (Sources),
// runs the Publisher, keeps it connected to one relay, and returns the
// Broadcast once the relay has taken it. StartConfig.RegisterFlags gives
// a command line its flags.
//
// See docs/MEDIA.md, "Capture and packaging".
package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/loc"
	"github.com/tributary-live/tributary/moq/msf"
	"github.com/tributary-live/tributary/moq/wire"
)

// Track names of a broadcast.
const (
	CatalogTrack = msf.TrackName
	VideoTrack   = "video"
	AudioTrack   = "audio"
)

// Mode chooses how a session offers the broadcast to its peer.
type Mode int

// Modes.
const (
	// ModeAuto sends PUBLISH_NAMESPACE and falls back to PUBLISH of every
	// track when the peer refuses it.
	ModeAuto Mode = iota
	// ModeNamespace sends PUBLISH_NAMESPACE and serves SUBSCRIBEs (draft-18 §6.2).
	ModeNamespace
	// ModePublish pushes every track with PUBLISH (draft-18 §10.10).
	ModePublish
)

// ParseMode parses "auto", "namespace" or "publish".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "auto":
		return ModeAuto, nil
	case "namespace":
		return ModeNamespace, nil
	case "publish":
		return ModePublish, nil
	}
	return 0, fmt.Errorf("publish: unknown mode %q (auto, namespace, publish)", s)
}

// String names the mode as ParseMode reads it.
func (m Mode) String() string {
	switch m {
	case ModeNamespace:
		return "namespace"
	case ModePublish:
		return "publish"
	}
	return "auto"
}

// MarshalText names the mode as ParseMode reads it (for flag.TextVar).
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses the mode with ParseMode.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err == nil {
		*m = v
	}
	return err
}

// Config configures a Publisher.
type Config struct {
	// Namespace is the broadcast's track namespace.
	Namespace wire.Namespace
	// Video and Audio are the sources; either may be nil.
	Video capture.VideoSource
	Audio capture.AudioSource
	// VideoCodec is capture.H264 (default) or capture.VP8.
	VideoCodec capture.Codec
	// VideoBitrate is the starting and highest video bitrate (bits/s);
	// MinVideoBitrate the floor of adaptation (default a tenth of it).
	VideoBitrate, MinVideoBitrate int
	// AudioBitrate is the Opus bitrate (default 64 kbit/s).
	AudioBitrate int
	// KeyframeInterval is the GOP, and so group, length in frames (default 2 s).
	KeyframeInterval int
	// Adapt lowers the video bitrate when a session cannot keep up.
	Adapt bool
	// Logger receives progress; nil uses slog.Default.
	Logger *slog.Logger
}

// Stats are counters of a running publisher.
type Stats struct {
	VideoFrames, AudioFrames uint64
	VideoBytes, AudioBytes   uint64
	VideoGroups              uint64
	VideoBitrate             int
	Sessions                 int // sessions opened so far
}

// Publisher encodes, packages and holds the broadcast's tracks.
type Publisher struct {
	cfg Config
	log *slog.Logger

	catalog, video, audio    *moq.Track
	catalogW, videoW, audioW *moq.TrackWriter

	ready   chan struct{} // closed once the catalog is written
	onAir   chan struct{} // closed once a relay first accepted the broadcast
	airOnce sync.Once
	done    chan struct{} // closed when Run has ended
	running atomic.Bool

	mu         sync.Mutex
	cat        *msf.Catalog
	catGroup   *moq.GroupWriter // the open catalog group, for delta updates
	catGroupID uint64
	catObjects int
	venc       *capture.VideoEncoder
	stats      Stats
	sessions   []*moq.Session
	adapter    *capture.Adapter
}

// New prepares a publisher; Run starts capture.
func New(cfg Config) (*Publisher, error) {
	if len(cfg.Namespace) == 0 {
		return nil, errors.New("publish: no namespace")
	}
	if cfg.Video == nil && cfg.Audio == nil {
		return nil, errors.New("publish: no source")
	}
	if cfg.VideoCodec == "" {
		cfg.VideoCodec = capture.H264
	}
	if cfg.VideoBitrate == 0 {
		cfg.VideoBitrate = 2_500_000
	}
	if cfg.MinVideoBitrate == 0 {
		cfg.MinVideoBitrate = max(cfg.VideoBitrate/10, 50_000)
	}
	if cfg.AudioBitrate == 0 {
		cfg.AudioBitrate = 64_000
	}
	p := &Publisher{cfg: cfg, log: cfg.Logger, ready: make(chan struct{}), onAir: make(chan struct{}), done: make(chan struct{})}
	if p.log == nil {
		p.log = slog.Default()
	}
	name := func(n string) wire.FullTrackName {
		return wire.FullTrackName{Namespace: cfg.Namespace, Name: []byte(n)}
	}
	// MSF §5: the catalog track has a higher publisher priority (lower value)
	// than the media; audio before video.
	p.catalog, p.catalogW = moq.NewTrack(name(CatalogTrack), &moq.TrackConfig{MaxGroups: 1, Priority: 0})
	if cfg.Video != nil {
		p.video, p.videoW = moq.NewTrack(name(VideoTrack), &moq.TrackConfig{MaxGroups: 2, Priority: 128})
	}
	if cfg.Audio != nil {
		// One Opus packet per group (draft-ietf-moq-loc §4.1): keep a second.
		p.audio, p.audioW = moq.NewTrack(name(AudioTrack), &moq.TrackConfig{MaxGroups: 50, Priority: 64})
	}
	p.adapter = &capture.Adapter{Min: cfg.MinVideoBitrate, Max: cfg.VideoBitrate}
	return p, nil
}

// Tracks returns the broadcast's tracks: catalog first, then video and audio when present.
func (p *Publisher) Tracks() []*moq.Track {
	ts := []*moq.Track{p.catalog}
	if p.video != nil {
		ts = append(ts, p.video)
	}
	if p.audio != nil {
		ts = append(ts, p.audio)
	}
	return ts
}

// Track resolves a request for one of the broadcast's tracks; use it as (or
// from) a moq.Config's Tracks so that SUBSCRIBE, FETCH and TRACK_STATUS work.
func (p *Publisher) Track(ctx context.Context, s *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
	if req.Name.Namespace.Equal(p.cfg.Namespace) {
		for _, t := range p.Tracks() {
			if string(t.Name().Name) == string(req.Name.Name) {
				return t, nil
			}
		}
	}
	return nil, &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: "no such track"}
}

// Ready is closed once the catalog has been written (after the first encoded
// video frame, whose parameter sets give the codec string).
func (p *Publisher) Ready() <-chan struct{} { return p.ready }

// OnAir is closed once a session has first offered the broadcast and the
// relay accepted it (PUBLISH_NAMESPACE or every PUBLISH answered): from then
// on viewers of that relay can subscribe.
func (p *Publisher) OnAir() <-chan struct{} { return p.onAir }

// Done is closed when Run has ended.
func (p *Publisher) Done() <-chan struct{} { return p.done }

// Catalog returns the current catalog, nil before Ready.
func (p *Publisher) Catalog() *msf.Catalog {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cat
}

// Stats returns the publisher's counters.
func (p *Publisher) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	if p.venc != nil {
		s.VideoBitrate = p.venc.Bitrate()
	}
	return s
}

// SetVideoBitrate sets the video target bitrate, e.g. when the connection
// cannot keep up; it takes effect from the next frame.
func (p *Publisher) SetVideoBitrate(bps int) error {
	p.mu.Lock()
	enc := p.venc
	p.mu.Unlock()
	if enc == nil {
		return errors.New("publish: no video encoder running")
	}
	if err := enc.SetBitrate(bps); err != nil {
		return err
	}
	// The catalog's bitrate is the track's maximum (draft-ietf-moq-msf
	// §5.2.22): tell subscribers with a delta update.
	return p.updateCatalog(map[string]any{"name": VideoTrack, "bitrate": bps})
}

// maxCatalogDeltas is how many delta updates follow an independent catalog
// before the next change starts a new group with a full one (MSF §5.3: bound
// the delta processing of joining subscribers).
const maxCatalogDeltas = 16

// updateCatalog applies an "update" delta to one track of the catalog and
// publishes it: as the next object of the current catalog group, or, after
// maxCatalogDeltas of them, as a new group holding the whole catalog.
func (p *Publisher) updateCatalog(fields map[string]any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cat == nil || p.catGroup == nil {
		return nil // the catalog, written later, reads the encoder's bitrate
	}
	op, err := msf.NewOp(msf.OpUpdate, fields)
	if err != nil {
		return err
	}
	d := &msf.Delta{GeneratedAt: time.Now().UnixMilli(), Ops: []msf.Op{op}}
	next, err := msf.Apply(p.cat, d)
	if err != nil {
		return fmt.Errorf("publish: catalog update: %w", err)
	}
	if p.catObjects > maxCatalogDeltas {
		b, err := next.Marshal()
		if err != nil {
			return err
		}
		return p.newCatalogGroupLocked(next, b)
	}
	b, err := d.Marshal()
	if err != nil {
		return err
	}
	if err := p.catGroup.WriteObject(b, nil); err != nil {
		return fmt.Errorf("publish: catalog delta: %w", err)
	}
	p.catObjects++
	p.cat = next
	return nil
}

// newCatalogGroupLocked closes the current catalog group and writes cat
// (encoded as b) as object 0 of a new one (MSF §5). p.mu is held.
func (p *Publisher) newCatalogGroupLocked(cat *msf.Catalog, b []byte) error {
	if p.catGroup != nil {
		p.catGroup.Close()
	}
	id := max(uint64(time.Now().UnixMilli()), p.catGroupID+1)
	g, err := p.catalogW.CreateGroup(id)
	if err != nil {
		return fmt.Errorf("publish: catalog group: %w", err)
	}
	if err := g.WriteObject(b, nil); err != nil {
		return fmt.Errorf("publish: catalog: %w", err)
	}
	p.cat, p.catGroup, p.catGroupID, p.catObjects = cat, g, id, 1
	return nil
}

// Run captures, encodes and writes the tracks until ctx ends or a source
// fails; then it ends the tracks and closes the sources.
//
// Run may be called once.
func (p *Publisher) Run(ctx context.Context) (err error) {
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("publish: Run called twice")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer func() {
		// However Run ends, the sources stop and the tracks end, so that
		// sessions and readers finish too.
		defer close(p.done)
		if p.cfg.Video != nil {
			p.cfg.Video.Close()
		}
		if p.cfg.Audio != nil {
			p.cfg.Audio.Close()
		}
		p.mu.Lock()
		if p.catGroup != nil {
			p.catGroup.Close()
			p.catGroup = nil
		}
		p.mu.Unlock()
		for _, w := range []*moq.TrackWriter{p.videoW, p.audioW, p.catalogW} {
			if w != nil {
				w.Close(err)
			}
		}
	}()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	var (
		venc *capture.VideoEncoder
		aenc *capture.AudioEncoder
	)
	if p.cfg.Video != nil {
		w, h, fps := p.cfg.Video.Size()
		var err error
		venc, err = capture.NewVideoEncoder(capture.VideoConfig{Codec: p.cfg.VideoCodec, Width: w, Height: h, FrameRate: fps,
			Bitrate: p.cfg.VideoBitrate, KeyframeInterval: p.cfg.KeyframeInterval})
		if err != nil {
			return err
		}
		defer venc.Close()
		p.mu.Lock()
		p.venc = venc
		p.mu.Unlock()
	}
	if p.cfg.Audio != nil {
		sr, ch, _ := p.cfg.Audio.Format()
		var err error
		aenc, err = capture.NewAudioEncoder(capture.AudioConfig{SampleRate: sr, Channels: ch, Bitrate: p.cfg.AudioBitrate})
		if err != nil {
			return err
		}
		defer aenc.Close()
	}
	if venc == nil {
		if err := p.writeCatalog(nil, aenc); err != nil {
			return err
		}
	}
	if venc != nil {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- p.videoLoop(ctx, venc, aenc) }()
	}
	if aenc != nil {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- p.audioLoop(ctx, aenc) }()
	}
	if p.cfg.Adapt && venc != nil {
		wg.Add(1)
		go func() { defer wg.Done(); p.adaptLoop(ctx, venc) }()
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errs:
	}
	cancel(first)
	// Sources unblock their Reads when closed.
	if p.cfg.Video != nil {
		p.cfg.Video.Close()
	}
	if p.cfg.Audio != nil {
		p.cfg.Audio.Close()
	}
	wg.Wait()
	if first != nil && !errors.Is(first, capture.ErrClosed) {
		return first
	}
	return nil
}

// writeCatalog writes the independent catalog as object 0 of a new catalog
// group (draft-ietf-moq-msf §5) and marks the publisher ready.
func (p *Publisher) writeCatalog(venc *capture.VideoEncoder, aenc *capture.AudioEncoder) error {
	// Built under p.mu, so that a concurrent SetVideoBitrate either shows in
	// the encoder's bitrate read here or follows as a delta update.
	p.mu.Lock()
	defer p.mu.Unlock()
	cat := &msf.Catalog{Version: msf.Version, GeneratedAt: time.Now().UnixMilli(), Tracks: []msf.Track{}}
	if venc != nil {
		c := venc.Config()
		gop := int64(float64(c.KeyframeInterval) / c.FrameRate * 1000)
		cat.Tracks = append(cat.Tracks, msf.Track{
			Name: VideoTrack, Packaging: msf.PackagingLOC, Role: msf.RoleVideo, IsLive: true,
			RenderGroup: 1, Codec: venc.CodecString(), Width: c.Width, Height: c.Height, Framerate: c.FrameRate,
			Bitrate: int64(venc.Bitrate()), MaxGOPDuration: gop, MaxGroupDuration: gop,
		})
	}
	if aenc != nil {
		c := aenc.Config()
		cat.Tracks = append(cat.Tracks, msf.Track{
			Name: AudioTrack, Packaging: msf.PackagingLOC, Role: msf.RoleAudio, IsLive: true,
			RenderGroup: 1, Codec: "opus", SampleRate: c.SampleRate, ChannelConfig: fmt.Sprint(c.Channels),
			Bitrate: int64(c.Bitrate), MaxGroupDuration: c.FrameDuration.Milliseconds(),
		})
	}
	b, err := cat.Marshal()
	if err != nil {
		return err
	}
	// The group stays open for delta updates.
	if err := p.newCatalogGroupLocked(cat, b); err != nil {
		return err
	}
	close(p.ready)
	p.log.Info("publish: catalog written", "tracks", len(cat.Tracks))
	return nil
}

// videoLoop reads, encodes and writes video: a new group at every keyframe
// (draft-ietf-moq-msf §4.1, draft-ietf-moq-loc §4.2), one object per frame
// carrying the LOC timestamp and frame marking as object properties.
func (p *Publisher) videoLoop(ctx context.Context, enc *capture.VideoEncoder, aenc *capture.AudioEncoder) error {
	var g *moq.GroupWriter
	defer func() {
		if g != nil {
			g.Close()
		}
	}()
	// MSF §6.1: start group IDs above any a previous run used.
	nextGroup := uint64(time.Now().UnixMilli())
	for ctx.Err() == nil {
		f, release, err := p.cfg.Video.Read()
		if err != nil {
			return fmt.Errorf("publish: video source: %w", err)
		}
		au, err := enc.Encode(f.Image, f.Captured)
		release()
		if err != nil {
			return err
		}
		if len(au.Data) == 0 {
			continue
		}
		if p.Catalog() == nil {
			if !au.Keyframe {
				continue
			}
			if err := p.writeCatalog(enc, aenc); err != nil {
				return err
			}
		}
		if au.Keyframe || g == nil {
			if !au.Keyframe {
				continue // a group must start with a keyframe
			}
			if g != nil {
				g.Close()
			}
			if g, err = p.videoW.CreateGroup(nextGroup); err != nil {
				return fmt.Errorf("publish: video group: %w", err)
			}
			nextGroup++
			p.mu.Lock()
			p.stats.VideoGroups++
			p.mu.Unlock()
		}
		props := loc.Properties{FrameMarking: loc.NewFrameMarking(au.Keyframe)}
		props.SetTime(au.Captured)
		wp, err := props.Wire()
		if err != nil {
			return err
		}
		if err := g.WriteObject(au.Data, wp); err != nil {
			return fmt.Errorf("publish: video object: %w", err)
		}
		p.mu.Lock()
		p.stats.VideoFrames++
		p.stats.VideoBytes += uint64(len(au.Data))
		p.mu.Unlock()
	}
	return ctx.Err()
}

// audioLoop reads, encodes and writes audio: one Opus packet per group
// (draft-ietf-moq-loc §4.1) with its LOC timestamp.
func (p *Publisher) audioLoop(ctx context.Context, enc *capture.AudioEncoder) error {
	nextGroup := uint64(time.Now().UnixMilli())
	for ctx.Err() == nil {
		f, release, err := p.cfg.Audio.Read()
		if err != nil {
			return fmt.Errorf("publish: audio source: %w", err)
		}
		au, err := enc.Encode(f.PCM, f.Captured)
		release()
		if err != nil {
			return err
		}
		if p.Catalog() == nil {
			continue // MSF §11.2: no media before the catalog
		}
		props := loc.Properties{AudioLevel: audioLevel(f.PCM), HasAudioLevel: true}
		props.SetTime(au.Captured)
		wp, err := props.Wire()
		if err != nil {
			return err
		}
		g, err := p.audioW.CreateGroup(nextGroup)
		if err != nil {
			return fmt.Errorf("publish: audio group: %w", err)
		}
		nextGroup++
		err = g.WriteObject(au.Data, wp)
		g.Close()
		if err != nil {
			return fmt.Errorf("publish: audio object: %w", err)
		}
		p.mu.Lock()
		p.stats.AudioFrames++
		p.stats.AudioBytes += uint64(len(au.Data))
		p.mu.Unlock()
	}
	return ctx.Err()
}

// audioLevel returns the RFC 6464 level of a chunk (draft-ietf-moq-loc
// §2.3.3.2): its RMS in -dBov, with the voice bit set above -40 dBov.
func audioLevel(pcm []int16) loc.AudioLevel {
	if len(pcm) == 0 {
		return loc.NewAudioLevel(false, 127)
	}
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	rms := math.Sqrt(sum/float64(len(pcm))) / 32768
	if rms <= 0 {
		return loc.NewAudioLevel(false, 127)
	}
	db := int(math.Round(-20 * math.Log10(rms)))
	return loc.NewAudioLevel(db < 40, db)
}

// adaptLoop lowers the video bitrate when the sessions send less than the
// tracks produce (capture.Adapter), and raises it again when they keep up.
func (p *Publisher) adaptLoop(ctx context.Context, enc *capture.VideoEncoder) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	last := make(map[*moq.Track]uint64)
	var written uint64 // bytes written while the track had readers
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			p.mu.Lock()
			sessions := append([]*moq.Session(nil), p.sessions...)
			p.mu.Unlock()
			if len(sessions) != 1 {
				p.adapter.Reset()
				continue // measured against one relay session only
			}
			for _, t := range p.Tracks() {
				_, b := t.Stats()
				if t.Readers() > 0 {
					written += b - last[t]
				}
				last[t] = b
			}
			_, _, _, sent := sessions[0].Stats()
			if bps, changed := p.adapter.Observe(now, written, sent); changed {
				if err := p.SetVideoBitrate(bps); err == nil {
					p.log.Info("publish: video bitrate changed", "bps", bps)
				}
			}
		}
	}
}
