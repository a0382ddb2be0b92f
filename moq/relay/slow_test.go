package relay

import (
	"bufio"
	"context"
	"crypto/tls"
	"runtime"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/tributary-live/tributary/moq/wire"
)

// stuckSubscriber sets up a session and subscribes over raw QUIC, then
// never reads a data stream: the relay's writes to it meet QUIC flow
// control and stall.
func stuckSubscriber(t *testing.T, r *Relay, name wire.FullTrackName) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v := wire.Draft19
	conf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{v.ALPN()}}
	qc, err := quic.DialAddr(ctx, r.Addr().String(), conf, &quic.Config{MaxIncomingUniStreams: 16})
	if err != nil {
		t.Fatalf("quic dial: %v", err)
	}
	t.Cleanup(func() { qc.CloseWithError(0, "") })
	ctrl, err := qc.OpenUniStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	path := "/"
	b, err := wire.AppendMessage(nil, v, &wire.Setup{Path: &path, Authority: wire.Ptr(r.Addr().String())})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ctrl.Write(b); err != nil {
		t.Fatal(err)
	}
	req, err := qc.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err = wire.AppendMessage(nil, v, &wire.Subscribe{RequestID: 0, Track: name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := req.Write(b); err != nil {
		t.Fatal(err)
	}
	req.SetReadDeadline(time.Now().Add(10 * time.Second))
	m, err := wire.ReadMessage(bufio.NewReader(req), v, wire.DefaultLimits())
	if err != nil {
		t.Fatalf("stuck subscriber: no answer to SUBSCRIBE: %v", err)
	}
	if _, ok := m.(*wire.SubscribeOK); !ok {
		t.Fatalf("stuck subscriber: SUBSCRIBE answered with %T", m)
	}
	// From here on nothing is read: no AcceptUniStream, no datagrams.
}

// TestSlowSubscriberIsolated: a subscriber that never reads does not delay
// another viewer, and the relay's memory stays bounded while megabytes
// flow past it.
func TestSlowSubscriberIsolated(t *testing.T) {
	r := startRelay(t, "127.0.0.1", func(c *Config) { c.LocalOrigins = []string{origin} })
	name := testName(origin)
	// 2.5 MB/s: 125 objects/s of 20 kB, 4 per group.
	p := startPublisher(t, name, 4, 20_000, 8*time.Millisecond)
	r.Publish(p.track)
	for i := 0; i < 3; i++ {
		stuckSubscriber(t, r, name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := dialRelay(t, r, nil)
	sub, err := s.Subscribe(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	// 400 objects = 8 MB, more than every flow-control window of the
	// stuck sessions together; the good viewer gets them in time.
	const n = 400
	objs, err := readN(ctx, sub, n)
	if err != nil {
		t.Fatal(err)
	}
	late := 0
	var worst time.Duration
	for _, o := range objs {
		d := o.Received.Sub(sentAt(o.Payload))
		worst = max(worst, d)
		if d > 500*time.Millisecond {
			late++
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	grew := int64(ms.HeapInuse) - int64(base)
	t.Logf("good viewer: %d objects, worst latency %v, %d over 500 ms; heap grew %d kB", len(objs), worst.Round(time.Millisecond), late, grew>>10)
	// A stuck subscriber that held the others back would delay nearly
	// every object; a loaded 2-core machine running -race delays a few.
	if late > n/20 {
		t.Errorf("%d of %d objects reached the good viewer later than 500 ms", late, n)
	}
	if grew > 24<<20 {
		t.Errorf("heap grew by %d MB while stuck subscribers held on", grew>>20)
	}
	if st := r.Stats(); len(st.LocalViewers) != 4 {
		t.Errorf("relay counts %d viewers, want 4", len(st.LocalViewers))
	}
}
