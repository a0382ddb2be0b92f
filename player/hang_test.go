package player

import (
	"context"
	"crypto/tls"
	"sync"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/hang"
	"github.com/tributary-live/tributary/moq/wire"
)

// TestPlayHang plays a broadcast described by a hang catalog.json with
// tracks in the legacy container (varint timestamp, then the bitstream), as
// the most used MoQ publishers send them; there is no MSF catalog track.
func TestPlayHang(t *testing.T) {
	const frames, gop = 60, 30
	m := testMedia(t, frames, gop)
	ns := wire.NewNamespace("hang", "live")
	tracks := map[string]*moq.Track{}
	mk := func(name string) *moq.TrackWriter {
		tr, w := moq.NewTrack(wire.FullTrackName{Namespace: ns, Name: []byte(name)}, &moq.TrackConfig{MaxGroups: 2})
		tracks[name] = tr
		return w
	}
	catW, videoW, audioW := mk(hang.CatalogTrack), mk("video"), mk("audio")
	legacy := &hang.Container{Kind: hang.ContainerLegacy}
	doc := &hang.Catalog{
		Video: &hang.Video{Renditions: map[string]hang.Rendition{"video": {Codec: "avc1.42e01e", CodedWidth: 320, CodedHeight: 240, Container: legacy}}},
		Audio: &hang.Audio{Renditions: map[string]hang.Rendition{"audio": {Codec: "opus", SampleRate: 48000, NumberOfChannels: 2, Container: legacy}}},
	}
	js, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g, _ := catW.AppendGroup()
	if err := g.WriteObject(js, nil); err != nil {
		t.Fatal(err)
	}
	cert, hash, _ := moq.DevCert("127.0.0.1")
	var mu sync.Mutex
	srv := &moq.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Config: &moq.Config{Tracks: moq.TrackSourceFunc(func(ctx context.Context, s *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
			mu.Lock()
			defer mu.Unlock()
			if tr, ok := tracks[string(req.Name.Name)]; ok && req.Name.Namespace.Equal(ns) {
				return tr, nil
			}
			return nil, &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: "no such track"}
		})},
	}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := &broadcast{hash: hash}
	var r recorder
	p, err := Open(ctx, "moqt://"+addr.String()+"/hang/live", r.options(b))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	base := time.Now()
	go func() {
		var ag *moq.GroupWriter
		for i, pkt := range m.audio {
			if !waitUntil(ctx, base.Add(time.Duration(i)*20*time.Millisecond)) {
				return
			}
			if i%50 == 0 {
				if ag != nil {
					ag.Close()
				}
				ag, _ = audioW.AppendGroup()
			}
			f, _ := hang.AppendLegacyFrame(nil, uint64(base.Add(time.Duration(i)*20*time.Millisecond).UnixMicro()), pkt)
			_ = ag.WriteObject(f, nil)
		}
		ag.Close()
		audioW.Close(nil)
	}()
	var vg *moq.GroupWriter
	for i, au := range m.video {
		at := base.Add(time.Duration(i) * frameDur)
		if !waitUntil(ctx, at) {
			t.Fatal("timed out publishing")
		}
		if i%gop == 0 {
			if vg != nil {
				vg.Close()
			}
			vg, _ = videoW.AppendGroup()
		}
		f, _ := hang.AppendLegacyFrame(nil, uint64(at.UnixMicro()), au)
		_ = vg.WriteObject(f, nil)
	}
	vg.Close()
	videoW.Close(nil)
	waitDone(t, p, 20*time.Second)
	s := p.Stats()
	r.mu.Lock()
	defer r.mu.Unlock()
	if int64(len(r.frames))+s.Late+s.Skipped < frames || s.DecodeErrors != 0 || r.audio == 0 {
		t.Fatalf("%d frames presented, %d audio samples (stats %+v)", len(r.frames), r.audio, s)
	}
}
