package moq

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// A track that ends right after SUBSCRIBE_OK: PUBLISH_DONE crosses the
// subscriber's joining FETCH, which reaches the server after the
// subscription is gone. The joined group must still reach the subscriber's
// track before it ends: the server serves a joining FETCH of a subscription
// that has just ended, and the subscriber ends its track only once the
// joining FETCH is done.
func TestJoinedGroupSurvivesEarlyPublishDone(t *testing.T) {
	track, w := NewTrack(testName("short"), nil)
	g, _ := w.AppendGroup()
	for _, p := range []string{"a", "b", "c"} {
		g.WriteObject([]byte(p), nil)
	}
	env := newTestEnv(t, nil)
	env.origin.add(track)
	sess := env.dial("quic", wire.Draft19, nil)
	sub, err := sess.Subscribe(env.ctx, testName("short"), &SubscribeOptions{JoinGroup: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	g.Close()
	w.Close(nil) // PUBLISH_DONE goes out while the joining FETCH is on its way
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		sub.mu.Lock()
		done := sub.done != nil
		sub.mu.Unlock()
		if done {
			break
		}
		select {
		case <-tick.C:
		case <-env.ctx.Done():
			t.Fatal("no PUBLISH_DONE")
		}
	}
	r := sub.Track().Reader(nil)
	defer r.Close()
	gr, err := r.NextGroup(env.ctx)
	if err != nil {
		t.Fatalf("the joined group was lost: %v", err)
	}
	var got []string
	for {
		o, err := gr.ReadObject(env.ctx)
		if err != nil {
			break
		}
		got = append(got, string(o.Payload))
	}
	if len(got) != 3 || got[0] != "a" || got[2] != "c" {
		t.Fatalf("joined group %v, want [a b c]", got)
	}
	if _, err := r.NextGroup(env.ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("after the joined group: %v, want the track's end", err)
	}
}
