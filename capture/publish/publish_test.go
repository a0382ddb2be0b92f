package publish

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/loc"
	"github.com/tributary-live/tributary/moq/msf"
	"github.com/tributary-live/tributary/moq/wire"
)

var testNS = wire.NewNamespace("tributary.test", "alice", "live")

// fakeRelay is a minimal server that plays the relay's part: it takes the
// publisher's session and hands it, or the tracks it pushes, to the test.
type fakeRelay struct {
	url      string
	hash     []byte
	sessions chan *moq.Session
	tracks   chan *moq.Track
	srv      *moq.Server
}

func newRelay(t *testing.T, acceptNamespace bool) *fakeRelay {
	t.Helper()
	cert, hash, err := moq.DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	r := &fakeRelay{hash: hash, sessions: make(chan *moq.Session, 8), tracks: make(chan *moq.Track, 16)}
	r.srv = &moq.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Config: &moq.Config{
			Logger: slog.New(slog.DiscardHandler),
			OnPublishNamespace: func(ctx context.Context, s *moq.Session, ns wire.Namespace) error {
				if !acceptNamespace {
					return &moq.RequestError{Code: wire.RequestNotSupported, Reason: "PUBLISH only here"}
				}
				if !ns.Equal(testNS) {
					return fmt.Errorf("unexpected namespace %s", ns)
				}
				r.sessions <- s
				return nil
			},
			OnPublish: func(ctx context.Context, s *moq.Session, tr *moq.Track) error {
				r.tracks <- tr
				return nil
			},
		},
	}
	addr, err := r.srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.srv.Close() })
	r.url = "moqt://" + net.JoinHostPort("127.0.0.1", fmt.Sprint(addr.(*net.UDPAddr).Port)) + "/"
	return r
}

