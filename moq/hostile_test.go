package moq

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/tributary-live/tributary/moq/wire"
)

// Hostile peers: each case speaks raw QUIC to the server, breaks one rule,
// and expects the server to close that session with the draft's code while
// a well-behaved viewer on another session keeps receiving.

type rawPeer struct {
	t    *testing.T
	conn *quic.Conn
	ctrl *quic.SendStream
}

func dialRaw(t *testing.T, env *testEnv, v wire.Version) *rawPeer {
	t.Helper()
	conf := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{v.ALPN()}}
	c, err := quic.DialAddr(env.ctx, env.addr.String(), conf, &quic.Config{EnableDatagrams: true, MaxIncomingUniStreams: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseWithError(0, "") })
	return &rawPeer{t: t, conn: c}
}

func (p *rawPeer) msg(v wire.Version, m wire.Message) []byte {
	b, err := wire.AppendMessage(nil, v, m)
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

// setup opens the control stream and sends SETUP (plus extra bytes).
func (p *rawPeer) setup(v wire.Version, extra ...[]byte) {
	s, err := p.conn.OpenUniStream()
	if err != nil {
		p.t.Fatal(err)
	}
	p.ctrl = s
	b := p.msg(v, &wire.Setup{})
	for _, e := range extra {
		b = append(b, e...)
	}
	if _, err := s.Write(b); err != nil {
		p.t.Fatal(err)
	}
}

// publish sends PUBLISH for a track with the given alias and waits for PUBLISH_OK,
// so data streams with that alias reach the object parser.
func (p *rawPeer) publish(v wire.Version, alias uint64) {
	p.t.Helper()
	s, err := p.conn.OpenStream()
	if err != nil {
		p.t.Fatal(err)
	}
	s.Write(p.msg(v, &wire.Publish{RequestID: 0, Track: testName("pushed"), TrackAlias: alias}))
	if _, err := wire.ReadMessage(bufioReader(s), v, nil); err != nil {
		p.t.Fatalf("PUBLISH_OK: %v", err)
	}
}

// closedWith waits for the server to close the connection and returns its code.
func (p *rawPeer) closedWith(ctx context.Context) (wire.ErrorCode, string) {
	p.t.Helper()
	select {
	case <-p.conn.Context().Done():
	case <-ctx.Done():
		p.t.Fatal("the server did not close the session")
	}
	var ae *quic.ApplicationError
	if err := context.Cause(p.conn.Context()); errors.As(err, &ae) && ae.Remote {
		return wire.ErrorCode(ae.ErrorCode), ae.ErrorMessage
	}
	p.t.Fatalf("closed without an application code: %v", context.Cause(p.conn.Context()))
	return 0, ""
}

// frame builds a control message with a raw type and body.
func frame(typ uint64, body []byte) []byte {
	b := wire.AppendVarint(nil, typ)
	b = append(b, byte(len(body)>>8), byte(len(body)))
	return append(b, body...)
}

func subscribeBody(reqID uint64, nsFields int, name []byte) []byte {
	b := wire.AppendVarint(nil, reqID)
	b = wire.AppendVarint(b, uint64(nsFields))
	for i := 0; i < nsFields; i++ {
		b = wire.AppendVarint(b, 1)
		b = append(b, 'x')
	}
	b = wire.AppendVarint(b, uint64(len(name)))
	b = append(b, name...)
	return wire.AppendVarint(b, 0) // no parameters
}

func TestHostilePeers(t *testing.T) {
	v := wire.Draft19
	lim := DefaultLimits()
	lim.SetupTimeout = 2 * time.Second
	lim.MaxSubscriptions = 2
	lim.UnknownAliasWait = 50 * time.Millisecond
	lim.Wire.MaxObjectPayload = 1 << 20
	env := newTestEnv(t, &Config{Limits: lim, OnPublish: func(context.Context, *Session, *Track) error { return nil }})
	track, w := NewTrack(testName("video"), &TrackConfig{MaxGroups: 2})
	env.origin.add(track)

	// A well-behaved viewer watches throughout.
	viewer := env.dial("quic", v, nil)
	vsub, err := viewer.Subscribe(env.ctx, testName("video"), &SubscribeOptions{Filter: &wire.SubscriptionFilter{Type: wire.FilterNextGroupStart}})
	if err != nil {
		t.Fatal(err)
	}
	vr := vsub.Track().Reader(nil)
	defer vr.Close()
	var group uint64
	viewerStillServed := func(t *testing.T) {
		t.Helper()
		gw, err := w.AppendGroup()
		if err != nil {
			t.Fatal(err)
		}
		group = gw.ID()
		gw.WriteObject([]byte("still here"), nil)
		gw.Close()
		for {
			g, err := vr.NextGroup(env.ctx)
			if err != nil {
				t.Fatalf("viewer lost its subscription: %v", err)
			}
			if g.ID() == group {
				o, err := g.ReadObject(env.ctx)
				if err != nil || string(o.Payload) != "still here" {
					t.Fatalf("viewer got %q %v", o.Payload, err)
				}
				return
			}
		}
	}

	subscribe := func(reqID uint64) []byte {
		return frame(wire.MsgSubscribe, subscribeBody(reqID, 3, []byte("video")))
	}

	cases := []struct {
		name string
		// act misbehaves; it may send a SETUP first.
		act  func(p *rawPeer)
		want wire.ErrorCode
	}{
		{"setup never sent", func(p *rawPeer) {}, wire.ErrControlMessageTimeout},
		{"control stream closed", func(p *rawPeer) { p.setup(v); p.ctrl.Close() }, wire.ErrProtocolViolation},
		{"truncated setup then FIN", func(p *rawPeer) {
			s, _ := p.conn.OpenUniStream()
			s.Write(p.msg(v, &wire.Setup{})[:3])
			s.Close()
		}, wire.ErrProtocolViolation},
		{"control message longer than its frame", func(p *rawPeer) {
			p.setup(v, []byte{0x10, 0xff, 0xff, 0x01})
			p.ctrl.Close()
		}, wire.ErrProtocolViolation},
		{"unknown control message type", func(p *rawPeer) { p.setup(v, frame(0x3f, nil)) }, wire.ErrProtocolViolation},
		{"second SETUP", func(p *rawPeer) { p.setup(v, p.msg(v, &wire.Setup{})) }, wire.ErrProtocolViolation},
		{"two GOAWAYs", func(p *rawPeer) {
			g := p.msg(v, &wire.GoAway{})
			p.setup(v, g, g)
		}, wire.ErrProtocolViolation},
		{"client GOAWAY with a URI", func(p *rawPeer) { p.setup(v, p.msg(v, &wire.GoAway{NewSessionURI: "moqt://x"})) }, wire.ErrProtocolViolation},
		{"request stream starting with a response", func(p *rawPeer) {
			p.setup(v)
			s, _ := p.conn.OpenStream()
			s.Write(p.msg(v, &wire.RequestOK{}))
		}, wire.ErrProtocolViolation},
		{"request ID with the server's parity", func(p *rawPeer) {
			p.setup(v)
			s, _ := p.conn.OpenStream()
			s.Write(subscribe(1))
		}, wire.ErrInvalidRequestID},
		{"duplicate request ID", func(p *rawPeer) {
			p.setup(v)
			s1, _ := p.conn.OpenStream()
			s1.Write(subscribe(0))
			s2, _ := p.conn.OpenStream()
			s2.Write(subscribe(0))
		}, wire.ErrInvalidRequestID},
		{"namespace with too many fields", func(p *rawPeer) {
			p.setup(v)
			s, _ := p.conn.OpenStream()
			s.Write(frame(wire.MsgSubscribe, subscribeBody(0, 40, []byte("video"))))
		}, wire.ErrProtocolViolation},
		{"track name over 4096 bytes", func(p *rawPeer) {
			p.setup(v)
			s, _ := p.conn.OpenStream()
			s.Write(frame(wire.MsgSubscribe, subscribeBody(0, 1, bytes.Repeat([]byte("n"), 5000))))
		}, wire.ErrProtocolViolation},
		{"unknown parameter", func(p *rawPeer) {
			p.setup(v)
			body := subscribeBody(0, 3, []byte("video"))
			body = append(body[:len(body)-1], 1, 0x3d, 0) // one parameter of unknown type 0x3d
			s, _ := p.conn.OpenStream()
			s.Write(frame(wire.MsgSubscribe, body))
		}, wire.ErrProtocolViolation},
		{"trailing bytes in a message", func(p *rawPeer) {
			p.setup(v)
			s, _ := p.conn.OpenStream()
			s.Write(frame(wire.MsgSubscribe, append(subscribeBody(0, 3, []byte("video")), 0, 0, 0)))
		}, wire.ErrProtocolViolation},
		{"unknown stream type", func(p *rawPeer) {
			p.setup(v)
			s, _ := p.conn.OpenUniStream()
			s.Write(wire.AppendVarint(nil, 0x7777))
		}, wire.ErrProtocolViolation},
		{"garbage datagram", func(p *rawPeer) {
			p.setup(v)
			// Wait for the session to be set up so the datagram is read.
			viewerStillServed(t)
			p.conn.SendDatagram([]byte{0xff, 0xff, 0xff})
		}, wire.ErrProtocolViolation},
		{"object payload over the limit", func(p *rawPeer) {
			p.setup(v)
			p.publish(v, 99)
			s, _ := p.conn.OpenUniStream()
			h := wire.SubgroupHeader{TrackAlias: 99, Group: 0, SubgroupMode: wire.SubgroupIDZero}
			b := h.Append(nil)
			b = wire.AppendVarint(b, 0)     // object ID
			b = wire.AppendVarint(b, 2<<20) // payload length: 2 MiB > 1 MiB
			s.Write(b)
		}, wire.ErrProtocolViolation},
		{"truncated subgroup header", func(p *rawPeer) {
			p.setup(v)
			s, _ := p.conn.OpenUniStream()
			s.Write([]byte{0x10, 0xff})
			s.Close()
		}, wire.ErrProtocolViolation},
		{"fetch stream without a header", func(p *rawPeer) {
			p.setup(v)
			s, _ := p.conn.OpenUniStream()
			s.Write([]byte{0x05})
			s.Close()
		}, wire.ErrProtocolViolation},
		{"object ID delta overflow", func(p *rawPeer) {
			p.setup(v)
			p.publish(v, 0)
			s, _ := p.conn.OpenUniStream()
			h := wire.SubgroupHeader{TrackAlias: 0, Group: 0, SubgroupMode: wire.SubgroupIDZero}
			b := h.Append(nil)
			b = wire.AppendVarint(b, ^uint64(0)-1) // first object ID near the top
			b = wire.AppendVarint(b, 1)
			b = append(b, 'x')
			b = wire.AppendVarint(b, ^uint64(0)) // delta that overflows
			b = wire.AppendVarint(b, 1)
			b = append(b, 'y')
			s.Write(b)
		}, wire.ErrProtocolViolation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := dialRaw(t, env, v)
			tc.act(p)
			ctx, cancel := context.WithTimeout(env.ctx, 5*time.Second)
			defer cancel()
			code, reason := p.closedWith(ctx)
			if code != tc.want {
				t.Fatalf("closed with %v (%s), want %v", code, reason, tc.want)
			}
			viewerStillServed(t)
		})
	}

	t.Run("too many subscriptions", func(t *testing.T) {
		sess := env.dial("quic", v, nil)
		var last error
		for i := 0; i < 3; i++ {
			_, last = sess.Subscribe(env.ctx, testName("video"), nil)
		}
		var re *RequestError
		if !errors.As(last, &re) || re.Code != wire.RequestExcessiveLoad {
			t.Fatalf("third subscription: %v, want EXCESSIVE_LOAD", last)
		}
		viewerStillServed(t)
	})

	t.Run("stream flood is bounded by the transport", func(t *testing.T) {
		p := dialRaw(t, env, v)
		p.setup(v)
		opened := 0
		for i := 0; i < 5000; i++ {
			if _, err := p.conn.OpenUniStream(); err != nil {
				break
			}
			opened++
		}
		if opened > lim.MaxIncomingUniStreams+1 {
			t.Fatalf("opened %d streams, limit %d", opened, lim.MaxIncomingUniStreams)
		}
		viewerStillServed(t)
	})

	t.Run("a viewer that never reads keeps memory bounded", func(t *testing.T) {
		// A raw subscriber that never reads its data streams: the server's
		// sends block on flow control, old groups are dropped, and the
		// other viewer is unaffected.
		p := dialRaw(t, env, v)
		p.setup(v)
		s, _ := p.conn.OpenStream()
		s.Write(subscribe(0))
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		big := bytes.Repeat([]byte("v"), 64<<10)
		for g := 0; g < 40; g++ {
			gw, err := w.AppendGroup()
			if err != nil {
				t.Fatal(err)
			}
			for o := 0; o < 8; o++ {
				gw.WriteObject(big, nil)
			}
			gw.Close()
		}
		viewerStillServed(t)
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		// 40 groups of 512 KiB were published (20 MiB); what stays is the
		// 2-group cache and what the transport buffers for the stuck peer.
		if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 16<<20 {
			t.Fatalf("heap grew by %d MiB for a peer that never reads", grown>>20)
		}
	})
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
