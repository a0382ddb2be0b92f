package relay

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

const origin = "origin.test"

// startOrigin starts the origin relay on ip with a broadcast published in
// process, and returns it with the publisher.
func startOrigin(t *testing.T, ip string, interval time.Duration) (*Relay, *publisher) {
	t.Helper()
	o := startRelay(t, ip, func(c *Config) { c.Name = "origin"; c.LocalOrigins = []string{origin} })
	p := startPublisher(t, testName(origin), 10, 200, interval)
	o.Publish(p.track)
	return o, p
}

// TestChainOfThreeRelays: origin -> A -> B -> C -> 50 viewers, each relay on
// its own loopback address. Every relay holds exactly one upstream
// subscription, and the origin serves exactly one reader.
func TestChainOfThreeRelays(t *testing.T) {
	o, p := startOrigin(t, "127.0.0.1", 5*time.Millisecond)
	// This test is about the chain, not failover (TestFailover): a loaded
	// machine under -race delays keep-alives past the 1.5 s default and
	// made a hop fail over mid-test.
	const chainIdle = 10 * time.Second
	a := startRelay(t, "127.0.0.2", func(c *Config) {
		c.Name = "relay-a"
		c.UpstreamIdleTimeout = chainIdle
		c.Upstreams = map[string][]string{origin: {o.URL()}}
		c.UpstreamCertHashes = []string{pin(o)}
	})
	b := startRelay(t, "127.0.0.3", func(c *Config) {
		c.Name = "relay-b"
		c.UpstreamIdleTimeout = chainIdle
		c.Upstreams = map[string][]string{origin: {a.URL()}}
		c.UpstreamCertHashes = []string{pin(a)}
	})
	c := startRelay(t, "127.0.0.4", func(c *Config) {
		c.Name = "relay-c"
		c.UpstreamIdleTimeout = chainIdle
		c.Upstreams = map[string][]string{"*": {b.URL()}}
		c.UpstreamCertHashes = []string{pin(b)}
	})

	const viewers = 50
	name := testName(origin)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errs collector
	done := make(chan struct{}, viewers)
	read := make(chan error, viewers)
	for i := 0; i < viewers; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			s, err := moq.Dial(ctx, c.URL(), nil, &moq.DialOptions{CertHashes: [][]byte{c.CertHash()}})
			if err != nil {
				errs.add(fmt.Errorf("viewer %d: dial: %w", i, err))
				return
			}
			defer s.Close()
			sub, err := s.Subscribe(ctx, name, &moq.SubscribeOptions{JoinGroup: true})
			if err != nil {
				errs.add(fmt.Errorf("viewer %d: subscribe: %w", i, err))
				return
			}
			defer sub.Close()
			objs, err := readN(ctx, sub, 25)
			if err != nil {
				read <- fmt.Errorf("viewer %d: %w", i, err)
				return
			}
			// Objects arrive in order, with group IDs as published.
			for j := 1; j < len(objs); j++ {
				if objs[j].Location().Less(objs[j-1].Location()) {
					read <- fmt.Errorf("viewer %d: object %v after %v", i, objs[j].Location(), objs[j-1].Location())
					return
				}
			}
			read <- nil
			// Hold the subscription until every viewer has read, so the
			// counts below see all 50 at once.
			<-ctx.Done()
		}()
	}
	// Every viewer reads its objects (or fails).
	readCtx, readCancel := context.WithTimeout(ctx, 40*time.Second)
	defer readCancel()
	for i := 0; i < viewers; i++ {
		select {
		case err := <-read:
			if err != nil {
				t.Fatal(err)
			}
		case <-readCtx.Done():
			// Viewers that failed to dial or subscribe send nothing on
			// read: wait for every viewer to return, then say why.
			cancel()
			for j := 0; j < viewers; j++ {
				<-done
			}
			close(read)
			for err := range read {
				if err != nil {
					t.Log(err)
				}
			}
			for _, err := range errs.errs {
				t.Log(err)
			}
			t.Fatalf("only %d of %d viewers read their objects", i, viewers)
		}
	}
	// All viewers subscribed and reading: C serves 50 readers from one
	// upstream subscription, and so do B and A; the origin serves one.
	waitFor(t, 45*time.Second, "50 readers at relay C", func() bool {
		ts, ok := trackStats(c, name)
		return ok && ts.Readers == viewers
	})
	for _, r := range []*Relay{a, b, c} {
		ts, ok := trackStats(r, name)
		if !ok {
			t.Fatalf("%s does not carry %s", r.Name(), name)
		}
		if ts.UpstreamSubscriptions != 1 {
			t.Errorf("%s made %d upstream subscriptions, want 1", r.Name(), ts.UpstreamSubscriptions)
		}
		if st := r.Stats(); st.UpstreamSubscriptions != 1 {
			t.Errorf("%s holds %d upstream subscriptions, want 1", r.Name(), st.UpstreamSubscriptions)
		}
	}
	for _, r := range []*Relay{a, b} {
		if ts, _ := trackStats(r, name); ts.Readers != 1 {
			t.Errorf("%s has %d readers, want 1 (the next relay)", r.Name(), ts.Readers)
		}
	}
	if n := p.track.Readers(); n != 1 {
		t.Errorf("origin track has %d readers, want 1", n)
	}
	// Accounting: B received from A and served C. C only declares its
	// name (no relay proof), so B accounts for it as "unverified": declared
	// names never become labels (TestRelayProof covers proved ones).
	st := b.Stats()
	if st.UpstreamBytes == 0 || st.RelayBytes == 0 || len(st.Downstreams) != 1 || st.Downstreams[0].Name != "unverified" {
		t.Errorf("relay-b stats: upstream %d B, relays %d B, downstreams %+v", st.UpstreamBytes, st.RelayBytes, st.Downstreams)
	}
	cancel()
	for i := 0; i < viewers; i++ {
		<-done
	}
	for _, err := range errs.errs {
		if !errors.Is(err, context.Canceled) {
			t.Error(err)
		}
	}
}

