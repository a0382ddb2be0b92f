package moq

import (
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// A FETCH read to its end leaves nothing behind on either side, even if the
// caller never calls Close: the fetcher ends its half of the request stream
// once the data stream ended (draft-18 §5.2), so the publisher's goroutine
// watching for a cancellation returns and the session forgets the fetch.
func TestFetchReadToEndLeavesNothingBehind(t *testing.T) {
	env := newTestEnv(t, nil)
	track, w := NewTrack(testName("chat"), &TrackConfig{MaxGroups: 4})
	env.origin.add(track)
	gw, _ := w.AppendGroup()
	gw.WriteObject([]byte("hello"), nil)
	gw.Close()
	sess := env.dial("quic", wire.Draft19, nil)
	fetch := func() {
		f, err := sess.Fetch(env.ctx, &FetchRequest{Track: testName("chat"), End: wire.Location{Group: 0, Object: 0}})
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := f.ReadObject(env.ctx); err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				return // no Close
			}
		}
	}
	fetch() // warm up: lazily started goroutines of the transport
	settle := func(limit int) int {
		n := runtime.NumGoroutine()
		for deadline := time.Now().Add(5 * time.Second); n > limit && time.Now().Before(deadline); n = runtime.NumGoroutine() {
			time.Sleep(10 * time.Millisecond)
		}
		return n
	}
	base := runtime.NumGoroutine()
	const fetches = 20
	for i := 0; i < fetches; i++ {
		fetch()
	}
	if n := settle(base + 3); n > base+3 {
		t.Errorf("%d goroutines after %d fetches read to their end, %d before", n, fetches, base)
	}
	sess.mu.Lock()
	left := len(sess.fetches)
	sess.mu.Unlock()
	if left != 0 {
		t.Errorf("the session still holds %d finished fetches", left)
	}
}
