package moq

import (
	"context"
	"crypto/tls"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// TestNoRequestBeforeAccept pins a bug found by the relay (issue 4): the
// server served a peer's requests while Config.Accept was still vetting the
// session, so a session Accept refuses could still have a SUBSCRIBE answered.
// Requests must wait for Accept. (Accept here refuses after a while; the
// window only gives a buggy server the chance to misbehave: with the fix,
// Tracks is never called whatever the timing.)
func TestNoRequestBeforeAccept(t *testing.T) {
	cert, hash, err := DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Bool
	srv := &Server{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, Config: &Config{
		Accept: func(s *Session) error {
			time.Sleep(200 * time.Millisecond) // vetting takes a while (a window, not synchronisation)
			return errors.New("not welcome")
		},
		Tracks: TrackSourceFunc(func(ctx context.Context, s *Session, req *TrackRequest) (*Track, error) {
			served.Store(true)
			return nil, &RequestError{Code: wire.RequestDoesNotExist}
		}),
	}}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Dial(ctx, "moqt://"+addr.String(), nil, &DialOptions{CertHashes: [][]byte{hash}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Subscribe(ctx, wire.FullTrackName{Namespace: wire.NewNamespace("a"), Name: []byte("b")}, nil)
	if err == nil {
		t.Fatal("subscription on a refused session succeeded")
	}
	<-s.Context().Done()
	if served.Load() {
		t.Error("the server answered a request of a session its Accept refused")
	}
}