// TestFailover: B pulls from A1, which dies; B moves to A2 within 2 s, and
// the viewer's subscription goes on (same subscription, group IDs continue).
func TestFailover(t *testing.T) {
	o, _ := startOrigin(t, "127.0.0.1", 5*time.Millisecond)
	mk := func(ip, name string) *Relay {
		return startRelay(t, ip, func(c *Config) {
			c.Name = name
			c.Upstreams = map[string][]string{origin: {o.URL()}}
			c.UpstreamCertHashes = []string{pin(o)}
		})
	}
	a1, a2 := mk("127.0.0.2", "relay-a1"), mk("127.0.0.3", "relay-a2")
	b := startRelay(t, "127.0.0.4", func(c *Config) {
		c.Name = "relay-b"
		c.Upstreams = map[string][]string{origin: {a1.URL(), a2.URL()}}
		c.UpstreamCertHashes = []string{pin(a1), pin(a2)}
	})
	name := testName(origin)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := dialRelay(t, b, nil)
	sub, err := s.Subscribe(ctx, name, &moq.SubscribeOptions{JoinGroup: true})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	defer sub.Close()
	rd := sub.Track().Reader(nil)
	defer rd.Close()
	before, err := readFrom(ctx, rd, 20)
	if err != nil {
		t.Fatal(err)
	}
	if ts, _ := trackStats(a1, name); ts.Readers != 1 {
		t.Fatalf("relay-a1 has %d readers, want 1 (B pulls from it)", ts.Readers)
	}
	last := before[len(before)-1]
	killed := time.Now()
	a1.Close()
	gone := time.Now() // nothing comes from A1 after this

	// Objects published after A1 was gone keep coming on the same
	// subscription (through A2), within 2 s of the kill.
	var gap time.Duration
	var after moq.Object
	for {
		objs, err := readFrom(ctx, rd, 1)
		if err != nil {
			t.Fatalf("viewer's subscription broke at failover: %v", err)
		}
		if o := objs[0]; sentAt(o.Payload).After(gone) {
			after, gap = o, o.Received.Sub(killed)
			break
		}
	}
	t.Logf("first object published after the upstream died: %v, %v after the kill", after.Location(), gap.Round(time.Millisecond))
	if gap > 2*time.Second {
		t.Errorf("failover took %v, want < 2s", gap)
	}
	if after.Group < last.Group {
		t.Errorf("group IDs went back: %d after %d", after.Group, last.Group)
	}
	if closed, _ := sub.Track().Closed(); closed {
		t.Error("viewer's track ended at failover")
	}
	ts, _ := trackStats(b, name)
	if ts.Failovers != 1 || ts.UpstreamSubscriptions != 2 {
		t.Errorf("relay-b: %d failovers, %d upstream subscriptions; want 1 and 2", ts.Failovers, ts.UpstreamSubscriptions)
	}
	if ts, _ := trackStats(a2, name); ts.Readers != 1 {
		t.Errorf("relay-a2 has %d readers, want 1", ts.Readers)
	}
}

