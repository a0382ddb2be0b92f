package relay

import (
	"context"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// TestOneObjectGroupsThroughRelay: audio as one packet per group (hang's
// layout and our publisher's) at 50 groups a second crosses a relay whole.
func TestOneObjectGroupsThroughRelay(t *testing.T) {
	r := startRelay(t, "127.0.0.1", func(c *Config) { c.OpenPublish = true; c.Watch = "open" })
	name := testName("local.test")
	tr, w := moq.NewTrack(name, nil)
	pubSess := dialRelay(t, r, &moq.Config{Tracks: moq.TrackSourceFunc(func(ctx context.Context, s *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
		return tr, nil
	})})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := pubSess.PublishNamespace(ctx, name.Namespace, nil); err != nil {
		t.Fatal(err)
	}
	// One group first, so the track exists at the relay.
	gw, _ := w.AppendGroup()
	gw.WriteObject(make([]byte, 120), nil)
	gw.Close()
	viewer := dialRelay(t, r, nil)
	sub, err := viewer.Subscribe(ctx, name, &moq.SubscribeOptions{Filter: &wire.SubscriptionFilter{Type: wire.FilterNextGroupStart}})
	if err != nil {
		t.Fatal(err)
	}
	rd := sub.Track().Reader(nil)
	defer rd.Close()
	const groups = 150
	got := make(chan int)
	go func() {
		n := 0
		for {
			g, err := rd.NextGroup(ctx)
			if err != nil {
				break
			}
			if _, err := g.ReadObject(ctx); err == nil {
				n++
			}
			if g.ID() == groups {
				break
			}
		}
		got <- n
	}()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; i < groups; i++ {
		<-tick.C
		gw, _ := w.AppendGroup()
		gw.WriteObject(make([]byte, 120), nil)
		gw.Close()
	}
	if n := <-got; n < groups-2 {
		t.Fatalf("received %d of %d one-object groups through the relay", n, groups)
	}
}
