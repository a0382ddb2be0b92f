package moq

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/tributary-live/tributary/moq/wire"
)

// dialRawWindow dials a raw peer whose streams take only a small window of
// unread data, so a publisher's writes to it block on flow control.
func dialRawWindow(t *testing.T, env *testEnv, v wire.Version, window uint64) *rawPeer {
	t.Helper()
	conf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{v.ALPN()}}
	c, err := quic.DialAddr(env.ctx, env.addr.String(), conf, &quic.Config{
		EnableDatagrams: true, MaxIncomingUniStreams: 1000,
		InitialStreamReceiveWindow: window, MaxStreamReceiveWindow: window,
		InitialConnectionReceiveWindow: 64 << 20, MaxConnectionReceiveWindow: 64 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseWithError(0, "") })
	return &rawPeer{t: t, conn: c}
}

// A subscriber that stops reading its data streams must not stall the
// subscription: when a newer group would exceed MaxGroupsInFlight, the
// oldest group's stream is reset even though its write is blocked on flow
// control (draft-18 §8), and the newest groups keep getting streams.
func TestStuckGroupIsResetForNewerGroups(t *testing.T) {
	v := wire.Draft19
	env := newTestEnv(t, nil)
	track, w := NewTrack(testName("video"), &TrackConfig{MaxGroups: 2})
	env.origin.add(track)

	p := dialRawWindow(t, env, v, 16<<10)
	p.setup(v)
	req, err := p.conn.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	f := wire.SubscriptionFilter{Type: wire.FilterNextGroupStart}
	req.Write(p.msg(v, &wire.Subscribe{RequestID: 0, Track: testName("video"), Params: wire.Params{SubscriptionFilter: &f}}))
	if m, err := wire.ReadMessage(bufio.NewReader(req), v, nil); err != nil {
		t.Fatalf("SUBSCRIBE_OK: %v", err)
	} else if _, ok := m.(*wire.SubscribeOK); !ok {
		t.Fatalf("SUBSCRIBE answered with %T", m)
	}

	// The peer accepts data streams and reads only their headers.
	const groups = 8
	seen := make(chan uint64, 64)
	go func() {
		for {
			s, err := p.conn.AcceptUniStream(env.ctx)
			if err != nil {
				return
			}
			go func() {
				r := bufio.NewReaderSize(s, 16)
				typ, err := wire.ReadVarint(r)
				if err != nil || !wire.IsSubgroupStreamType(typ) {
					return
				}
				h, err := wire.ReadSubgroupHeader(r, typ, nil)
				if err != nil {
					return
				}
				select {
				case seen <- h.Group:
				default:
				}
			}()
		}
	}()

	// Each group is published once the previous one got its stream, so
	// the groups go out one by one and each blocks on flow control.
	big := bytes.Repeat([]byte("v"), 256<<10)
	timeout := time.After(10 * time.Second)
	for g := uint64(0); g < groups; g++ {
		gw, err := w.AppendGroup()
		if err != nil {
			t.Fatal(err)
		}
		gw.WriteObject(big, nil)
		gw.Close()
		for got := false; !got; {
			select {
			case id := <-seen:
				got = id == g
			case <-timeout:
				t.Fatalf("group %d never got a stream: the subscription is stuck behind groups blocked on flow control", g)
			}
		}
	}
}
