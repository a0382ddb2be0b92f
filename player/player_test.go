package player

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/loc"
	"github.com/tributary-live/tributary/moq/msf"
	"github.com/tributary-live/tributary/moq/wire"
	"github.com/tributary-live/tributary/player/codec"
	"github.com/tributary-live/tributary/player/decode"
	"github.com/tributary-live/tributary/player/jitter"
)

// The tests here run a real MoQ server on loopback with a broadcast made of
// ffmpeg-encoded media (H.264 Annex-B with an access unit delimiter per
// frame, Opus), packaged as LOC objects under an MSF catalog, and play it.

func ffmpeg(t testing.TB, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("TRIBUTARY_REQUIRE_FIXTURES") != "" {
			t.Fatal("ffmpeg not found: run scripts/deps.sh")
		}
		t.Skip("ffmpeg not found: run scripts/deps.sh")
	}
	if out, err := exec.Command(bin, append([]string{"-v", "error", "-nostdin", "-y"}, args...)...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
}

// media is the test broadcast's encoded frames.
type media struct {
	video    [][]byte      // access units, 30 fps
	audio    [][]byte      // Opus packets, 20 ms (or audioDur)
	audioDur time.Duration // duration of an audio frame when not 20 ms
}

func testMedia(t *testing.T, frames, gop int) media { return benchMedia(t, 320, 240, frames, gop) }

func benchMedia(t testing.TB, w, h, frames, gop int) media {
	dir := t.TempDir()
	ffmpeg(t, "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", w, h), "-frames:v", strconv.Itoa(frames),
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-bf", "0", "-g", strconv.Itoa(gop),
		"-pix_fmt", "yuv420p", "-bsf:v", "h264_metadata=aud=insert", "-f", "h264", filepath.Join(dir, "v.h264"))
	secs := float64(frames)/30 + 0.1
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=400:sample_rate=48000", "-t", fmt.Sprint(secs), "-ac", "2",
		"-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-f", "ogg", filepath.Join(dir, "a.ogg"))
	var m media
	data, _ := os.ReadFile(filepath.Join(dir, "v.h264"))
	units, err := codec.SplitAnnexB(data)
	if err != nil {
		t.Fatal(err)
	}
	var cur [][]byte
	for _, u := range units {
		if codec.NALType(u) == codec.NALAUD && len(cur) > 0 {
			m.video = append(m.video, codec.JoinAnnexB(nil, cur...))
			cur = nil
		}
		cur = append(cur, u)
	}
	m.video = append(m.video, codec.JoinAnnexB(nil, cur...))
	ogg, _ := os.ReadFile(filepath.Join(dir, "a.ogg"))
	var packet []byte
	for len(ogg) >= 27 && string(ogg[:4]) == "OggS" {
		n := int(ogg[26])
		p := 27 + n
		for _, l := range ogg[27 : 27+n] {
			packet = append(packet, ogg[p:p+int(l)]...)
			p += int(l)
			if l < 255 {
				m.audio = append(m.audio, packet)
				packet = nil
			}
		}
		ogg = ogg[p:]
	}
	m.audio = m.audio[2:] // OpusHead, OpusTags
	return m
}

// broadcast is a live test broadcast on a loopback MoQ server.
type broadcast struct {
	srv     *moq.Server
	addr    net.Addr
	hash    []byte
	ns      wire.Namespace
	tracks  map[string]*moq.Track
	catalog *moq.TrackWriter
	video   *moq.TrackWriter
	audio   *moq.TrackWriter
}

func newBroadcast(t *testing.T, cat *msf.Catalog, catalogPayload []byte) *broadcast {
	return newBroadcastPayload(t, cat, catalogPayload)
}

func newBroadcastTB(t testing.TB, cat *msf.Catalog) *broadcast {
	return newBroadcastPayload(t, cat, nil)
}

