package moq

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/tributary-live/tributary/moq/wire"
)

// Stalled input (issue #12 item 4): a peer that starts something and never
// finishes it must not hold the server's resources forever.

// TestStalledMessageClosesSession: a control or request message whose
// Length promises more than the peer sends closes the session with
// CONTROL_MESSAGE_TIMEOUT once Limits.MessageTimeout has passed, instead of
// waiting for the rest forever (draft-18 §13.6, §3.5).
func TestStalledMessageClosesSession(t *testing.T) {
	v := wire.Draft19
	lim := DefaultLimits()
	lim.MessageTimeout = 300 * time.Millisecond
	env := newTestEnv(t, &Config{Limits: lim})
	// Type, a Length of 65,535 and only 10 bytes of body.
	short := func(typ uint64) []byte {
		return append(wire.AppendVarint(nil, typ), append([]byte{0xff, 0xff}, make([]byte, 10)...)...)
	}
	cases := []struct {
		name string
		act  func(p *rawPeer)
	}{
		{"control message", func(p *rawPeer) { p.setup(v, short(wire.MsgGoAway)) }},
		{"request message", func(p *rawPeer) {
			p.setup(v)
			s, _ := p.conn.OpenStream()
			s.Write(short(wire.MsgSubscribe))
		}},
		{"request message type cut short", func(p *rawPeer) {
			p.setup(v)
			s, _ := p.conn.OpenStream()
			s.Write([]byte{0x80}) // the first byte of a two-byte varint (§1.4.1)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := dialRaw(t, env, v)
			start := time.Now()
			tc.act(p)
			ctx, cancel := context.WithTimeout(env.ctx, 5*time.Second)
			defer cancel()
			code, reason := p.closedWith(ctx)
			if code != wire.ErrControlMessageTimeout || !strings.Contains(reason, "MessageTimeout") {
				t.Fatalf("closed with %v (%s), want CONTROL_MESSAGE_TIMEOUT naming MessageTimeout", code, reason)
			}
			if d := time.Since(start); d < lim.MessageTimeout {
				t.Fatalf("closed after %v, before MessageTimeout", d)
			}
		})
	}
	// Other sessions go on.
	sess := env.dial("quic", v, nil)
	if _, err := sess.TrackStatus(env.ctx, testName("none"), nil); !errors.Is(err, &RequestError{Code: wire.RequestDoesNotExist}) {
		t.Fatalf("a well-behaved session after the stalled ones: %v", err)
	}
}

// stopped waits for the server to stop s (STOP_SENDING) and returns its code.
func stopped(t *testing.T, ctx context.Context, s *quic.SendStream) wire.ResetCode {
	t.Helper()
	select {
	case <-s.Context().Done():
	case <-ctx.Done():
		t.Fatal("the server did not stop the stream")
	}
	var se *quic.StreamError
	if err := context.Cause(s.Context()); !errors.As(err, &se) || !se.Remote {
		t.Fatalf("stream ended without the peer's STOP_SENDING: %v", err)
	}
	return wire.ResetCode(se.ErrorCode)
}

// TestSilentDataStreamIsStopped: a data stream whose type or header does not
// arrive within Limits.StreamHeaderTimeout is stopped (STOP_SENDING), and
// the session goes on (draft-18 §3.5, DATA_STREAM_TIMEOUT).
func TestSilentDataStreamIsStopped(t *testing.T) {
	v := wire.Draft19
	lim := DefaultLimits()
	lim.StreamHeaderTimeout = 300 * time.Millisecond
	env := newTestEnv(t, &Config{Limits: lim})
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"stream type cut short", []byte{0x80}}, // a two-byte varint's first byte
		{"subgroup header missing", wire.AppendVarint(nil, 0x10)},
		{"fetch header missing", wire.AppendVarint(nil, wire.StreamTypeFetch)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := dialRaw(t, env, v)
			p.setup(v)
			s, err := p.conn.OpenUniStream()
			if err != nil {
				t.Fatal(err)
			}
			s.Write(tc.bytes)
			ctx, cancel := context.WithTimeout(env.ctx, 5*time.Second)
			defer cancel()
			if code := stopped(t, ctx, s); code != wire.ResetCancelled {
				t.Fatalf("stopped with %v, want CANCELLED", code)
			}
			if err := p.conn.Context().Err(); err != nil {
				t.Fatalf("the session ended with the stream: %v", context.Cause(p.conn.Context()))
			}
		})
	}
}