// TestGracePeriodTeardown: the upstream subscription outlives the last
// viewer by the grace period, is reused within it, and ends after it.
func TestGracePeriodTeardown(t *testing.T) {
	const grace = 400 * time.Millisecond
	o, p := startOrigin(t, "127.0.0.1", 5*time.Millisecond)
	a := startRelay(t, "127.0.0.2", func(c *Config) {
		c.Upstreams = map[string][]string{origin: {o.URL()}}
		c.UpstreamCertHashes = []string{pin(o)}
		c.GracePeriod = grace
	})
	name := testName(origin)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	watch := func() {
		s := dialRelay(t, a, nil)
		sub, err := s.Subscribe(ctx, name, nil)
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		if _, err := readN(ctx, sub, 5); err != nil {
			t.Fatal(err)
		}
		sub.Close()
		s.Close()
	}
	watch()
	// The viewer left; within the grace period a second one reuses the
	// same upstream subscription.
	watch()
	left := time.Now()
	if ts, ok := trackStats(a, name); !ok || ts.UpstreamSubscriptions != 1 {
		t.Fatalf("second viewer within the grace period: stats %+v, want one upstream subscription", ts)
	}
	// Then the upstream subscription ends: the origin's track loses its reader.
	select {
	case <-p.track.Idle():
	case <-ctx.Done():
		t.Fatal("upstream subscription did not end after the grace period")
	}
	waited := time.Since(left)
	t.Logf("upstream subscription ended %v after the last viewer left (grace %v)", waited.Round(time.Millisecond), grace)
	if waited < grace-50*time.Millisecond {
		t.Errorf("upstream subscription ended after %v, before the grace period %v", waited, grace)
	}
	waitFor(t, 5*time.Second, "relay A to forget the track", func() bool {
		_, ok := trackStats(a, name)
		return !ok
	})
	// A new viewer gets a fresh upstream subscription.
	watch()
}

