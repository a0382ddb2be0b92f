package app

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-live/tributary/fedi"
	"github.com/tributary-live/tributary/moq"
)

// TestMoqLiveness asks a real relay about a live and an unknown broadcast;
// the checks share one session with the relay.
func TestMoqLiveness(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	rh, err := relayReal{log: log}.start(ctx, relayConfig{Addr: "127.0.0.1:0", Policy: PolicyOpen})
	if err != nil {
		t.Fatal(err)
	}
	defer rh.close()
	dh, err := demoReal{log: log}.start(ctx, rh.info())
	if err != nil {
		t.Fatal(err)
	}
	defer dh.close()
	relay := rh.(*relayRealHandle).r
	before := relay.Stats().Sessions // the demo's
	check := moqLiveness(nil, true, log)
	defer check.Close()
	relayDoc := &fedi.RelayInfo{CertHashes: []string{rh.info().CertHash}}
	for i := range 2 {
		live, err := check.CheckLive(ctx, fedi.LiveStream{RelayURLs: dh.stream().URLs, Relay: relayDoc})
		if live != fedi.LivenessLive {
			t.Errorf("the demo, check %d: %v, %v; want live", i+1, live, err)
		}
	}
	gone, err := check.CheckLive(ctx, fedi.LiveStream{RelayURLs: []string{rh.info().URL + "/nobody/here"}, Relay: relayDoc})
	if gone != fedi.LivenessEnded {
		t.Errorf("an unknown broadcast: %v, %v; want ended", gone, err)
	}
	if v, _ := check.CheckLive(ctx, fedi.LiveStream{}); v != fedi.LivenessUnknown {
		t.Errorf("no relay URL: %v", v)
	}
	if n := relay.Stats().Sessions - before; n != 1 {
		t.Errorf("three checks of one relay opened %d sessions, want 1", n)
	}
}

// TestRelaySessions: one session per relay while checks come and go; a
// check finding every kept session in use gets one of its own; the one
// unused longest makes room; an ended session is dialled anew; unused
// sessions close after the idle time; close closes what is kept.
func TestRelaySessions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	rh, err := relayReal{log: log}.start(ctx, relayConfig{Addr: "127.0.0.1:0", Policy: PolicyOpen})
	if err != nil {
		t.Fatal(err)
	}
	defer rh.close()
	hash, err := moq.ParseCertHash(rh.info().CertHash)
	if err != nil {
		t.Fatal(err)
	}
	var dials atomic.Int32
	dial := func(ctx context.Context) (*moq.Session, error) {
		dials.Add(1)
		return moq.Dial(ctx, rh.info().URL, &moq.Config{Logger: log}, &moq.DialOptions{CertHashes: [][]byte{hash}})
	}
	get := func(p *relaySessions, key string) (*moq.Session, func()) {
		t.Helper()
		s, release, err := p.get(ctx, key, dial)
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		return s, release
	}
	closed := func(what string, s *moq.Session) {
		t.Helper()
		select {
		case <-s.Context().Done():
		case <-ctx.Done():
			t.Fatalf("%s: the session was not closed", what)
		}
	}
	open := func(what string, s *moq.Session) {
		t.Helper()
		if s.Err() != nil {
			t.Fatalf("%s: the session was closed: %v", what, s.Err())
		}
	}
	wantDials := func(what string, n int32) {
		t.Helper()
		if got := dials.Load(); got != n {
			t.Fatalf("%s: %d dials, want %d", what, got, n)
		}
	}

	p := newRelaySessions(time.Hour, 1)
	a1, releaseA1 := get(p, "a")
	a2, releaseA2 := get(p, "a")
	wantDials("two checks of one relay", 1)
	if a1 != a2 {
		t.Fatal("two checks of one relay got two sessions")
	}
	b, releaseB := get(p, "b")
	wantDials("a check while the only kept session is in use", 2)
	releaseB()
	closed("a session of its own, once done", b)
	releaseA1()
	releaseA2()
	open("a kept session, unused", a1)
	b, releaseB = get(p, "b")
	wantDials("another relay, the kept session unused", 3)
	closed("the session unused longest, for room", a1)
	releaseB()
	b.Close()
	b2, releaseB2 := get(p, "b")
	wantDials("after the session ended", 4)
	releaseB2()
	p.close()
	closed("a kept session, at close", b2)

	p = newRelaySessions(time.Millisecond, 1)
	s, release := get(p, "a")
	release()
	closed("unused for the idle time", s)
	s, release = get(p, "a")
	wantDials("after the idle time", 6)
	release()
	p.close()
	closed("at close", s)
}