func newBroadcastPayload(t testing.TB, cat *msf.Catalog, catalogPayload []byte) *broadcast {
	t.Helper()
	b := &broadcast{ns: wire.NewNamespace("test", "live"), tracks: map[string]*moq.Track{}}
	mk := func(name string) *moq.TrackWriter {
		tr, w := moq.NewTrack(wire.FullTrackName{Namespace: b.ns, Name: []byte(name)}, &moq.TrackConfig{MaxGroups: 2})
		b.tracks[name] = tr
		return w
	}
	b.catalog, b.video, b.audio = mk(msf.TrackName), mk("video"), mk("audio")
	if catalogPayload == nil {
		var err error
		if catalogPayload, err = cat.Marshal(); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := b.catalog.AppendGroup()
	if err := g.WriteObject(catalogPayload, nil); err != nil {
		t.Fatal(err)
	}
	cert, hash, err := moq.DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	b.hash = hash
	b.srv = &moq.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Config: &moq.Config{Tracks: moq.TrackSourceFunc(func(ctx context.Context, s *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
			if tr, ok := b.tracks[string(req.Name.Name)]; ok && req.Name.Namespace.Equal(b.ns) {
				return tr, nil
			}
			return nil, &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: "no such track"}
		})},
	}
	b.addr, err = b.srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.srv.Close() })
	return b
}

func (b *broadcast) url() string { return "moqt://" + b.addr.String() + "/test/live" }

func testCatalog(videoCodec string) *msf.Catalog {
	return &msf.Catalog{Version: msf.Version, Tracks: []msf.Track{
		{Name: "video", Packaging: msf.PackagingLOC, Role: msf.RoleVideo, IsLive: true, Codec: videoCodec, Width: 320, Height: 240, Framerate: 30},
		{Name: "audio", Packaging: msf.PackagingLOC, Role: msf.RoleAudio, IsLive: true, Codec: "opus", SampleRate: 48000, ChannelConfig: "2"},
	}}
}

const frameDur = time.Second / 30

// publish sends the media paced in real time, video in groups of gop
// frames, each object with LOC capture timestamp and frame marking. corrupt
// may change a frame's payload. started is closed after frame startAfter.
func (b *broadcast) publish(ctx context.Context, m media, gop, startAfter int, started chan<- struct{}, corrupt func(i int, au []byte) []byte) {
	base := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var g *moq.GroupWriter
		dur := 20 * time.Millisecond
		if m.audioDur > 0 {
			dur = m.audioDur
		}
		for i, p := range m.audio {
			if !waitUntil(ctx, base.Add(time.Duration(i)*dur)) {
				return
			}
			if i%50 == 0 {
				if g != nil {
					g.Close()
				}
				g, _ = b.audio.AppendGroup()
			}
			props := loc.Properties{}
			props.SetTime(base.Add(time.Duration(i) * dur))
			wp, _ := props.Wire()
			_ = g.WriteObject(p, wp)
		}
		if g != nil {
			g.Close()
		}
		b.audio.Close(nil)
	}()
	var g *moq.GroupWriter
	for i, au := range m.video {
		at := base.Add(time.Duration(i) * frameDur)
		if !waitUntil(ctx, at) {
			break
		}
		if i%gop == 0 {
			if g != nil {
				g.Close()
			}
			g, _ = b.video.AppendGroup()
		}
		props := loc.Properties{FrameMarking: loc.NewFrameMarking(i%gop == 0)}
		props.SetTime(at)
		wp, _ := props.Wire()
		if corrupt != nil {
			au = corrupt(i, au)
		}
		_ = g.WriteObject(au, wp)
		if i == startAfter && started != nil {
			close(started)
		}
	}
	if g != nil {
		g.Close()
	}
	b.video.Close(nil)
	wg.Wait()
}

func waitUntil(ctx context.Context, at time.Time) bool {
	t := time.NewTimer(time.Until(at))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// frameIndex maps a presented timestamp back to the frame number.
func frameIndex(ts, first time.Duration) int {
	return int((ts - first + frameDur/2) / frameDur)
}

type recorder struct {
	mu     sync.Mutex
	ts     []time.Duration
	frames []VideoFrame
	audio  int
	status []Status
	errs   []error
}

func (r *recorder) options(b *broadcast) Options {
	return Options{
		Dial:    &moq.DialOptions{CertHashes: [][]byte{b.hash}},
		NoAudio: true,
		// Generous, so that a loaded CI machine (-race, two cores shared)
		// loses nothing to lateness; latency figures are benchmarks' business.
		Latency: jitter.Target{Mode: jitter.Fixed, Delay: 300 * time.Millisecond},
		OnVideo: func(f VideoFrame) {
			r.mu.Lock()
			r.ts = append(r.ts, f.Timestamp)
			f.Image = nil
			r.frames = append(r.frames, f)
			r.mu.Unlock()
		},
		OnAudio: func(a decode.AudioFrame) {
			r.mu.Lock()
			r.audio += len(a.Samples) / a.Channels
			r.mu.Unlock()
		},
		OnStatus: func(s Status, err error) {
			r.mu.Lock()
			r.status = append(r.status, s)
			r.errs = append(r.errs, err)
			r.mu.Unlock()
		},
	}
}

func waitDone(t *testing.T, p *Player, d time.Duration) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(d):
		t.Fatalf("player did not end within %v; stats %+v", d, p.Stats())
	}
}