// TestPendingDataStreamsAreBounded: the data streams whose header has not
// arrived are bounded by Limits.MaxPendingUniStreams; one more is stopped
// at once with EXCESSIVE_LOAD, not held until its header timeout.
func TestPendingDataStreamsAreBounded(t *testing.T) {
	v := wire.Draft19
	lim := DefaultLimits()
	lim.MaxPendingUniStreams = 2
	lim.StreamHeaderTimeout = time.Minute
	env := newTestEnv(t, &Config{Limits: lim})
	p := dialRaw(t, env, v)
	p.setup(v)
	var streams []*quic.SendStream
	for range lim.MaxPendingUniStreams + 1 {
		s, err := p.conn.OpenUniStream()
		if err != nil {
			t.Fatal(err)
		}
		s.Write(wire.AppendVarint(nil, 0x10)) // a subgroup stream, its header never sent
		streams = append(streams, s)
	}
	first := make(chan *quic.SendStream, len(streams))
	for _, s := range streams {
		context.AfterFunc(s.Context(), func() { first <- s })
	}
	ctx, cancel := context.WithTimeout(env.ctx, 5*time.Second)
	defer cancel()
	var s *quic.SendStream
	select {
	case s = <-first:
	case <-ctx.Done():
		t.Fatal("no stream was stopped")
	}
	if code := stopped(t, ctx, s); code != wire.ResetExcessiveLoad {
		t.Fatalf("stopped with %v, want EXCESSIVE_LOAD", code)
	}
	for _, o := range streams {
		if o != s && o.Context().Err() != nil {
			t.Fatalf("a stream within the bound was stopped too: %v", context.Cause(o.Context()))
		}
	}
}

// idleEnv is a server with a short IdleTimeout whose QUIC keep-alives are
// frequent, recording each idle check of its sessions.
type idleEnv struct {
	*testEnv
	mu     sync.Mutex
	checks map[*Session]int // idle checks that found the session busy
	change chan struct{}    // closed and replaced on each check
}

func newIdleEnv(t *testing.T, idle time.Duration) *idleEnv {
	t.Helper()
	e := &idleEnv{checks: make(map[*Session]int), change: make(chan struct{})}
	lim := DefaultLimits()
	lim.IdleTimeout = idle
	events := make(chan NamespaceEvent)
	cfg := &Config{
		Limits:             lim,
		OnPublishNamespace: func(context.Context, *Session, wire.Namespace) error { return nil },
		OnPublish:          func(context.Context, *Session, *Track) error { return nil },
		OnSubscribeNamespace: func(context.Context, *Session, wire.Namespace) (<-chan NamespaceEvent, error) {
			return events, nil
		},
		idleProbe: func(s *Session, idle bool) {
			e.mu.Lock()
			defer e.mu.Unlock()
			if !idle {
				e.checks[s]++
			}
			close(e.change)
			e.change = make(chan struct{})
		},
	}
	// The server's own keep-alives flow far more often than the idle
	// timeout: they must not count as activity.
	e.testEnv = newTestEnvQUIC(t, cfg, &quic.Config{KeepAlivePeriod: idle / 10})
	return e
}

// busyChecks waits until the server sessions have each been found busy n
// times.
func (e *idleEnv) busyChecks(t *testing.T, n int, sessions ...*Session) {
	t.Helper()
	for {
		e.mu.Lock()
		done := true
		for _, s := range sessions {
			done = done && e.checks[s] >= n
		}
		ch := e.change
		e.mu.Unlock()
		if done {
			return
		}
		select {
		case <-ch:
		case <-e.ctx.Done():
			t.Fatal("the sessions were not found busy at every idle check (closed as idle?)")
		}
	}
}