func newPublisher(t *testing.T) *Publisher {
	t.Helper()
	p, err := New(Config{
		Namespace:        testNS,
		Video:            capture.NewPatternSource(320, 180, 30, true, time.Now()),
		Audio:            capture.NewToneSource(48000, 1, 20*time.Millisecond, true, time.Now()),
		VideoBitrate:     400_000,
		KeyframeInterval: 15,
		Logger:           slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func run(t *testing.T, p *Publisher, r *fakeRelay, mode Mode) (context.Context, chan error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	errs := make(chan error, 2)
	go func() { errs <- p.Run(ctx) }()
	go func() {
		errs <- p.Connect(ctx, r.url, &ConnectOptions{Mode: mode, Config: moq.Config{Logger: slog.New(slog.DiscardHandler)},
			Dial: moq.DialOptions{CertHashes: [][]byte{r.hash}}, MinBackoff: 50 * time.Millisecond})
	}()
	t.Cleanup(func() {
		cancel()
		for i := 0; i < 2; i++ {
			if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("publisher: %v", err)
			}
		}
	})
	return ctx, errs
}

// readCatalog reads the independent catalog from object 0 of the catalog track.
func readCatalog(t *testing.T, ctx context.Context, tr *moq.Track) *msf.Catalog {
	t.Helper()
	rd := tr.Reader(nil)
	defer rd.Close()
	g, err := rd.NextGroup(ctx)
	if err != nil {
		t.Fatalf("catalog group: %v", err)
	}
	o, err := g.ReadObject(ctx)
	if err != nil {
		t.Fatalf("catalog object: %v", err)
	}
	var mr msf.Reader
	cat, _, err := mr.Push(g.ID(), o.ID, o.Payload)
	if err != nil || cat == nil {
		t.Fatalf("catalog: %v", err)
	}
	return cat
}

// checkVideo reads whole groups of video and checks the packaging: every group
// starts with an IDR marked independent, objects carry LOC capture times, and
// the burned-in counters of the frames' capture clock increase.
func checkVideo(t *testing.T, ctx context.Context, tr *moq.Track, groups int) {
	t.Helper()
	rd := tr.Reader(nil)
	defer rd.Close()
	var lastTime time.Time
	for i := 0; i < groups; i++ {
		g, err := rd.NextGroup(ctx)
		if err != nil {
			t.Fatalf("video group %d: %v", i, err)
		}
		for j := 0; ; j++ {
			o, err := g.ReadObject(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("video group %d object %d: %v", g.ID(), j, err)
			}
			props, err := loc.FromWire(o.Properties)
			if err != nil {
				t.Fatalf("LOC properties: %v", err)
			}
			at, ok := props.Time()
			if !ok || time.Since(at) > 30*time.Second || !at.After(lastTime) {
				t.Errorf("object %d/%d capture time %v after %v", g.ID(), o.ID, at, lastTime)
			}
			lastTime = at
			key := capture.H264IsKeyframe(o.Payload)
			if (o.ID == 0) != key || props.Keyframe() != key {
				t.Errorf("object %d/%d: IDR %v, marked %v", g.ID(), o.ID, key, props.Keyframe())
			}
			if j > 14 {
				t.Fatalf("group %d longer than the GOP", g.ID())
			}
		}
	}
}

func checkAudio(t *testing.T, ctx context.Context, tr *moq.Track, n int) {
	t.Helper()
	rd := tr.Reader(nil)
	defer rd.Close()
	// A one-packet group can arrive empty when a loaded relay drops groups
	// that fell too far behind (live audio: drop, don't queue); count those
	// but require n whole ones.
	for got, empty := 0, 0; got < n; {
		g, err := rd.NextGroup(ctx)
		if err != nil {
			t.Fatalf("audio group: %v", err)
		}
		o, err := g.ReadObject(ctx)
		if err != nil {
			if empty++; empty > 10*n {
				t.Fatalf("audio: %d empty groups: %v", empty, err)
			}
			continue
		}
		got++
		props, err := loc.FromWire(o.Properties)
		if _, ok := props.Time(); err != nil || !ok || len(o.Payload) == 0 {
			t.Fatalf("audio object %d: %+v %v", g.ID(), props, err)
		}
		// The tone's RMS is 0.4/√2 of full scale: 11 dB below it, voice.
		if !props.HasAudioLevel || props.AudioLevel.MinusDBov() != 11 || !props.AudioLevel.Voice() {
			t.Errorf("audio level %v", props.AudioLevel)
		}
	}
}

func TestPublishNamespaceThenSubscribe(t *testing.T) {
	r := newRelay(t, true)
	p := newPublisher(t)
	ctx, _ := run(t, p, r, ModeAuto)
	var sess *moq.Session
	select {
	case sess = <-r.sessions:
	case <-ctx.Done():
		t.Fatal("no PUBLISH_NAMESPACE")
	}
	sub := func(name string) *moq.Track {
		s, err := sess.Subscribe(ctx, wire.FullTrackName{Namespace: testNS, Name: []byte(name)}, &moq.SubscribeOptions{JoinGroup: true})
		if err != nil {
			t.Fatalf("subscribe %s: %v", name, err)
		}
		t.Cleanup(s.Close)
		return s.Track()
	}
	cat := readCatalog(t, ctx, sub(CatalogTrack))
	v, ok := cat.Find("", VideoTrack)
	if !ok || v.Packaging != msf.PackagingLOC || v.Width != 320 || v.Height != 180 || len(v.Codec) != 11 || v.Codec[:5] != "avc3." {
		t.Fatalf("video track %+v", v)
	}
	a, ok := cat.Find("", AudioTrack)
	if !ok || a.Codec != "opus" || a.SampleRate != 48000 || a.Channels() != 1 {
		t.Fatalf("audio track %+v", a)
	}
	checkVideo(t, ctx, sub(VideoTrack), 2)
	checkAudio(t, ctx, sub(AudioTrack), 10)
	if _, err := sess.Subscribe(ctx, wire.FullTrackName{Namespace: testNS, Name: []byte("nope")}, nil); err == nil {
		t.Error("subscribed to a missing track")
	}
}

func TestPublishOnlyRelayAndReconnect(t *testing.T) {
	r := newRelay(t, false)
	p := newPublisher(t)
	var mu sync.Mutex
	var sessions []*moq.Session
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- p.Run(ctx) }()
	go func() {
		errs <- p.Connect(ctx, r.url, &ConnectOptions{Mode: ModeAuto, Config: moq.Config{Logger: slog.New(slog.DiscardHandler)},
			Dial: moq.DialOptions{CertHashes: [][]byte{r.hash}}, MinBackoff: 50 * time.Millisecond,
			OnSession: func(s *moq.Session, err error) {
				if s != nil {
					mu.Lock()
					sessions = append(sessions, s)
					mu.Unlock()
				}
			}})
	}()
	tracks := func() map[string]*moq.Track {
		got := map[string]*moq.Track{}
		for len(got) < 3 {
			select {
			case tr := <-r.tracks:
				got[string(tr.Name().Name)] = tr
			case <-ctx.Done():
				t.Fatalf("PUBLISHed tracks: %d", len(got))
			}
		}
		return got
	}
	first := tracks()
	cat := readCatalog(t, ctx, first[CatalogTrack])
	if len(cat.Tracks) != 2 {
		t.Fatalf("catalog %+v", cat)
	}
	checkVideo(t, ctx, first[VideoTrack], 1)
	framesBefore := p.Stats().VideoFrames

	// Drop the publisher's session from the relay side: it must come back
	// on its own, with capture still running.
	mu.Lock()
	old := sessions[0]
	mu.Unlock()
	old.CloseWithError(wire.ErrInternal, "relay restart")
	second := tracks()
	readCatalog(t, ctx, second[CatalogTrack])
	checkVideo(t, ctx, second[VideoTrack], 1)
	checkAudio(t, ctx, second[AudioTrack], 5)
	st := p.Stats()
	if st.Sessions < 2 || st.VideoFrames <= framesBefore || st.VideoGroups < 2 {
		t.Errorf("stats after reconnect: %+v (frames before %d)", st, framesBefore)
	}
	cancel()
	for i := 0; i < 2; i++ {
		if err := <-errs; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("publisher: %v", err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("no namespace accepted")
	}
	if _, err := New(Config{Namespace: testNS}); err == nil {
		t.Error("no source accepted")
	}
	if m, err := ParseMode("publish"); err != nil || m != ModePublish {
		t.Error("ParseMode")
	}
	if _, err := ParseMode("shout"); err == nil {
		t.Error("bad mode accepted")
	}
}

func TestGoAwayReconnects(t *testing.T) {
	r := newRelay(t, true)
	p := newPublisher(t)
	ctx, _ := run(t, p, r, ModeNamespace)
	var first *moq.Session
	select {
	case first = <-r.sessions:
	case <-ctx.Done():
		t.Fatal("no PUBLISH_NAMESPACE")
	}
	if err := first.GoAway("", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case s := <-r.sessions:
		if s == first {
			t.Fatal("same session announced twice")
		}
	case <-ctx.Done():
		t.Fatal("no new session after GOAWAY")
	}
	select {
	case <-first.Context().Done(): // the publisher closed the old session itself
	case <-ctx.Done():
		t.Fatal("old session still open")
	}
	if st := p.Stats(); st.Sessions != 2 {
		t.Errorf("sessions %d", st.Sessions)
	}
}

// A bitrate change reaches subscribers as catalog delta updates, and after
// maxCatalogDeltas of them as a new group with the whole catalog (MSF §5).
func TestCatalogDeltas(t *testing.T) {
	p := newPublisher(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	select {
	case <-p.Ready():
	case <-ctx.Done():
		t.Fatal("catalog never written")
	}
	rd := p.Tracks()[0].Reader(nil)
	defer rd.Close()
	var mr msf.Reader
	g, err := rd.NextGroup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	read := func(g *moq.GroupReader) *msf.Catalog {
		t.Helper()
		o, err := g.ReadObject(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cat, _, err := mr.Push(g.ID(), o.ID, o.Payload)
		if err != nil {
			t.Fatalf("object %d/%d: %v", g.ID(), o.ID, err)
		}
		return cat
	}
	if v, _ := read(g).Find("", VideoTrack); v.Bitrate != 400_000 {
		t.Fatalf("initial bitrate %d", v.Bitrate)
	}
	for i := 1; i <= maxCatalogDeltas; i++ {
		if err := p.SetVideoBitrate(400_000 - 10_000*i); err != nil {
			t.Fatal(err)
		}
		if v, _ := read(g).Find("", VideoTrack); v.Bitrate != int64(400_000-10_000*i) {
			t.Fatalf("after delta %d: bitrate %d", i, v.Bitrate)
		}
	}
	if err := p.SetVideoBitrate(100_000); err != nil {
		t.Fatal(err)
	}
	g2, err := rd.NextGroup(ctx)
	if err != nil || g2.ID() <= g.ID() {
		t.Fatalf("new catalog group: %v", err)
	}
	cat := read(g2)
	if v, _ := cat.Find("", VideoTrack); v.Bitrate != 100_000 || len(cat.Tracks) != 2 {
		t.Fatalf("new independent catalog: %+v", cat)
	}
	if p.Catalog() != nil && p.Stats().VideoBitrate != 100_000 {
		t.Errorf("encoder bitrate %d", p.Stats().VideoBitrate)
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Error(err)
	}
}

// When Run fails (here: a frame size the encoder refuses), the tracks end,
// Done closes and Connect gives up with ErrStopped instead of waiting forever.
func TestRunFailureStopsConnect(t *testing.T) {
	r := newRelay(t, true)
	p, err := New(Config{Namespace: testNS, Video: capture.NewPatternSource(7, 7, 30, false, time.Now()),
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Run(ctx); err == nil {
		t.Fatal("Run accepted a 7x7 video")
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Done not closed")
	}
	if closed, _ := p.Tracks()[0].Closed(); !closed {
		t.Error("catalog track still open")
	}
	if err := p.Run(ctx); err == nil {
		t.Error("second Run accepted")
	}
	err = p.Connect(ctx, r.url, &ConnectOptions{Config: moq.Config{Logger: slog.New(slog.DiscardHandler)},
		Dial: moq.DialOptions{CertHashes: [][]byte{r.hash}}})
	if !errors.Is(err, ErrStopped) {
		t.Errorf("Connect: %v", err)
	}
}