// TestPlayLive joins a live broadcast mid-group and checks that playback
// starts at once at the group's keyframe, and that every frame from there
// is presented once, in order.
func TestPlayLive(t *testing.T) {
	const frames, gop = 120, 30
	m := testMedia(t, frames, gop)
	b := newBroadcast(t, testCatalog("avc1.42e01e"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	started := make(chan struct{})
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		b.publish(ctx, m, gop, 10, started, nil)
	}()
	<-started
	var r recorder
	joinAt := time.Now()
	p, err := Open(ctx, b.url(), r.options(b))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitDone(t, p, 20*time.Second)
	<-pubDone
	if err := p.Err(); err != nil && !errors.Is(err, errEnded) {
		t.Logf("player ended with %v", err)
	}
	s := p.Stats()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.frames) == 0 {
		t.Fatalf("no frame presented; stats %+v", s)
	}
	// From the first picture on (the join decodes the joined group from its
	// keyframe), frames are presented in order, to the last, and every gap
	// is a picture the presenter dropped as late (a loaded machine wakes up
	// late): none is lost in transport, decoding or the jitter buffer.
	idx := func(f VideoFrame) int { return int(f.Group)*gop + int(f.Object) }
	gaps := 0
	for i := 1; i < len(r.frames); i++ {
		a, b := idx(r.frames[i-1]), idx(r.frames[i])
		if b <= a {
			t.Fatalf("frame %d presented after frame %d: reordered (stats %+v)", b, a, s)
		}
		gaps += b - a - 1
	}
	if last := idx(r.frames[len(r.frames)-1]); last != frames-1 || r.frames[0].Group != 0 {
		t.Fatalf("frames %d to %d presented, want from the joined group 0 to %d (stats %+v)", idx(r.frames[0]), last, frames-1, s)
	}
	if int64(gaps) > s.Late+s.Skipped || s.DecodeErrors != 0 {
		t.Fatalf("%d frames missing in the sequence, %d dropped as late: lost frames (stats %+v)", gaps, s.Late, s)
	}
	if s.JoinMS <= 0 || s.JoinMS > 1000 {
		t.Fatalf("join took %.0f ms (since %v)", s.JoinMS, time.Since(joinAt))
	}
	if r.audio < 48000*3 {
		t.Fatalf("%d audio samples decoded, want about 4 s", r.audio)
	}
	if s.Latency.P50 < 250 || s.Latency.P50 > 450 {
		t.Fatalf("latency %+v", s.Latency)
	}
	if s.DecodeErrors != 0 || s.RTTMS <= 0 {
		t.Fatalf("stats %+v: want no decode error and a measured RTT", s)
	}
	if r.status[0] != Connecting || !contains(r.status, Playing) || r.status[len(r.status)-1] != Ended {
		t.Fatalf("statuses %v", r.status)
	}
	t.Logf("stats: %+v", s)
}

