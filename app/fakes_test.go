package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fakes of the services, for unit tests of the core only; the real pieces
// are tested in their own packages and together in ui's window tests.

type fakeRelay struct {
	mu      sync.Mutex
	starts  int
	closed  int
	failNow error
}

func (f *fakeRelay) start(ctx context.Context, cfg relayConfig) (relayHandle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	if f.failNow != nil {
		return nil, f.failNow
	}
	return &fakeRelayHandle{f: f, addr: cfg.Addr}, nil
}

type fakeRelayHandle struct {
	f    *fakeRelay
	addr string
}

func (h *fakeRelayHandle) info() relayInfo {
	return relayInfo{Addr: "127.0.0.1:4443", URL: "moqt://127.0.0.1:4443", CertHash: "ab"}
}

func (h *fakeRelayHandle) figures() relayFigures {
	return relayFigures{Broadcasts: []RelayBroadcast{{Name: "demo", Viewers: 1, OutKbps: 900}, {Name: "example.test/alice/live", Viewers: 2}}, LocalBytes: 1000}
}

func (h *fakeRelayHandle) close() error {
	h.f.mu.Lock()
	h.f.closed++
	h.f.mu.Unlock()
	return nil
}

type fakeDemo struct{}

func (fakeDemo) start(ctx context.Context, r relayInfo) (demoHandle, error) {
	return fakeDemoHandle{url: r.URL + "/demo"}, nil
}

type fakeDemoHandle struct{ url string }

func (d fakeDemoHandle) stream() Stream {
	return Stream{ID: "demo", Title: "Demo", URLs: []string{d.url}, State: StreamLive, Viewers: -1}
}
func (d fakeDemoHandle) close() error { return nil }

// fakePlayer plays any URL: it reports playing and sends frames until
// closed; fail makes the next opens fail.
type fakePlayer struct {
	mu     sync.Mutex
	fail   int // number of opens that fail
	opened []string
	opts   []playOptions
	ev     playEvents
}

func (p *fakePlayer) open(ctx context.Context, url string, opts playOptions, ev playEvents) (playerHandle, error) {
	p.mu.Lock()
	p.opened = append(p.opened, url)
	p.opts = append(p.opts, opts)
	p.ev = ev
	if p.fail > 0 {
		p.fail--
		p.mu.Unlock()
		return nil, errors.New("connection refused")
	}
	p.mu.Unlock()
	h := &fakePlayerHandle{done: make(chan struct{})}
	go func() {
		img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
		img.Set(0, 0, color.White)
		ev.frame(img)
		ev.status(PlayerPlaying, nil)
	}()
	return h, nil
}

func (p *fakePlayer) lastEvents() playEvents {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ev
}

func (p *fakePlayer) openedURLs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.opened...)
}

type fakePlayerHandle struct {
	mu     sync.Mutex
	vol    float64
	muted  bool
	done   chan struct{}
	closed bool
}

func (h *fakePlayerHandle) stats() PlayerStats { return PlayerStats{LatencyMS: 42, Frames: 10} }
func (h *fakePlayerHandle) setVolume(v float64, m bool) {
	h.mu.Lock()
	h.vol, h.muted = v, m
	h.mu.Unlock()
}

func (h *fakePlayerHandle) close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
	return nil
}

type fakeFedi struct {
	mu        sync.Mutex
	accs      []Account
	announced []string
	ended     int
	streams   []Stream
	home      *homeGrant // nil: the server names no relay
	chat      map[string][]ChatMessage
	replies   []string
	homeAsks  int
}

func (f *fakeFedi) followChat(ctx context.Context, id, post string, update func([]ChatMessage, error)) {
	f.mu.Lock()
	msgs := append([]ChatMessage(nil), f.chat[post]...)
	f.mu.Unlock()
	update(msgs, nil)
	<-ctx.Done()
}

func (f *fakeFedi) reply(ctx context.Context, id, post, author, text string) (ChatMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := ChatMessage{ID: fmt.Sprint(len(f.replies) + 100), Who: id, Handle: "@" + id, Text: text}
	f.replies = append(f.replies, post+" "+author+" "+text)
	return m, nil
}

func (f *fakeFedi) homeRelay(ctx context.Context, id string) (homeGrant, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.homeAsks++
	if f.home == nil {
		return homeGrant{}, &Problem{What: "Your server names no MoQ relay."}
	}
	return *f.home, nil
}