// TestPublisherVanishes: a publisher that disappears mid-group ends its
// viewers' tracks promptly (no hang), and a returning publisher is picked
// up by new subscriptions.
func TestPublisherVanishes(t *testing.T) {
	r := startRelay(t, "127.0.0.1", func(c *Config) { c.OpenPublish = true; c.LocalOrigins = []string{origin} })
	name := testName(origin)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	announce := func() (*moq.Session, *publisher) {
		// Groups of 100 objects: the publisher vanishes mid-group.
		p := startPublisher(t, name, 100, 100, 2*time.Millisecond)
		s := dialRelay(t, r, &moq.Config{Tracks: moq.TrackSourceFunc(func(ctx context.Context, _ *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
			return p.track, nil
		})})
		if _, err := s.PublishNamespace(ctx, name.Namespace, nil); err != nil {
			t.Fatalf("PUBLISH_NAMESPACE: %v", err)
		}
		return s, p
	}
	pubSess, _ := announce()
	viewer := dialRelay(t, r, nil)
	sub, err := viewer.Subscribe(ctx, name, &moq.SubscribeOptions{JoinGroup: true})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	rd := sub.Track().Reader(nil)
	defer rd.Close()
	g, err := rd.NextGroup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if _, err := g.ReadObject(ctx); err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	// The publisher vanishes (its connection closes) in the middle of group g.
	pubSess.CloseWithError(wire.ErrInternal, "publisher crashed")
	select {
	case <-sub.Track().Done():
	case <-ctx.Done():
		t.Fatal("viewer's track did not end after its publisher vanished")
	}
	// Reading the cut group ends (with an error or at its end), no hang.
	for {
		_, err := g.ReadObject(ctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatal("reading the cut group hung")
			}
			break
		}
	}
	if done, ok := sub.Done(); ok {
		t.Logf("viewer got PUBLISH_DONE %v %q", done.Status, done.Reason)
	}
	waitFor(t, 5*time.Second, "the relay to forget the vanished publisher's track", func() bool {
		_, ok := trackStats(r, name)
		return !ok
	})

	// The publisher returns with a new session: new subscriptions reach it.
	announce()
	sub2, err := viewer.Subscribe(ctx, name, &moq.SubscribeOptions{JoinGroup: true})
	if err != nil {
		t.Fatalf("subscribe after the publisher returned: %v", err)
	}
	defer sub2.Close()
	if _, err := readN(ctx, sub2, 10); err != nil {
		t.Fatalf("reading from the returned publisher: %v", err)
	}
}

// TestFailoverOnGoAway: an upstream relay shutting down sends GOAWAY; the
// downstream relay moves to the next upstream and leaves, so the
// shutdown's drain ends early, and the viewer notices nothing.
func TestFailoverOnGoAway(t *testing.T) {
	o, _ := startOrigin(t, "127.0.0.1", 5*time.Millisecond)
	mk := func(ip, name string) *Relay {
		return startRelay(t, ip, func(c *Config) {
			c.Name = name
			c.Upstreams = map[string][]string{origin: {o.URL()}}
			c.UpstreamCertHashes = []string{pin(o)}
			c.DrainPeriod = 20 * time.Second
		})
	}
	a1, a2 := mk("127.0.0.2", "relay-a1"), mk("127.0.0.3", "relay-a2")
	b := startRelay(t, "127.0.0.4", func(c *Config) {
		c.Name = "relay-b"
		c.Upstreams = map[string][]string{origin: {a1.URL(), a2.URL()}}
		c.UpstreamCertHashes = []string{pin(a1), pin(a2)}
	})
	name := testName(origin)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := dialRelay(t, b, nil)
	sub, err := s.Subscribe(ctx, name, &moq.SubscribeOptions{JoinGroup: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	rd := sub.Track().Reader(nil)
	defer rd.Close()
	if _, err := readFrom(ctx, rd, 10); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := a1.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	drained := time.Since(start)
	t.Logf("relay-a1 drained in %v", drained.Round(time.Millisecond))
	if drained > 10*time.Second {
		t.Errorf("drain took %v: relay-b did not leave after GOAWAY", drained)
	}
	done := time.Now()
	for {
		objs, err := readFrom(ctx, rd, 1)
		if err != nil {
			t.Fatalf("viewer's subscription broke: %v", err)
		}
		if sentAt(objs[0].Payload).After(done) {
			break
		}
	}
	if ts, _ := trackStats(b, name); ts.Failovers != 1 {
		t.Errorf("relay-b failovers %d, want 1", ts.Failovers)
	}
}
