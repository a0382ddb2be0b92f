package relay

import (
	"context"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
)

// A relay that does not carry a track yet answers the first SUBSCRIBE once
// the joined group has been copied up to the upstream's Largest Location:
// its SUBSCRIBE_OK carries that location, as a warm relay's does, so the
// viewer's player knows where the cached catch-up ends.
func TestColdSubscribeCarriesLargest(t *testing.T) {
	o := startRelay(t, "127.0.0.1", func(c *Config) { c.Name = "origin"; c.LocalOrigins = []string{origin} })
	name := testName(origin)
	pub := startPublisher(t, name, 30, 1000, 5*time.Millisecond)
	o.Publish(pub.track)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Wait until the publisher is some objects into a group.
	for {
		if l, ok := pub.track.Largest(); ok && l.Object >= 5 {
			break
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("the publisher wrote nothing")
		}
	}
	cold := startRelay(t, "127.0.0.2", func(c *Config) {
		c.Upstreams = map[string][]string{origin: {o.URL()}}
		c.UpstreamCertHashes = []string{pin(o)}
	})
	before, _ := pub.track.Largest()
	s := dialRelay(t, cold, nil)
	sub, err := s.Subscribe(ctx, name, &moq.SubscribeOptions{JoinGroup: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	l, ok := sub.Largest()
	if !ok {
		t.Fatal("the cold relay's SUBSCRIBE_OK has no Largest Location")
	}
	if l.Group < before.Group || (l.Group == before.Group && l.Object < before.Object) {
		t.Fatalf("Largest %v is before what the publisher had written when we subscribed (%v)", l, before)
	}
	// The joined group from its first object, then on, in order.
	objs, err := readN(ctx, sub, 40)
	if err != nil {
		t.Fatal(err)
	}
	if objs[0].Group != l.Group || objs[0].ID != 0 {
		t.Fatalf("first object %d/%d, want the joined group %d from object 0", objs[0].Group, objs[0].ID, l.Group)
	}
	for i := 1; i < len(objs); i++ {
		a, b := objs[i-1], objs[i]
		if !(b.Group == a.Group && b.ID == a.ID+1) && !(b.Group == a.Group+1 && b.ID == 0) {
			t.Fatalf("object %d/%d after %d/%d", b.Group, b.ID, a.Group, a.ID)
		}
	}
}
