package player

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/loc"
	"github.com/tributary-live/tributary/player/decode"
)

// TestPlaySoundDeviceLost: the sound card fails while audio plays. The
// player stops using it, does not open it again, says why (Stats.AudioError,
// a Playing status with the error), and goes on decoding to the end of the
// broadcast.
//
// With -race it also checks that whether the card failed is read under the
// lock it is written under: the player used to record the failure in its
// stats (under their lock) and ask on every audio frame under its own. Two
// things make that window wide enough for the race detector: the card
// fails while the player plays out what it buffered before a pause in the
// broadcast (no object arrives to order the two goroutines), and the
// warning about the lost card is slow to log (as with a slow log sink), so
// the player's next frames ask before the callback is done.
func TestPlaySoundDeviceLost(t *testing.T) {
	const packets, pause, gap = 150, 75, time.Second
	m := testMedia(t, 90, 30) // 3.1 s of Opus in 20 ms packets
	if len(m.audio) < packets {
		t.Fatalf("%d audio packets, want %d", len(m.audio), packets)
	}
	b := newBroadcast(t, testCatalog("avc1.42e01e"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	base := time.Now().Add(100 * time.Millisecond)
	at := func(i int) time.Time {
		t := base.Add(time.Duration(i) * 20 * time.Millisecond)
		if i >= pause {
			t = t.Add(gap)
		}
		return t
	}
	// The card fails on the packet published 100 ms before the pause,
	// which plays about 200 ms into it (300 ms target).
	card := &lostSound{failAt: mediaTime(at(pause - 5)), err: errors.New("test: sound card unplugged")}

	var r recorder
	opts := r.options(b)
	opts.NoAudio, opts.NoVideo = false, true
	opts.openSound = card.open
	opts.Logger = slog.New(slowLostLog{})
	var mu sync.Mutex
	var last time.Duration
	opts.OnAudio = func(a decode.AudioFrame) {
		mu.Lock()
		last = max(last, a.Timestamp)
		mu.Unlock()
	}
	p, err := Open(ctx, b.url(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	go func() {
		var g *moq.GroupWriter
		for i := range packets {
			if !waitUntil(ctx, at(i)) {
				return
			}
			if i%50 == 0 {
				if g != nil {
					g.Close()
				}
				g, _ = b.audio.AppendGroup()
			}
			props := loc.Properties{}
			props.SetTime(at(i))
			wp, _ := props.Wire()
			_ = g.WriteObject(m.audio[i], wp)
		}
		g.Close()
		b.audio.Close(nil)
	}()
	waitDone(t, p, 20*time.Second)
	if err := p.Err(); !errors.Is(err, io.EOF) {
		t.Fatalf("playback ended with %v, want the end of the broadcast", err)
	}
	s := p.Stats()
	p.Close()

	if card.opened != 1 || !card.failed {
		t.Fatalf("card opened %d times, failed %v: want opened once and failed", card.opened, card.failed)
	}
	if s.AudioError != card.err.Error() || s.Clock != "wall" {
		t.Fatalf("stats %+v: want the card's error and the wall clock", s)
	}
	r.mu.Lock()
	reported := false
	for i, st := range r.status {
		reported = reported || st == Playing && errors.Is(r.errs[i], card.err)
	}
	r.mu.Unlock()
	if !reported {
		t.Fatalf("statuses %v: want Playing with the card's error", r.status)
	}
	mu.Lock()
	defer mu.Unlock()
	if end := mediaTime(at(packets - 1)); last < end {
		t.Fatalf("audio decoded up to %v, want the last packet's %v: decoding stopped with the card", last, end)
	}
	t.Logf("card lost after %d writes (%d more refused); %d audio frames decoded", card.writes, card.refused, s.AudioFrames)
}

// mediaTime is a LOC capture time as the player's media timestamps are.
func mediaTime(at time.Time) time.Duration {
	return time.Duration(at.UnixMicro()) * time.Microsecond
}

// lostSound stands in for the sound card: it takes audio until the write
// of media time failAt, then fails like audio.Output (the error callback
// from another goroutine, writes refused). Only the player's audio
// goroutine calls it, and the callback goroutine touches nothing of it:
// the test must not add the synchronisation the player lacks.
type lostSound struct {
	failAt time.Duration
	err    error

	onError         func(error)
	opened          int
	failed          bool
	writes, refused int
}

func (c *lostSound) open(onError func(error)) (sound, error) {
	c.opened++
	c.onError = onError
	return c, nil
}

func (c *lostSound) Write(pcm []float32, rate, channels int, ts time.Duration) error {
	if c.failed {
		c.refused++
		return c.err
	}
	c.writes++
	if ts >= c.failAt-10*time.Millisecond {
		c.failed = true
		go c.onError(c.err)
	}
	return nil
}

func (c *lostSound) Clock(time.Time) (time.Duration, bool) { return 0, false }
func (c *lostSound) Underruns() uint64                     { return 0 }
func (c *lostSound) SetVolume(float64)                     {}
func (c *lostSound) Close() error                          { return nil }

// slowLostLog is a log handler that drops every record and takes 200 ms
// over the warning about a lost sound card. It holds no lock: the goroutines
// that log through it must not be ordered by it.
type slowLostLog struct{}

func (slowLostLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (slowLostLog) WithAttrs([]slog.Attr) slog.Handler           { return slowLostLog{} }
func (slowLostLog) WithGroup(string) slog.Handler                { return slowLostLog{} }

func (slowLostLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "sound device lost") {
		time.Sleep(200 * time.Millisecond)
	}
	return nil
}
