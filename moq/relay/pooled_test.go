package relay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
)

// pooledPayload is object o of group g: 1.5-13 KB, so every payload is read
// into a pooled buffer (moq/payload.go), its bytes telling where it belongs.
func pooledPayload(g, o uint64) []byte {
	p := bytes.Repeat([]byte{byte(g*13 + o*7 + 1)}, 1500+int(g*977+o*313)%11500)
	copy(p, fmt.Sprintf("g%d o%d ", g, o))
	return p
}

// TestRelayKeepsPooledPayloadsIntact sends payloads of pooled sizes through
// an origin and a relay to two viewers, one keeping what it reads
// (ReadObject), one borrowing (ReadObjectBorrowed, then Close). Both hops
// recycle payload buffers (the relay's upstream copy and its senders
// borrow): every byte must arrive as published, and what the first viewer
// kept must still be intact after every later group went through the pools.
func TestRelayKeepsPooledPayloadsIntact(t *testing.T) {
	o := startRelay(t, "127.0.0.1", func(c *Config) { c.Name = "origin"; c.LocalOrigins = []string{origin} })
	a := startRelay(t, "127.0.0.2", func(c *Config) {
		c.Name = "relay-a"
		c.Upstreams = map[string][]string{origin: {o.URL()}}
		c.UpstreamCertHashes = []string{pin(o)}
	})
	name := testName(origin)
	tr, w := moq.NewTrack(name, &moq.TrackConfig{MaxGroups: 2})
	o.Publish(tr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	type result struct {
		kept []moq.Object
		n    int
		err  error
	}
	view := func(sess *moq.Session, borrow bool, opts *moq.SubscribeOptions, out chan<- result, subscribed chan<- struct{}) {
		var res result
		defer func() { out <- res }()
		sub, err := sess.Subscribe(ctx, name, opts)
		subscribed <- struct{}{}
		if err != nil {
			res.err = err
			return
		}
		defer sub.Close()
		rd := sub.Track().Reader(nil)
		defer rd.Close()
		for {
			g, err := rd.NextGroup(ctx)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				res.err = fmt.Errorf("next group: %w", err)
				return
			}
			for {
				var o moq.Object
				if borrow {
					o, err = g.ReadObjectBorrowed(ctx)
				} else {
					o, err = g.ReadObject(ctx)
				}
				if errors.Is(err, io.EOF) || errors.Is(err, moq.ErrGroupIncomplete) {
					break
				}
				if err != nil {
					res.err = fmt.Errorf("group %d: %w", g.ID(), err)
					return
				}
				if !bytes.Equal(o.Payload, pooledPayload(o.Group, o.ID)) {
					res.err = fmt.Errorf("group %d object %d arrived wrong", o.Group, o.ID)
					return
				}
				res.n++
				if !borrow {
					res.kept = append(res.kept, o)
				}
			}
			g.Close()
		}
	}
	kept, lent := make(chan result, 1), make(chan result, 1)
	subscribed := make(chan struct{}, 3)
	go view(dialRelay(t, a, nil), false, nil, kept, subscribed)
	go view(dialRelay(t, a, nil), true, nil, lent, subscribed)
	<-subscribed
	<-subscribed

	// A live source: one object every 2 ms, 60 groups of 6.
	const groups, perGroup = 60, 6
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	// A third viewer joins mid-stream: its joining FETCH is served from
	// the relay's cache, with the cached buffers lent (moq/fetch.go).
	joined, joinSess := make(chan result, 1), dialRelay(t, a, nil)
	for g := uint64(0); g < groups; g++ {
		gw, err := w.AppendGroup()
		if err != nil {
			t.Fatal(err)
		}
		for i := uint64(0); i < perGroup; i++ {
			if g == groups/2 && i == perGroup/2 {
				go view(joinSess, false, &moq.SubscribeOptions{JoinGroup: true}, joined, subscribed)
			}
			<-tick.C
			if err := gw.WriteObject(pooledPayload(gw.ID(), i), nil); err != nil {
				t.Fatal(err)
			}
		}
		gw.Close()
	}
	w.Close(nil)

	rk, rl, rj := <-kept, <-lent, <-joined
	if rj.n == 0 {
		t.Fatal("the viewer that joined mid-stream got nothing")
	}
	for _, r := range []result{rk, rl, rj} {
		if r.err != nil {
			t.Fatal(r.err)
		}
	}
	// Each viewer joined at the latest group when it subscribed, before
	// the first was written; a few may be dropped for a slow viewer, but
	// not most.
	if rk.n < groups*perGroup/2 || rl.n < groups*perGroup/2 {
		t.Fatalf("viewers got %d and %d of %d objects", rk.n, rl.n, groups*perGroup)
	}
	for _, o := range rk.kept {
		if !bytes.Equal(o.Payload, pooledPayload(o.Group, o.ID)) {
			t.Fatalf("kept group %d object %d was overwritten after it was read", o.Group, o.ID)
		}
	}
	t.Logf("viewers got %d (kept) and %d (borrowed) of %d objects; %d after joining mid-stream", rk.n, rl.n, groups*perGroup, rj.n)
}