// TestIdleServerSessionIsClosed: a server-side session with no request in
// progress for Limits.IdleTimeout is closed, though QUIC keep-alives flow;
// a viewer that subscribed, a publisher that only published a namespace or
// a track and a namespace subscriber are busy and stay.
func TestIdleServerSessionIsClosed(t *testing.T) {
	v := wire.Draft19
	idle := 500 * time.Millisecond
	env := newIdleEnv(t, idle)
	track, w := NewTrack(testName("video"), nil)
	defer w.Close(nil)
	env.origin.add(track)

	closedIdle := func(t *testing.T, c *Session) {
		t.Helper()
		select {
		case <-c.Context().Done():
		case <-env.ctx.Done():
			t.Fatal("the idle session was not closed")
		}
		var se *SessionError
		if err := c.Err(); !errors.As(err, &se) || !se.Remote || se.Code != wire.ErrNoError || !strings.Contains(se.Reason, "idle") {
			t.Fatalf("closed with %v, want the server's NO_ERROR naming idleness", err)
		}
	}

	t.Run("no request", func(t *testing.T) {
		start := time.Now()
		c := env.dial("quic", v, nil)
		<-env.sessions
		closedIdle(t, c)
		if d := time.Since(start); d < idle {
			t.Fatalf("closed after %v, before IdleTimeout", d)
		}
	})
	t.Run("one finished request", func(t *testing.T) {
		c := env.dial("webtransport", v, nil)
		<-env.sessions
		if _, err := c.TrackStatus(env.ctx, testName("video"), nil); err != nil {
			t.Fatal(err)
		}
		closedIdle(t, c)
	})

	t.Run("busy sessions stay", func(t *testing.T) {
		var clients, servers []*Session
		add := func(c *Session) {
			clients = append(clients, c)
			servers = append(servers, <-env.sessions)
		}
		viewer := env.dial("quic", v, nil)
		add(viewer)
		if _, err := viewer.Subscribe(env.ctx, testName("video"), nil); err != nil {
			t.Fatal(err)
		}
		announcer := env.dial("webtransport", v, nil)
		add(announcer)
		if _, err := announcer.PublishNamespace(env.ctx, wire.NewNamespace("example.social", "bob"), nil); err != nil {
			t.Fatal(err)
		}
		publisher := env.dial("quic", v, nil)
		add(publisher)
		pt, pw := NewTrack(testName("pushed"), nil)
		defer pw.Close(nil)
		if _, err := publisher.Publish(env.ctx, pt, nil); err != nil {
			t.Fatal(err)
		}
		watcher := env.dial("quic", v, nil)
		add(watcher)
		if _, err := watcher.SubscribeNamespace(env.ctx, wire.NewNamespace("example.social"), nil); err != nil {
			t.Fatal(err)
		}
		// Two checks each: the sessions have been set up for more than
		// one IdleTimeout, with nothing but their open request.
		env.busyChecks(t, 2, servers...)
		for i, c := range clients {
			if err := c.Err(); err != nil {
				t.Fatalf("busy session %d was closed: %v", i, err)
			}
		}
	})

	t.Run("clients and disabled servers do not watch", func(t *testing.T) {
		c := env.dial("quic", v, &Config{Limits: &Limits{IdleTimeout: time.Millisecond}})
		<-env.sessions
		c.mu.Lock()
		watching := c.idleTimer != nil
		c.mu.Unlock()
		if watching {
			t.Fatal("a client session watches IdleTimeout")
		}
		lim := DefaultLimits()
		lim.IdleTimeout = -1
		e := newTestEnv(t, &Config{Limits: lim})
		e.dial("quic", v, nil)
		s := <-e.sessions
		s.mu.Lock()
		watching = s.idleTimer != nil
		s.mu.Unlock()
		if watching {
			t.Fatal("a server session with IdleTimeout < 0 watches it")
		}
	})
}

