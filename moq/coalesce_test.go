package moq

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// TestSendCoalescesWithoutHoldingBack subscribes from the start of a group
// whose first objects are cached, so the sender finds them all waiting and
// writes them together (serve.go maxCoalesced); then it writes one more
// object into the still-open group, which must arrive on its own: the
// sender never holds an object back waiting for the next.
func TestSendCoalescesWithoutHoldingBack(t *testing.T) {
	env := newTestEnv(t, nil)
	tr, w := NewTrack(testName("coalesce"), nil)
	env.origin.add(tr)
	gw, err := w.AppendGroup()
	if err != nil {
		t.Fatal(err)
	}
	payload := func(i int) []byte { return bytes.Repeat([]byte{byte(i + 1)}, 3000+i*100) }
	const cached = 40 // 40 objects of ~3-7 KB: several coalesced writes
	for i := range cached {
		if err := gw.WriteObject(payload(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, transport := range []string{"quic", "webtransport"} {
		t.Run(transport, func(t *testing.T) {
			sess := env.dial(transport, wire.Draft19, nil)
			sub, err := sess.Subscribe(env.ctx, testName("coalesce"), &SubscribeOptions{
				Filter: &wire.SubscriptionFilter{Type: wire.FilterAbsoluteStart}})
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Close()
			rd := sub.Track().Reader(&ReaderOptions{Start: new(uint64)})
			defer rd.Close()
			g, err := rd.NextGroup(env.ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			for i := range cached {
				o, err := g.ReadObject(env.ctx)
				if err != nil {
					t.Fatalf("object %d: %v", i, err)
				}
				if o.ID != uint64(i) || !bytes.Equal(o.Payload, payload(i)) {
					t.Fatalf("object %d arrived as object %d with %d bytes", i, o.ID, len(o.Payload))
				}
			}
			if transport == "webtransport" {
				return // the live object below was written once, for quic
			}
			// The group stays open: the next object must come by itself.
			if err := gw.WriteObject(payload(cached), nil); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(env.ctx, 5*time.Second)
			defer cancel()
			o, err := g.ReadObject(ctx)
			if err != nil {
				t.Fatalf("the live object did not arrive while its group is open: %v", err)
			}
			if o.ID != cached || !bytes.Equal(o.Payload, payload(cached)) {
				t.Fatalf("live object arrived as object %d with %d bytes", o.ID, len(o.Payload))
			}
		})
	}
}
