package relay

import (
	"context"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
)

// TestBurstThroughChain: a publisher writes three groups of large objects
// at once, right after the subscription reached it through two relays;
// the viewer receives every object.
func TestBurstThroughChain(t *testing.T) {
	sizes := []int{1, 100, 1500, 5000, 70000}
	const groups, objects = 3, 5
	r1 := startRelay(t, "127.0.0.2", func(c *Config) { c.Name = "a"; c.OpenPublish = true; c.LocalOrigins = []string{origin} })
	r2 := startRelay(t, "127.0.0.3", func(c *Config) {
		c.Name = "b"
		c.Upstreams = map[string][]string{origin: {r1.URL()}}
		c.UpstreamCertHashes = []string{pin(r1)}
	})
	name := testName(origin)
	tr, w := moq.NewTrack(name, &moq.TrackConfig{MaxGroups: 8})
	subscribed := make(chan struct{}, 1)
	pubSess := dialRelay(t, r1, &moq.Config{Tracks: moq.TrackSourceFunc(func(ctx context.Context, _ *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
		select {
		case subscribed <- struct{}{}:
		default:
		}
		return tr, nil
	})})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := pubSess.PublishNamespace(ctx, name.Namespace, nil); err != nil {
		t.Fatal(err)
	}
	viewer := dialRelay(t, viewerRelay(r1, r2), nil)
	sub, err := viewer.Subscribe(ctx, name, &moq.SubscribeOptions{Track: &moq.TrackConfig{MaxGroups: 8}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	<-subscribed
	start := uint64(0)
	rd := sub.Track().Reader(&moq.ReaderOptions{Start: &start})
	defer rd.Close()
	n := 0
	for g := 0; g < groups; g++ {
		gw, _ := w.AppendGroup()
		for o := 0; o < objects; o++ {
			gw.WriteObject(payloadOf(uint64(g), uint64(o), sizes[n%len(sizes)]), nil)
			n++
		}
		gw.Close()
	}
	got, err := readFrom(ctx, rd, groups*objects)
	if err != nil {
		for _, rl := range []*Relay{r1, r2} {
			rl.mu.Lock()
			for _, e := range rl.tracks {
				for _, g := range e.track.CachedGroups() {
					objs, _ := e.track.CachedObjects(g, 0, ^uint64(0))
					t.Logf("%s %s group %d: %d objects", rl.Name(), e.kind, g, len(objs))
				}
			}
			rl.mu.Unlock()
		}
		for _, g := range sub.Track().CachedGroups() {
			objs, _ := sub.Track().CachedObjects(g, 0, ^uint64(0))
			t.Logf("viewer group %d: %d objects", g, len(objs))
		}
		t.Fatalf("%v; got %d objects", err, len(got))
	}
	for i, o := range got {
		if o.Group != uint64(i/objects) || o.ID != uint64(i%objects) || len(o.Payload) != max(24, sizes[i%len(sizes)]) {
			t.Errorf("object %d is %v (%d bytes)", i, o.Location(), len(o.Payload))
		}
	}
}

var viewerAt = "b"

func viewerRelay(a, b *Relay) *Relay {
	if viewerAt == "a" {
		return a
	}
	return b
}
