package moq

import (
	"errors"
	"testing"

	"github.com/tributary-live/tributary/moq/wire"
)

// A Joining FETCH is only permitted while the joined subscription forwards
// (Forward State 1); otherwise the publisher answers INVALID_RANGE
// (draft-18 §10.12.2).
func TestJoiningFetchNeedsForwarding(t *testing.T) {
	env := newTestEnv(t, nil)
	track, w := NewTrack(testName("video"), &TrackConfig{MaxGroups: 2})
	env.origin.add(track)
	gw, _ := w.AppendGroup()
	gw.WriteObject([]byte("key"), nil)
	gw.WriteObject([]byte("delta"), nil)
	sess := env.dial("quic", wire.Draft19, nil)
	sub, err := sess.Subscribe(env.ctx, testName("video"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if err := sub.Update(env.ctx, wire.Params{Forward: wire.Ptr(false)}); err != nil {
		t.Fatal(err)
	}
	f, err := sess.Fetch(env.ctx, &FetchRequest{Joining: sub})
	var re *RequestError
	if !errors.As(err, &re) || re.Code != wire.RequestInvalidRange {
		if f != nil {
			f.Close()
		}
		t.Fatalf("joining FETCH on a subscription with Forward 0: %v, want INVALID_RANGE", err)
	}
	// Forwarding again, the joining fetch is served.
	if err := sub.Update(env.ctx, wire.Params{Forward: wire.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	f, err = sess.Fetch(env.ctx, &FetchRequest{Joining: sub})
	if err != nil {
		t.Fatalf("joining FETCH with Forward 1: %v", err)
	}
	f.Close()
}