// TestAuthorities: a server with Config.Authorities refuses a session whose
// authority it does not serve with INVALID_AUTHORITY, a malformed AUTHORITY
// with MALFORMED_AUTHORITY (draft-18 and -19 §10.3.1.1); the default serves
// every authority.
func TestAuthorities(t *testing.T) {
	v := wire.Draft19
	for _, tc := range []struct {
		name        string
		authorities []string
		want        wire.ErrorCode // 0: accepted
	}{
		{"default accepts", nil, 0},
		{"host served on any port", []string{"example.org", "127.0.0.1"}, 0},
		{"host and port served", []string{"127.0.0.1:{port}"}, 0},
		{"host not served", []string{"example.org"}, wire.ErrInvalidAuthority},
		{"port not served", []string{"127.0.0.1:1"}, wire.ErrInvalidAuthority},
	} {
		for _, transport := range []string{"quic", "webtransport"} {
			t.Run(tc.name+"/"+transport, func(t *testing.T) {
				// The configuration is complete before the server starts
				// (it reads it as sessions arrive): the port is picked first.
				port := freeUDPPort(t)
				cfg := &Config{}
				for _, a := range tc.authorities {
					cfg.Authorities = append(cfg.Authorities, strings.ReplaceAll(a, "{port}", port))
				}
				env := newTestEnvAt(t, cfg, nil, "127.0.0.1:"+port)
				c, err := Dial(env.ctx, env.url(transport), &Config{Versions: []wire.Version{v}}, &DialOptions{CertHashes: [][]byte{env.hash}})
				if err == nil {
					t.Cleanup(func() { c.Close() })
				}
				if tc.want == 0 {
					if err != nil {
						t.Fatal(err)
					}
					if _, err := c.TrackStatus(env.ctx, testName("none"), nil); !errors.Is(err, &RequestError{Code: wire.RequestDoesNotExist}) {
						t.Fatalf("session not served: %v", err)
					}
					return
				}
				if err == nil {
					select {
					case <-c.Context().Done():
						err = c.Err()
					case <-time.After(5 * time.Second):
						t.Fatal("the session was not refused")
					}
				}
				var se *SessionError
				if !errors.As(err, &se) || se.Code != tc.want {
					t.Fatalf("got %v, want the session closed with %v", err, tc.want)
				}
			})
		}
	}

	t.Run("malformed", func(t *testing.T) {
		env := newTestEnv(t, &Config{Authorities: []string{"127.0.0.1"}})
		p := dialRaw(t, env, v)
		s, err := p.conn.OpenUniStream()
		if err != nil {
			t.Fatal(err)
		}
		s.Write(p.msg(v, &wire.Setup{Authority: wire.Ptr("not an authority")}))
		if code, reason := p.closedWith(env.ctx); code != wire.ErrMalformedAuthority {
			t.Fatalf("closed with %v (%s), want MALFORMED_AUTHORITY", code, reason)
		}
	})
}

// TestServerSendingAuthority: a server's SETUP must not carry AUTHORITY; the
// client closes the session with INVALID_AUTHORITY, not INVALID_PATH
// (draft-18 and -19 §10.3.1.1).
func TestServerSendingAuthority(t *testing.T) {
	v := wire.Draft19
	cert, hash, err := DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := quic.ListenAddr("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{v.ALPN()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() {
		c, err := ln.Accept(ctx)
		if err != nil {
			closed <- err
			return
		}
		s, err := c.OpenUniStream()
		if err != nil {
			closed <- err
			return
		}
		b, _ := wire.AppendMessage(nil, v, &wire.Setup{Authority: wire.Ptr("example.org")})
		s.Write(b)
		<-c.Context().Done()
		closed <- context.Cause(c.Context())
	}()
	_, err = Dial(ctx, "moqt://"+ln.Addr().String(), &Config{Versions: []wire.Version{v}}, &DialOptions{CertHashes: [][]byte{hash}})
	if !errors.Is(err, wire.ErrInvalidAuthority) {
		t.Fatalf("dial: %v, want INVALID_AUTHORITY", err)
	}
	var ae *quic.ApplicationError
	if err := <-closed; !errors.As(err, &ae) || wire.ErrorCode(ae.ErrorCode) != wire.ErrInvalidAuthority {
		t.Fatalf("server saw %v, want INVALID_AUTHORITY", err)
	}
}

// freeUDPPort returns a UDP port free on 127.0.0.1 when asked.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, port, _ := net.SplitHostPort(c.LocalAddr().String())
	return port
}