func (f *fakeFedi) accounts(ctx context.Context) ([]Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Account(nil), f.accs...), nil
}

func (f *fakeFedi) signIn(ctx context.Context, handle string, paste bool, authURL func(string), codes <-chan string) (Account, error) {
	authURL("https://example.test/oauth/authorize?x=1")
	select {
	case code := <-codes:
		if code != "good" {
			return Account{}, &Problem{What: "The server did not accept that code.", Todo: "Copy the code again."}
		}
	case <-ctx.Done():
		return Account{}, ctx.Err()
	}
	a := Account{ID: "alice@example.test", Handle: "@alice@example.test", DisplayName: "Alice"}
	f.mu.Lock()
	f.accs = append(f.accs, a)
	f.mu.Unlock()
	return a, nil
}

func (f *fakeFedi) signOut(ctx context.Context, id string) error { return nil }

func (f *fakeFedi) follow(ctx context.Context, id string, update func([]Stream, error)) {
	f.mu.Lock()
	s := append([]Stream(nil), f.streams...)
	f.mu.Unlock()
	update(s, nil)
	<-ctx.Done()
}

func (f *fakeFedi) announce(ctx context.Context, id, title, watchURL string, vis Visibility) (announced, func(context.Context) error, error) {
	f.mu.Lock()
	f.announced = append(f.announced, title+" "+watchURL)
	f.mu.Unlock()
	return announced{URL: "https://example.test/@alice/1", ID: "1"}, func(context.Context) error {
		f.mu.Lock()
		f.ended++
		f.mu.Unlock()
		return nil
	}, nil
}

type fakeLive struct{}

func (fakeLive) devices(ctx context.Context) ([]Device, []Device, error) {
	return []Device{{ID: "cam0", Label: "Test camera"}}, []Device{{ID: "mic0", Label: "Test mic"}}, nil
}

func (fakeLive) preview(ctx context.Context, cam, mic string, frame func(image.Image), level func(float64)) error {
	level(0.5)
	<-ctx.Done()
	return nil
}

func (fakeLive) start(ctx context.Context, o LiveOptions, tg liveTarget, frame func(image.Image), level func(float64)) (liveHandle, error) {
	return fakeLiveHandle{url: tg.RelayURL + "/" + strings.Join(tg.Path, "/")}, nil
}

type fakeLiveHandle struct{ url string }

func (h fakeLiveHandle) watchURL() string        { return h.url }
func (h fakeLiveHandle) figures() (int, float64) { return 3, 2500 }
func (h fakeLiveHandle) close() error            { return nil }

// watcher collects states from a core for waitFor.
type watcher struct {
	ch chan State
}

func watch(c *Core) *watcher {
	w := &watcher{ch: make(chan State, 1)}
	c.AddListener(ListenerFunc(func(s State) {
		select {
		case <-w.ch:
		default:
		}
		w.ch <- s
	}))
	return w
}

// waitFor waits up to 5 s for a state that satisfies ok.
func (w *watcher) waitFor(t testing.TB, what string, ok func(State) bool) State {
	t.Helper()
	return w.waitWithin(t, 5*time.Second, what, ok)
}

// waitWithin is waitFor with a limit of d.
func (w *watcher) waitWithin(t testing.TB, d time.Duration, what string, ok func(State) bool) State {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	var last State
	for {
		select {
		case s := <-w.ch:
			last = s
			if ok(s) {
				return s
			}
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s; last state: %+v", what, last)
		}
	}
}

type frameCounter struct {
	mu sync.Mutex
	n  int
}

func (f *frameCounter) VideoFrame(image.Image) {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}

func (f *frameCounter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// recordingLive is fakeLive that keeps the target of the last start.
type recordingLive struct {
	fakeLive
	mu sync.Mutex
	tg liveTarget
}

func (l *recordingLive) start(ctx context.Context, o LiveOptions, tg liveTarget, frame func(image.Image), level func(float64)) (liveHandle, error) {
	l.mu.Lock()
	l.tg = tg
	l.mu.Unlock()
	return l.fakeLive.start(ctx, o, tg, frame, level)
}

func (l *recordingLive) target() liveTarget {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tg
}