func contains(s []Status, v Status) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestPlayBadInput: corrupt NAL units, truncated objects and garbage in
// one group; the player skips to the next keyframe and plays on.
func TestPlayBadInput(t *testing.T) {
	const frames, gop = 90, 30
	m := testMedia(t, frames, gop)
	b := newBroadcast(t, testCatalog("avc1.42e01e"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var r recorder
	p, err := Open(ctx, b.url(), r.options(b))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	go b.publish(ctx, m, gop, 0, nil, func(i int, au []byte) []byte {
		au = bytes.Clone(au)
		switch i {
		case 35: // corrupt slice data
			for j := len(au) / 2; j < len(au); j += 2 {
				au[j] ^= 0xa5
			}
		case 36: // truncated
			au = au[:len(au)/4]
		case 37: // garbage read as length prefixes
			au = binary.BigEndian.AppendUint32(nil, 1<<30)
		case 40:
			au = []byte{0}
		}
		return au
	})
	waitDone(t, p, 20*time.Second)
	s := p.Stats()
	r.mu.Lock()
	defer r.mu.Unlock()
	// Every frame of the last group is presented.
	last := 0
	for _, ts := range r.ts {
		if frameIndex(ts, r.ts[0]) >= 60 {
			last++
		}
	}
	// (Pictures the presenter drops as late on a loaded machine are counted.)
	if last == 0 || int64(last)+s.Late < 30 || s.DecodeErrors == 0 {
		t.Fatalf("%d frames of the last group presented, %d in all (stats %+v)", last, s.Frames, s)
	}
	t.Logf("stats: %+v", s)
}

// TestPlayUnsupported: a catalog whose only video codec we cannot decode
// still plays its audio; a nonsense catalog fails with a clear error.
func TestPlayUnsupported(t *testing.T) {
	m := testMedia(t, 30, 30)
	t.Run("unknown video codec, audio plays", func(t *testing.T) {
		b := newBroadcast(t, testCatalog("xyz1.00"), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var r recorder
		p, err := Open(ctx, b.url(), r.options(b))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		go b.publish(ctx, m, 30, 0, nil, nil)
		waitDone(t, p, 15*time.Second)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.audio == 0 || len(r.ts) != 0 {
			t.Fatalf("audio %d samples, %d video frames: want audio only", r.audio, len(r.ts))
		}
	})
	t.Run("malformed avcC in the catalog: video skipped, audio plays", func(t *testing.T) {
		cat := testCatalog("avc1.42e01e")
		cat.SetInitData(&cat.Tracks[0], "avcc", []byte{1, 2, 3})
		b := newBroadcast(t, cat, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var r recorder
		p, err := Open(ctx, b.url(), r.options(b))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		go b.publish(ctx, m, 30, 0, nil, nil)
		waitDone(t, p, 15*time.Second)
		s := p.Stats()
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.audio == 0 || len(r.ts) != 0 || s.DecodeErrors == 0 {
			t.Fatalf("audio %d samples, %d video frames, stats %+v: want audio only and decode errors counted", r.audio, len(r.ts), s)
		}
	})
	t.Run("nonsense catalog", func(t *testing.T) {
		b := newBroadcast(t, nil, []byte("{this is not a catalog"))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		var r recorder
		p, err := Open(ctx, b.url(), r.options(b))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		// End the catalog track once the player reads it, so the player
		// gets the nonsense object and then the end of the track.
		for deadline := time.Now().Add(10 * time.Second); b.tracks[msf.TrackName].Readers() == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond) // polling the reader count
		}
		b.catalog.Close(nil)
		waitDone(t, p, 15*time.Second)
		if err := p.Err(); err == nil || !errors.Is(err, msf.ErrMalformed) {
			t.Fatalf("error %v, want one naming the malformed catalog", err)
		} else {
			t.Logf("error: %v", err)
		}
	})
}

var errEnded = errors.New("ended")

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in, dial, ns string
		bad          bool
	}{
		{in: "moqt://relay.example:4443/alice/live", dial: "moqt://relay.example:4443/alice/live", ns: "alice/live"},
		{in: "https://relay.example/anon?ns=bob", dial: "https://relay.example/anon", ns: "bob"},
		{in: "http://relay.example/x", bad: true},
		{in: "moqt://relay.example", bad: true},
		{in: "moqt:///x", bad: true},
	} {
		dial, ns, err := ParseURL(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseURL(%q) accepted", tc.in)
			}
			continue
		}
		if err != nil || dial != tc.dial || ns.String() != wire.NewNamespace(splitSlash(tc.ns)...).String() {
			t.Errorf("ParseURL(%q) = %q, %v, %v", tc.in, dial, ns, err)
		}
	}
}

func splitSlash(s string) []string {
	var out []string
	for _, f := range bytes.Split([]byte(s), []byte("/")) {
		out = append(out, string(f))
	}
	return out
}

func TestParseLatency(t *testing.T) {
	for in, want := range map[string]jitter.Target{
		"realtime":          {Mode: jitter.Realtime},
		"fixed:200ms":       {Mode: jitter.Fixed, Delay: 200 * time.Millisecond},
		"range:100ms-400ms": {Mode: jitter.Range, Min: 100 * time.Millisecond, Max: 400 * time.Millisecond},
	} {
		if got, err := ParseLatency(in); err != nil || got != want {
			t.Errorf("ParseLatency(%q) = %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"fast", "fixed:x", "range:400ms-100ms", "fixed:-1s"} {
		if _, err := ParseLatency(bad); err == nil {
			t.Errorf("ParseLatency(%q) accepted", bad)
		}
	}
}
