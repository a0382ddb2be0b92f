package moq

import (
	"bufio"
	"context"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// GOAWAY may also arrive on a request stream, to migrate that one request
// (draft-18 and -19 §10.4): it is not a protocol violation; the request goes
// on until the publisher ends it.
func TestGoAwayOnRequestStream(t *testing.T) {
	for _, v := range []wire.Version{wire.Draft18, wire.Draft19} {
		t.Run(v.ALPN(), func(t *testing.T) {
			tracks := make(chan *Track, 1)
			env := newTestEnv(t, &Config{OnPublish: func(_ context.Context, _ *Session, tr *Track) error {
				tracks <- tr
				return nil
			}})
			p := dialRaw(t, env, v)
			p.setup(v)
			s, err := p.conn.OpenStream()
			if err != nil {
				t.Fatal(err)
			}
			s.Write(p.msg(v, &wire.Publish{RequestID: 0, Track: testName("pushed"), TrackAlias: 7}))
			if _, err := wire.ReadMessage(bufio.NewReader(s), v, nil); err != nil {
				t.Fatalf("PUBLISH_OK: %v", err)
			}
			tr := <-tracks
			// GOAWAY for this request, then the publication ends.
			s.Write(p.msg(v, &wire.GoAway{Timeout: 1000}))
			s.Write(p.msg(v, &wire.PublishDone{Status: wire.DoneTrackEnded}))
			select {
			case <-tr.Done():
			case <-p.conn.Context().Done():
				t.Fatalf("session closed: %v", context.Cause(p.conn.Context()))
			case <-time.After(5 * time.Second):
				t.Fatal("the publication did not end after PUBLISH_DONE")
			}
			if _, err := tr.Closed(); err != nil {
				t.Fatalf("track ended with %v, want a clean end", err)
			}
			if err := context.Cause(p.conn.Context()); err != nil {
				t.Fatalf("session closed: %v", err)
			}
		})
	}
}
