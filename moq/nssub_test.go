package moq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// A Next whose context ends returns the context's error and leaves the
// namespace subscription open: the event that comes later is not lost.
func TestNamespaceNextTimeoutKeepsSubscription(t *testing.T) {
	forEach(t, func(t *testing.T, transport string, v wire.Version) {
		events := make(chan NamespaceEvent)
		env := newTestEnv(t, &Config{
			OnSubscribeNamespace: func(ctx context.Context, s *Session, prefix wire.Namespace) (<-chan NamespaceEvent, error) {
				return events, nil
			},
		})
		sess := env.dial(transport, v, nil)
		ns, err := sess.SubscribeNamespace(env.ctx, wire.NewNamespace("example.social"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ns.Close()
		short, cancel := context.WithTimeout(env.ctx, 20*time.Millisecond)
		_, err = ns.Next(short)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Next with nothing to read: %v, want the context's deadline", err)
		}
		want := wire.NewNamespace("example.social", "bob", "live")
		select {
		case events <- NamespaceEvent{Namespace: want, Active: true}:
		case <-env.ctx.Done():
			t.Fatal("the server stopped taking events after the client's timeout")
		}
		ev, err := ns.Next(env.ctx)
		if err != nil || !ev.Active || !ev.Namespace.Equal(want) {
			t.Fatalf("event after a timed-out Next: %+v, %v", ev, err)
		}
	})
}

// A subscriber that ends its side of a SUBSCRIBE_NAMESPACE stream and never
// reads: the server's NAMESPACE writes fill the stream's flow-control window
// and block; the subscriber's FIN must end them, not leave the serving
// goroutine blocked for the session's life.
func TestNamespaceWriteUnblocksOnPeerFIN(t *testing.T) {
	v := wire.Draft19
	var produced atomic.Int64
	env := newTestEnv(t, &Config{
		OnSubscribeNamespace: func(ctx context.Context, s *Session, prefix wire.Namespace) (<-chan NamespaceEvent, error) {
			ch := make(chan NamespaceEvent)
			go func() {
				long := strings.Repeat("x", 1000)
				for i := 0; ; i++ {
					select {
					case ch <- NamespaceEvent{Namespace: wire.NewNamespace("example.social", fmt.Sprint(i), long), Active: true}:
						produced.Add(1)
					case <-ctx.Done():
						return
					}
				}
			}()
			return ch, nil
		},
	})
	p := dialRaw(t, env, v)
	p.setup(v)
	s, err := p.conn.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	s.Write(p.msg(v, &wire.SubscribeNamespace{RequestID: 0, Prefix: wire.NewNamespace("example.social")}))
	br := bufio.NewReader(s)
	if m, err := wire.ReadMessage(br, v, nil); err != nil {
		t.Fatalf("REQUEST_OK: %v", err)
	} else if _, ok := m.(*wire.RequestOK); !ok {
		t.Fatalf("answer %T", m)
	}
	// Let the server fill the window: read nothing more, and wait until it is
	// blocked writing.
	// writing counts goroutines serving a SUBSCRIBE_NAMESPACE from inside a
	// stream write (other tests' serving goroutines, if any linger, wait
	// for events, not in a write).
	writing := func() int {
		buf := make([]byte, 4<<20)
		n := 0
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "serveSubscribeNamespace") && strings.Contains(g, "SendStream).Write") {
				n++
			}
		}
		return n
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	last, still := int64(-1), 0
	for {
		// Blocked: inside Write, and no event taken for five polls.
		if n := produced.Load(); writing() > 0 && n == last {
			if still++; still == 5 {
				t.Logf("the server blocked after %d NAMESPACE messages", n)
				break
			}
		} else {
			last, still = n, 0
		}
		select {
		case <-tick.C:
		case <-env.ctx.Done():
			t.Fatal("the server's NAMESPACE writes never blocked")
		}
	}
	s.Close() // FIN: the subscriber is done, and still reads nothing
	for writing() > 0 {
		select {
		case <-tick.C:
		case <-env.ctx.Done():
			t.Fatal("serveSubscribeNamespace still blocked after the subscriber's FIN")
		}
	}
}
