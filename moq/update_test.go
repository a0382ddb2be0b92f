package moq

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/tributary-live/tributary/moq/wire"
)

// rawPublisher is a bare QUIC server speaking just enough MoQ for one
// subscription: SETUP, then SUBSCRIBE_OK; it then reads the request stream
// and hands each message to onMsg.
func rawPublisher(t *testing.T, v wire.Version, onMsg func(m wire.Message)) string {
	t.Helper()
	cert, _, err := DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := quic.ListenAddr("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{v.ALPN()}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	go func() {
		c, err := ln.Accept(ctx)
		if err != nil {
			return
		}
		defer c.CloseWithError(0, "")
		out, err := c.OpenUniStream()
		if err != nil {
			return
		}
		b, _ := wire.AppendMessage(nil, v, &wire.Setup{})
		out.Write(b)
		s, err := c.AcceptStream(ctx)
		if err != nil {
			return
		}
		r := bufio.NewReader(s)
		if _, err := wire.ReadMessage(r, v, nil); err != nil {
			return
		}
		b, _ = wire.AppendMessage(nil, v, &wire.SubscribeOK{TrackAlias: 1})
		s.Write(b)
		for {
			m, err := wire.ReadMessage(r, v, nil)
			if err != nil {
				<-ctx.Done()
				return
			}
			onMsg(m)
		}
	}()
	return "moqt://" + ln.Addr().String() + "/"
}

// REQUEST_UPDATE waits for its answer at most RequestTimeout, like every
// request (draft-18 §10.9): a publisher that never answers must not hang
// the caller, whatever context it passed.
func TestUpdateWaitIsBounded(t *testing.T) {
	v := wire.Draft19
	url := rawPublisher(t, v, func(wire.Message) {}) // never answers
	lim := DefaultLimits()
	lim.RequestTimeout = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, err := Dial(ctx, url, &Config{Versions: []wire.Version{v}, Limits: lim}, &DialOptions{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	sub, err := sess.Subscribe(ctx, testName("video"), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sub.Update(context.Background(), wire.Params{Forward: wire.Ptr(false)}) }()
	select {
	case err := <-done:
		var re *RequestError
		if !errors.As(err, &re) || re.Code != wire.RequestTimeout {
			t.Fatalf("Update: %v, want a TIMEOUT request error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Update without an answer did not return within the request timeout")
	}
}
