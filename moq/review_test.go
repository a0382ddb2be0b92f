package moq

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"io"
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

// Groups that leave the cache while still being written (a publisher that
// opens streams for many groups and never ends them) must not grow without
// bound: what they hold beyond the cache is limited by the track's MaxBytes
// too (draft-18 §13 resource exhaustion), and the track's end ends them.
func TestEvictedOpenGroupsAreBounded(t *testing.T) {
	const maxBytes = 1 << 20
	track, w := NewTrack(testName("video"), &TrackConfig{MaxGroups: 2, MaxBytes: maxBytes})
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	var gws []*GroupWriter
	for g := uint64(0); g < 16; g++ {
		gw, err := w.OpenGroup(g)
		if err != nil || gw == nil {
			t.Fatalf("OpenGroup(%d): %v", g, err)
		}
		gws = append(gws, gw)
	}
	// Every group, evicted or not, gets up to 512 KiB: 8 MiB in all.
	accepted := 0
	for o := uint64(0); o < 8; o++ {
		for _, gw := range gws {
			if gw.Write(Object{ID: o, Payload: chunk}) == nil {
				accepted += len(chunk)
			}
		}
	}
	if accepted > 2*maxBytes {
		t.Fatalf("accepted %d KiB into a track limited to %d KiB (cache) plus as much for evicted groups", accepted>>10, maxBytes>>10)
	}
	// A reader on an evicted, unfinished group sees it end with the track.
	r := &GroupReader{t: track, g: gws[0].g}
	w.Close(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, err := r.ReadObject(ctx); err != nil {
			if err != io.EOF {
				t.Fatalf("evicted group after the track closed: %v, want io.EOF", err)
			}
			break
		}
	}
}

// A group that has been started but holds no object yet is not the Largest
// Object (draft-18 §5.1.2: the largest object published): a SUBSCRIBE that
// arrives between AppendGroup and the group's first object must still get
// object 0, the keyframe, not start at object 1.
func TestSubscribeBetweenAppendGroupAndFirstObject(t *testing.T) {
	env := newTestEnv(t, nil)
	track, w := NewTrack(testName("video"), &TrackConfig{MaxGroups: 2})
	env.origin.add(track)
	g0, _ := w.AppendGroup()
	g0.WriteObject([]byte("g0o0"), nil)
	g0.Close()
	g1, err := w.AppendGroup() // group 1 started, its keyframe not written yet
	if err != nil {
		t.Fatal(err)
	}
	sess := env.dial("quic", wire.Draft19, nil)
	sub, err := sess.Subscribe(env.ctx, testName("video"), nil) // Largest Object filter
	if err != nil {
		t.Fatal(err)
	}
	r := sub.Track().Reader(&ReaderOptions{Start: new(uint64)})
	defer r.Close()
	g1.WriteObject([]byte("keyframe"), nil)
	g1.WriteObject([]byte("delta"), nil)
	g1.Close()
	w.Close(nil)
	for {
		g, err := r.NextGroup(env.ctx)
		if err != nil {
			t.Fatalf("group 1 never arrived: %v", err)
		}
		if g.ID() != 1 {
			continue
		}
		o, err := g.ReadObject(env.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if o.ID != 0 || string(o.Payload) != "keyframe" {
			t.Fatalf("group 1 starts with object %d %q, want object 0 (the keyframe)", o.ID, o.Payload)
		}
		return
	}
}
