package moq

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// TestDialResolve: DialOptions.Resolve chooses the address dialled (the
// URL's name is never looked up, and still names the server), and its
// error fails the dial before any packet is sent.
func TestDialResolve(t *testing.T) {
	env := newTestEnv(t, nil)
	_, port, _ := net.SplitHostPort(env.addr.String())
	for _, url := range []string{"moqt://relay.invalid:" + port + "/moq", "https://relay.invalid:" + port + "/moq"} {
		var asked atomic.Value
		opts := &DialOptions{CertHashes: [][]byte{env.hash}, Resolve: func(_ context.Context, hostport string) (string, error) {
			asked.Store(hostport)
			return env.addr.String(), nil
		}}
		s, err := Dial(env.ctx, url, nil, opts)
		if err != nil {
			t.Fatalf("dial %s through Resolve: %v", url, err)
		}
		s.Close()
		if got := asked.Load(); got != "relay.invalid:"+port {
			t.Errorf("%s: Resolve was asked %v", url, got)
		}
	}

	// A refusal: nothing reaches a UDP listener standing in for the target.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	errNo := errors.New("not this one")
	for _, url := range []string{"moqt://" + pc.LocalAddr().String() + "/moq", "https://" + pc.LocalAddr().String() + "/moq"} {
		_, err := Dial(env.ctx, url, nil, &DialOptions{CertHashes: [][]byte{env.hash}, Resolve: func(context.Context, string) (string, error) {
			return "", errNo
		}})
		if !errors.Is(err, errNo) {
			t.Errorf("dial %s with a refusing Resolve: %v", url, err)
		}
	}
	// The dials have returned: a packet they sent on loopback would already
	// be queued on the socket, so a short deadline only bounds the read.
	if err := pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, from, err := pc.ReadFrom(make([]byte, 2048)); err == nil {
		t.Errorf("a refused dial sent %d bytes from %s", n, from)
	}
}
