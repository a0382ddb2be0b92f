package moq

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tributary-live/tributary/moq/wire"
)

// A burst of SUBSCRIBEs whose track lookups are slow (a relay asking
// upstream) must not pass MaxSubscriptions: the slot is taken before the
// lookup. Five at once against a limit of two: two succeed, three are
// refused with EXCESSIVE_LOAD, and no more than two lookups ever start.
func TestMaxSubscriptionsUnderBurst(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxSubscriptions = 2
	release := make(chan struct{})
	var lookups atomic.Int32
	tracks := map[string]*Track{}
	for i := range 5 {
		tr, _ := NewTrack(testName(fmt.Sprint("t", i)), nil)
		tracks[fmt.Sprint("t", i)] = tr
	}
	env := newTestEnv(t, &Config{Limits: lim, Tracks: TrackSourceFunc(func(ctx context.Context, s *Session, req *TrackRequest) (*Track, error) {
		lookups.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return tracks[string(req.Name.Name)], nil
	})})
	sess := env.dial("quic", wire.Draft19, nil)
	type result struct {
		sub *Subscription
		err error
	}
	results := make(chan result, 5)
	for i := range 5 {
		go func() {
			sub, err := sess.Subscribe(env.ctx, testName(fmt.Sprint("t", i)), nil)
			results <- result{sub, err}
		}()
	}
	// Three refusals come back while two lookups wait.
	var ok, refused int
	for refused < 3 {
		select {
		case r := <-results:
			if r.err == nil {
				r.sub.Close()
				t.Fatal("a SUBSCRIBE succeeded while the lookups were held")
			}
			var re *RequestError
			if !errors.As(r.err, &re) || re.Code != wire.RequestExcessiveLoad {
				t.Fatalf("refusal: %v, want EXCESSIVE_LOAD", r.err)
			}
			refused++
		case <-env.ctx.Done():
			t.Fatalf("%d refusals, %d lookups started: the limit let a burst through", refused, lookups.Load())
		}
	}
	close(release)
	for range 2 {
		r := <-results
		if r.err != nil {
			t.Fatalf("an admitted SUBSCRIBE failed: %v", r.err)
		}
		defer r.sub.Close()
		ok++
	}
	if n := lookups.Load(); n != 2 {
		t.Fatalf("%d track lookups started, want 2", n)
	}
}
