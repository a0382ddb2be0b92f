package relay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// testLogger logs to stderr at warn level (-v shows more with RELAY_TEST_DEBUG=1).
func testLogger() *slog.Logger {
	lvl := slog.LevelWarn
	if os.Getenv("RELAY_TEST_DEBUG") == "1" {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}

// startRelay starts a relay on ip:0 with a development certificate; the
// relay is closed in t.Cleanup. mod adjusts the configuration.
func startRelay(t testing.TB, ip string, mod func(*Config)) *Relay {
	t.Helper()
	cfg := Config{Listen: ip + ":0", DevCert: true, AllowPrivateUpstreams: true, Logger: testLogger()}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatalf("Start on %s: %v", ip, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// pin returns the hex hash of r's certificate, for Config.UpstreamCertHashes.
func pin(r *Relay) string { return hexHash(r.CertHash()) }

// dialRelay opens a client session to r (native QUIC), closed in t.Cleanup.
func dialRelay(t testing.TB, r *Relay, cfg *moq.Config) *moq.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := moq.Dial(ctx, r.URL(), cfg, &moq.DialOptions{CertHashes: [][]byte{r.CertHash()}})
	if err != nil {
		t.Fatalf("dial %s: %v", r.URL(), err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// testName is the track the tests publish: origin host, user, broadcast.
func testName(origin string) wire.FullTrackName {
	return wire.FullTrackName{Namespace: wire.NewNamespace(origin, "alice", "live"), Name: []byte("video")}
}

// payloadOf makes an object's payload: its group and object ID, the
// publish time in ns, then filler up to size bytes.
func payloadOf(g, o uint64, size int) []byte {
	size = max(size, 24)
	b := make([]byte, size)
	binary.BigEndian.PutUint64(b, g)
	binary.BigEndian.PutUint64(b[8:], o)
	binary.BigEndian.PutUint64(b[16:], uint64(time.Now().UnixNano()))
	return b
}

// sentAt returns the publish time encoded by payloadOf.
func sentAt(p []byte) time.Time {
	if len(p) < 24 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(p[16:])))
}

// publisher writes groups of objects into a track at a steady pace.
type publisher struct {
	track  *moq.Track
	writer *moq.TrackWriter
	stop   context.CancelFunc
	done   chan struct{}
}

// startPublisher writes groups of perGroup objects of size bytes, one object
// every interval, until stopped (t.Cleanup stops it).
func startPublisher(t testing.TB, name wire.FullTrackName, perGroup int, size int, interval time.Duration) *publisher {
	t.Helper()
	tr, w := moq.NewTrack(name, &moq.TrackConfig{MaxGroups: 2})
	ctx, cancel := context.WithCancel(context.Background())
	p := &publisher{track: tr, writer: w, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			gw, err := w.AppendGroup()
			if err != nil {
				return
			}
			for o := 0; o < perGroup; o++ {
				select {
				case <-ctx.Done():
					gw.Close()
					w.Close(nil)
					return
				case <-tick.C:
				}
				if err := gw.WriteObject(payloadOf(gw.ID(), uint64(o), size), nil); err != nil {
					return
				}
			}
			gw.Close()
		}
	}()
	t.Cleanup(func() { p.close() })
	return p
}

func (p *publisher) close() {
	p.stop()
	<-p.done
}

// readN reads n objects from a subscription's track, in order, failing
// after the deadline.
func readN(ctx context.Context, sub *moq.Subscription, n int) ([]moq.Object, error) {
	r := sub.Track().Reader(nil)
	defer r.Close()
	return readFrom(ctx, r, n)
}

func readFrom(ctx context.Context, r *moq.TrackReader, n int) ([]moq.Object, error) {
	var out []moq.Object
	for len(out) < n {
		g, err := r.NextGroup(ctx)
		if err != nil {
			return out, fmt.Errorf("after %d objects: next group: %w", len(out), err)
		}
		for len(out) < n {
			o, err := g.ReadObject(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if errors.Is(err, moq.ErrGroupIncomplete) {
				// The relay dropped the rest of this group for a viewer
				// that fell behind (draft-18 §8): go on with the next.
				break
			}
			if err != nil {
				return out, fmt.Errorf("after %d objects: read group %d: %w", len(out), g.ID(), err)
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// waitFor polls cond every 5 ms until it holds, failing after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		<-tick.C
	}
}

// trackStats returns the relay's figures for one track.
func trackStats(r *Relay, name wire.FullTrackName) (TrackStats, bool) {
	path := namespacePath(name.Namespace)
	for _, b := range r.Stats().Broadcasts {
		if b.Path != path {
			continue
		}
		for _, ts := range b.Tracks {
			if ts.Name == string(name.Name) {
				return ts, true
			}
		}
	}
	return TrackStats{}, false
}

// requestCode returns the REQUEST_ERROR code of err.
func requestCode(err error) (wire.RequestErrorCode, bool) {
	var re *moq.RequestError
	if errors.As(err, &re) {
		return re.Code, true
	}
	return 0, false
}

// collector gathers per-viewer results from goroutines.
type collector struct {
	mu   sync.Mutex
	errs []error
}

func (c *collector) add(err error) {
	c.mu.Lock()
	c.errs = append(c.errs, err)
	c.mu.Unlock()
}
