package relay

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func mint(t *testing.T, c Claims) []byte {
	t.Helper()
	tok, err := MintToken(secret, c)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(tok)
}

// TestPolicyDenials: every refusal is a REQUEST_ERROR with the code that
// says why.
func TestPolicyDenials(t *testing.T) {
	r := startRelay(t, "127.0.0.1", func(c *Config) {
		c.Name = "community.test"
		c.Watch = WatchCommunity
		c.Secret = secret
		c.LocalOrigins = []string{origin}
		c.DenyOrigins = []string{"blocked.example"}
		c.DenyRelays = []string{"bad-relay.example"}
		c.MaxSubscriptions = 2
	})
	p := startPublisher(t, testName(origin), 10, 100, 5*time.Millisecond)
	r.Publish(p.track)
	watcher := mint(t, Claims{Subject: "bob", Watch: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := testName(origin)

	subscribe := func(s *moq.Session, n wire.FullTrackName, tok []byte) error {
		sub, err := s.Subscribe(ctx, n, &moq.SubscribeOptions{AuthToken: tok})
		if err == nil {
			t.Cleanup(sub.Close)
		}
		return err
	}
	expect := func(what string, err error, want wire.RequestErrorCode) {
		t.Helper()
		code, ok := requestCode(err)
		if !ok || code != want {
			t.Errorf("%s: got %v, want REQUEST_ERROR %v", what, err, want)
		}
	}

	anon := dialRelay(t, r, nil)
	expect("community relay, no token", subscribe(anon, name, nil), wire.RequestUnauthorized)
	forged := append([]byte(nil), watcher...)
	forged[len(forged)-2] ^= 1
	expect("forged token", subscribe(anon, name, forged), wire.RequestMalformedAuth)
	expired := mint(t, Claims{Subject: "bob", Watch: true, Expires: time.Now().Add(-time.Minute).Unix()})
	expect("expired token", subscribe(anon, name, expired), wire.RequestExpiredAuth)
	otherSecret, _ := MintToken([]byte("another secret of 32 bytes......"), Claims{Subject: "bob", Watch: true})
	expect("token of another relay", subscribe(anon, name, []byte(otherSecret)), wire.RequestMalformedAuth)

	bob := dialRelay(t, r, &moq.Config{AuthToken: watcher})
	if err := subscribe(bob, name, nil); err != nil {
		t.Fatalf("watcher with a setup token: %v", err)
	}
	expect("missing local broadcast", subscribe(bob, testName(origin+"x"), nil), wire.RequestDoesNotExist)
	expect("not live here", subscribe(bob, wire.FullTrackName{Namespace: wire.NewNamespace(origin, "carol", "live"), Name: []byte("video")}, nil), wire.RequestDoesNotExist)
	expect("blocked origin", subscribe(bob, testName("blocked.example"), nil), wire.RequestUnauthorized)
	expect("relay loop", subscribe(bob, name, pathToken([]string{"x.example", "community.test"})), wire.RequestDoesNotExist)
	long := make([]string, MaxHops+1)
	for i := range long {
		long[i] = "hop"
	}
	expect("path too long", subscribe(bob, name, pathToken(long)), wire.RequestMalformedAuth)

	if err := subscribe(bob, name, nil); err != nil {
		t.Fatalf("second subscription: %v", err)
	}
	// The relay counts a subscription once its reader is open, just after
	// SUBSCRIBE_OK went out.
	waitFor(t, 5*time.Second, "two readers", func() bool { ts, _ := trackStats(r, name); return ts.Readers == 2 })
	expect("over MaxSubscriptions", subscribe(bob, name, nil), wire.RequestExcessiveLoad)

	// A relay on the deny list, even with a valid token.
	bad := dialRelay(t, r, &moq.Config{Implementation: implPrefix + "bad-relay.example", AuthToken: watcher})
	expect("blocked relay", subscribe(bad, name, nil), wire.RequestUnauthorized)

	// Publishing needs a token covering the namespace.
	ann := func(s *moq.Session, ns wire.Namespace) error {
		a, err := s.PublishNamespace(ctx, ns, nil)
		if err == nil {
			t.Cleanup(a.Close)
		}
		return err
	}
	ns := wire.NewNamespace(origin, "alice", "second")
	expect("publish without token", ann(anon, ns), wire.RequestUnauthorized)
	carol := dialRelay(t, r, &moq.Config{AuthToken: mint(t, Claims{Subject: "carol", Publish: []string{origin + "/carol"}})})
	expect("publish outside the token's prefix", ann(carol, ns), wire.RequestUnauthorized)
	if err := ann(carol, wire.NewNamespace(origin, "carol", "live")); err != nil {
		t.Errorf("publish inside the token's prefix: %v", err)
	}
	st := r.Stats()
	if st.Refused["UNAUTHORIZED"] < 4 || st.Refused["EXCESSIVE_LOAD"] != 1 {
		t.Errorf("refusals counted %v", st.Refused)
	}
}

// TestSetupTokenRefused: a forged token in SETUP closes the session with
// MALFORMED_AUTH_TOKEN.
func TestSetupTokenRefused(t *testing.T) {
	r := startRelay(t, "127.0.0.1", func(c *Config) { c.Secret = secret })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := moq.Dial(ctx, r.URL(), &moq.Config{AuthToken: []byte("trb1.e30.AAAA")}, &moq.DialOptions{CertHashes: [][]byte{r.CertHash()}})
	if err != nil {
		return // refused during setup: fine
	}
	defer s.Close()
	select {
	case <-s.Context().Done():
	case <-ctx.Done():
		t.Fatal("session with a forged token was not closed")
	}
	var se *moq.SessionError
	if !errors.As(s.Err(), &se) || se.Code != wire.ErrMalformedAuthToken {
		t.Errorf("session ended with %v, want MALFORMED_AUTH_TOKEN", s.Err())
	}
}

// TestMaxConnections: sessions beyond the limit get EXCESSIVE_LOAD.
func TestMaxConnections(t *testing.T) {
	r := startRelay(t, "127.0.0.1", func(c *Config) { c.MaxConnections = 1; c.LocalOrigins = []string{origin} })
	p := startPublisher(t, testName(origin), 10, 100, 5*time.Millisecond)
	r.Publish(p.track)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first := dialRelay(t, r, nil)
	if sub, err := first.Subscribe(ctx, testName(origin), nil); err != nil {
		t.Fatalf("first session: %v", err)
	} else {
		defer sub.Close()
	}
	second := dialRelay(t, r, nil)
	_, err := second.Subscribe(ctx, testName(origin), nil)
	if code, ok := requestCode(err); !ok || code != wire.RequestExcessiveLoad {
		t.Errorf("second session: %v, want EXCESSIVE_LOAD", err)
	}
}

// TestRelayLoop: A pulls origin "loop.test" from B and B from A; a viewer's
// SUBSCRIBE comes back to A with A on its path and is refused, promptly.
func TestRelayLoop(t *testing.T) {
	// Start both, then point them at each other: the upstream maps are
	// read when a track is requested.
	a := startRelay(t, "127.0.0.2", func(c *Config) { c.Name = "relay-a" })
	b := startRelay(t, "127.0.0.3", func(c *Config) {
		c.Name = "relay-b"
		c.Upstreams = map[string][]string{"loop.test": {a.URL()}}
		c.UpstreamCertHashes = []string{pin(a)}
	})
	if err := a.SetUpstreams(map[string][]string{"loop.test": {b.URL()}}, []string{pin(b)}); err != nil {
		t.Fatal(err)
	}
	s := dialRelay(t, a, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.Subscribe(ctx, testName("loop.test"), nil)
	if code, ok := requestCode(err); !ok || code != wire.RequestDoesNotExist {
		t.Fatalf("looping subscription: %v, want DOES_NOT_EXIST", err)
	}
	t.Logf("loop refused in %v: %v", time.Since(start).Round(time.Millisecond), err)
	if b.Stats().Refused["DOES_NOT_EXIST"] == 0 && a.Stats().Refused["DOES_NOT_EXIST"] == 0 {
		t.Error("no relay counted the refusal")
	}
}

func TestTokens(t *testing.T) {
	tok, err := MintToken(secret, Claims{Subject: "alice", Publish: []string{"example.social/alice"}, Watch: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := VerifyToken(secret, []byte(tok), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ns   wire.Namespace
		want bool
	}{
		{wire.NewNamespace("example.social", "alice", "live"), true},
		{wire.NewNamespace("example.social", "alice"), true},
		{wire.NewNamespace("example.social", "alicex", "live"), false},
		{wire.NewNamespace("example.social"), false},
		{wire.NewNamespace("other.social", "alice"), false},
	} {
		if got := c.MayPublish(tc.ns); got != tc.want {
			t.Errorf("MayPublish(%s) = %v, want %v", namespacePath(tc.ns), got, tc.want)
		}
	}
	for _, bad := range []string{"", "trb1.", "trb1..", "trb1.e30", "trb1.!!!.AAAA", tok + "x", "x" + tok} {
		if _, err := VerifyToken(secret, []byte(bad), time.Now()); !errors.Is(err, ErrMalformedToken) {
			t.Errorf("VerifyToken(%q) = %v, want ErrMalformedToken", bad, err)
		}
	}
	if _, err := MintToken([]byte("short"), Claims{}); err == nil {
		t.Error("MintToken accepted a short secret")
	}
}

// FuzzVerifyToken: any bytes give claims or an error, never a panic.
func FuzzVerifyToken(f *testing.F) {
	tok, _ := MintToken(secret, Claims{Subject: "a", Watch: true})
	f.Add([]byte(tok))
	f.Add([]byte("trb1.e30.AAAA"))
	f.Add([]byte("moq-relay-path:a,b"))
	f.Fuzz(func(t *testing.T, b []byte) {
		VerifyToken(secret, b, time.Now())
		if hops, ok, err := parsePath(b); ok && err == nil && len(hops) > MaxHops {
			t.Errorf("parsePath returned %d hops", len(hops))
		}
	})
}

// TestBandwidthLimits: once a track's bit rate is measured, a subscription
// that would push a session or the relay over its limit is refused.
func TestBandwidthLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"per viewer", func(c *Config) { c.MaxViewerBitrate = 50_000 }},
		{"total", func(c *Config) { c.MaxTotalBitrate = 50_000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startRelay(t, "127.0.0.1", func(c *Config) { c.LocalOrigins = []string{origin}; tc.mod(c) })
			name := testName(origin)
			p := startPublisher(t, name, 10, 1000, 5*time.Millisecond) // 1.6 Mbit/s
			r.Publish(p.track)
			waitFor(t, 10*time.Second, "the track's bit rate to be measured", func() bool {
				ts, _ := trackStats(r, name)
				return ts.InBps > 100_000
			})
			s := dialRelay(t, r, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := s.Subscribe(ctx, name, nil)
			if code, ok := requestCode(err); !ok || code != wire.RequestExcessiveLoad {
				t.Errorf("subscription over the limit: %v, want EXCESSIVE_LOAD", err)
			}
		})
	}
}
