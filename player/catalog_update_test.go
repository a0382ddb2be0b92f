package player

import (
	"context"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq/msf"
)

// TestPlayCatalogUpdate: the broadcast's first catalog lists audio only (as
// @moq/publish's does before its video encoder is configured); a later
// catalog group adds video. The player plays the audio at once and starts the
// video when the update comes, from the video track's current group.
func TestPlayCatalogUpdate(t *testing.T) {
	const frames, gop = 150, 30
	m := testMedia(t, frames, gop)
	full := testCatalog("avc1.42e01e")
	audioOnly := &msf.Catalog{Version: full.Version, Tracks: full.Tracks[1:]}
	b := newBroadcast(t, audioOnly, nil)
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
	p, err := Open(ctx, b.url(), r.options(b))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	// Audio plays, and no picture comes while the catalog has no video.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r.mu.Lock()
		audio, pictures := r.audio, len(r.frames)
		r.mu.Unlock()
		if pictures > 0 {
			t.Fatalf("a picture was presented before the catalog listed video")
		}
		if audio >= 48000/5 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("no audio within the deadline; stats %+v", p.Stats())
		}
	}
	payload, err := full.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	g, err := b.catalog.AppendGroup()
	if err != nil {
		t.Fatal(err)
	}
	if err := g.WriteObject(payload, nil); err != nil {
		t.Fatal(err)
	}
	g.Close()
	updated := time.Now()

	waitDone(t, p, 20*time.Second)
	<-pubDone
	s := p.Stats()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.frames) < gop {
		t.Fatalf("%d pictures after the catalog update, want at least a group's (stats %+v)", len(r.frames), s)
	}
	if first := r.frames[0].Presented; first.Sub(updated) > 2*time.Second {
		t.Errorf("first picture %v after the update", first.Sub(updated))
	}
	for i := 1; i < len(r.frames); i++ {
		a, c := r.frames[i-1], r.frames[i]
		if c.Group < a.Group || (c.Group == a.Group && c.Object <= a.Object) {
			t.Fatalf("picture %d/%d after %d/%d", c.Group, c.Object, a.Group, a.Object)
		}
	}
	if s.DecodeErrors != 0 {
		t.Errorf("stats %+v", s)
	}
	t.Logf("%d pictures, first %v after the update; stats %+v", len(r.frames), r.frames[0].Presented.Sub(updated), s)
}
