package moq

import (
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// TestManySmallGroups: audio published as one packet per group (as hang
// and our publisher do) at 50 groups a second reaches a subscriber whole:
// no group lost to the per-group machinery (stream per group, ordered
// opening, reorder wait, cache eviction).
func TestManySmallGroups(t *testing.T) {
	forEach(t, func(t *testing.T, transport string, v wire.Version) {
		env := newTestEnv(t, nil)
		track, w := NewTrack(testName("audio"), nil)
		env.origin.add(track)
		sess := env.dial(transport, v, nil)
		sub, err := sess.Subscribe(env.ctx, testName("audio"), &SubscribeOptions{Filter: &wire.SubscriptionFilter{Type: wire.FilterNextGroupStart}})
		if err != nil {
			t.Fatal(err)
		}
		r := sub.Track().Reader(&ReaderOptions{Start: new(uint64)})
		defer r.Close()
		const groups = 150
		got := make(chan int)
		go func() {
			n := 0
			for n < groups {
				g, err := r.NextGroup(env.ctx)
				if err != nil {
					break
				}
				if _, err := g.ReadObject(env.ctx); err == nil {
					n++
				}
				if g.ID() == groups-1 {
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
		if n := <-got; n < groups {
			t.Fatalf("received %d of %d one-object groups", n, groups)
		}
	})
}
