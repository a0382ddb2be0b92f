package relay

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
)

// BenchmarkOriginEgress is the federated CDN's promise in figures: an origin
// relay serves one copy of a broadcast per instance relay that pulls it,
// however many viewers those relays have. Viewers (1 to 50) are spread
// round-robin over 1 to 5 instance relays; the origin's egress over a 2 s
// window is reported as copies of the stream (egress / ingress), beside the
// instance relays' egress to their viewers.
//
//	go test -run '^$' -bench OriginEgress -benchtime 1x ./moq/relay/
func BenchmarkOriginEgress(b *testing.B) {
	for _, relays := range []int{1, 3, 5} {
		for _, viewers := range []int{1, 10, 50} {
			if viewers < relays {
				continue
			}
			b.Run(fmt.Sprintf("relays=%d/viewers=%d", relays, viewers), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					originEgress(b, relays, viewers)
				}
			})
		}
	}
}

func originEgress(b *testing.B, relays, viewers int) {
	quiet := slog.New(slog.DiscardHandler)
	origin := startRelay(b, "127.0.0.1", func(c *Config) { c.LocalOrigins = []string{"origin.test"}; c.Logger = quiet })
	p := startPublisher(b, testName("origin.test"), 30, 10_000, 33*time.Millisecond) // ~2.4 Mbit/s
	origin.Publish(p.track)
	var edges []*Relay
	for i := 0; i < relays; i++ {
		edges = append(edges, startRelay(b, "127.0.0.1", func(c *Config) {
			c.Upstreams = map[string][]string{"origin.test": {origin.URL()}}
			c.UpstreamCertHashes = []string{pin(origin)}
			c.Logger = quiet
		}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for v := 0; v < viewers; v++ {
		r := edges[v%relays]
		s := dialRelay(b, r, &moq.Config{Logger: quiet})
		sub, err := s.Subscribe(ctx, testName("origin.test"), &moq.SubscribeOptions{JoinGroup: true})
		if err != nil {
			b.Fatalf("viewer %d: %v", v, err)
		}
		go func() {
			rd := sub.Track().Reader(nil)
			for {
				g, err := rd.NextGroup(ctx)
				if err != nil {
					return
				}
				for {
					if _, err := g.ReadObject(ctx); err != nil {
						break
					}
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // let every viewer join before the window (benchmark pacing, not synchronisation)
	o0 := origin.Stats()
	var e0 []Stats
	for _, r := range edges {
		e0 = append(e0, r.Stats())
	}
	b.ResetTimer()
	time.Sleep(2 * time.Second) // the measured window
	b.StopTimer()
	o1 := origin.Stats()
	in := float64(broadcastIn(o1) - broadcastIn(o0))
	if in == 0 {
		b.Fatal("nothing published in the window")
	}
	out := float64(o1.RelayBytes + o1.LocalBytes - o0.RelayBytes - o0.LocalBytes)
	var edgeOut float64
	for i, r := range edges {
		st := r.Stats()
		edgeOut += float64(st.LocalBytes - e0[i].LocalBytes)
	}
	b.ReportMetric(out/in, "origin_copies")
	b.ReportMetric(edgeOut/in, "edge_copies")
	b.ReportMetric(float64(relays), "relays")
	b.ReportMetric(float64(viewers), "viewers")
	cancel()
}

// broadcastIn is the payload the origin received for its broadcasts.
func broadcastIn(st Stats) uint64 {
	var n uint64
	for _, b := range st.Broadcasts {
		n += b.BytesIn
	}
	return n
}
