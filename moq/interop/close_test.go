package interop_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// TestPeerGracefulCloseSeenAsNoError: when a peer ends a session with
// NO_ERROR (draft-18 §3.5), the other side's session must report that close
// (SessionError{Code: NO_ERROR, Remote: true}), not close it again as a
// PROTOCOL_VIOLATION because its control-stream read failed first. Every
// interop case and every browser session ends this way, and the server logs
// "closing session ... PROTOCOL_VIOLATION ... read varint" for each.
func TestPeerGracefulCloseSeenAsNoError(t *testing.T) {
	for _, scheme := range []string{"moqt", "https"} {
		t.Run(scheme, func(t *testing.T) {
			started := make(chan struct{})
			ended := make(chan error, 1)
			cert, hash, err := moq.DevCert("127.0.0.1")
			if err != nil {
				t.Fatal(err)
			}
			srv := &moq.Server{
				TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
				Config:    &moq.Config{},
				Handle: func(s *moq.Session) {
					close(started)
					<-s.Context().Done()
					ended <- s.Err()
				},
			}
			addr, err := srv.Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := moq.Dial(ctx, fmt.Sprintf("%s://%s/x", scheme, addr), &moq.Config{}, &moq.DialOptions{CertHashes: [][]byte{hash}})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-started:
			case <-ctx.Done():
				t.Fatal("the server never established the session")
			}
			c.Close()
			select {
			case err := <-ended:
				var se *moq.SessionError
				if !errors.As(err, &se) || se.Code != wire.ErrNoError || !se.Remote {
					t.Errorf("server session ended with %v (%#v), want the peer's NO_ERROR close", err, se)
				}
			case <-ctx.Done():
				t.Fatal("server session did not end after the client closed")
			}
		})
	}
}

// TestEvictedGroupEndsWithError: a group that leaves a track's cache before
// it is complete must not look complete to a reader in the middle of it.
// Today the reader gets io.EOF after the objects it holds, so a relay serving
// the group ends the downstream subgroup stream with a FIN, which draft-18
// §10.4.4 {#closing-subgroup-streams} reserves for a subgroup whose objects
// were all delivered (otherwise: reset), and the subscriber believes it has
// the whole group. It bites on every subscription with the default cache of
// 2 groups when the publisher sends groups on parallel streams, as @moq/net
// does: group 0's last object (70000 bytes) was still arriving when group 2
// started, and a Go subscriber behind a relay got group 0 without it.
func TestEvictedGroupEndsWithError(t *testing.T) {
	name := wire.FullTrackName{Namespace: wire.NewNamespace("t"), Name: []byte("x")}
	track, w := moq.NewTrack(name, &moq.TrackConfig{MaxGroups: 2})
	g0, err := w.AppendGroup()
	if err != nil {
		t.Fatal(err)
	}
	if err := g0.WriteObject([]byte("first"), nil); err != nil {
		t.Fatal(err)
	}
	start := uint64(0)
	r := track.Reader(&moq.ReaderOptions{Start: &start})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gr, err := r.NextGroup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gr.ReadObject(ctx); err != nil {
		t.Fatal(err)
	}
	// Groups 1 and 2 start while group 0 is still open: group 0 leaves the
	// 2-group cache unfinished.
	for i := 0; i < 2; i++ {
		g, err := w.AppendGroup()
		if err != nil {
			t.Fatal(err)
		}
		g.WriteObject([]byte("later"), nil)
	}
	g0.WriteObject([]byte("last"), nil) // arrives after the eviction
	_, err = gr.ReadObject(ctx)
	if errors.Is(err, io.EOF) {
		t.Fatalf("reader of the evicted, unfinished group 0 got io.EOF, as if the group were complete; want an error")
	}
	if err == nil {
		t.Logf("reader got the late object (also fine)")
	}
}
