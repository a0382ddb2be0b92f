package relay

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// fakeInstance is a Mastodon-API server's verify_credentials (a fake: the
// GoToSocial tests in app and fedi/fedtest use a real one).
type fakeInstance struct {
	*httptest.Server
	calls atomic.Int64
	down  atomic.Bool
	mu    sync.Mutex
	users map[string]string // token -> username
}

func startFakeInstance(t *testing.T) *fakeInstance {
	f := &fakeInstance{users: map[string]string{}}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		f.calls.Add(1)
		if f.down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		if req.URL.Path != "/api/v1/accounts/verify_credentials" {
			http.NotFound(w, req)
			return
		}
		tok, _ := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		f.mu.Lock()
		user, ok := f.users[tok]
		f.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"The access token is invalid"}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "1", "username": user, "acct": user})
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeInstance) setToken(tok, user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if user == "" {
		delete(f.users, tok)
	} else {
		f.users[tok] = user
	}
}

// syncBuffer collects log output from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// relayHTTP is an HTTPS client that trusts r's development certificate.
func relayHTTP(r *Relay) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // the pin below is the check
		VerifyConnection: func(cs tls.ConnectionState) error {
			if !bytes.Equal(moq.CertHash(cs.PeerCertificates[0].Raw), r.CertHash()) {
				return errors.New("certificate does not match the pin")
			}
			return nil
		},
	}}}
}

func postGrant(t *testing.T, r *Relay, accountToken string) (int, GrantResponse, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.GrantURL(), nil)
	if accountToken != "" {
		req.Header.Set("Authorization", "Bearer "+accountToken)
	}
	resp, err := relayHTTP(r).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", r.GrantURL(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var g GrantResponse
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, &g); err != nil {
			t.Fatalf("grant answer %q: %v", body, err)
		}
	}
	return resp.StatusCode, g, string(body)
}

// TestInstanceGrant: a member's account token becomes a grant to watch and
// to publish under <instance>/<username>; forged and revoked tokens are
// refused, an instance that is down is a clear 503 while grants already
// issued keep working, and no account token reaches the logs.
func TestInstanceGrant(t *testing.T) {
	inst := startFakeInstance(t)
	inst.setToken("alice-account-token-0123456789", "alice")
	inst.setToken("bob-account-token-0123456789", "bob")
	var logs syncBuffer
	r := startRelay(t, "127.0.0.1", func(c *Config) {
		c.Watch = WatchCommunity
		c.Instance = inst.URL
		c.InstanceDomain = "social.test"
		c.InstanceClient = inst.Client()
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	wk := r.WellKnownDoc()
	if wk.Instance != "social.test" || wk.Grant != r.GrantURL() || !strings.HasPrefix(wk.RelayKey, "ed25519:") {
		t.Fatalf("well-known does not name the instance, grant URL and key: %+v", wk)
	}

	code, g, body := postGrant(t, r, "alice-account-token-0123456789")
	if code != http.StatusOK {
		t.Fatalf("grant for alice: HTTP %d %s", code, body)
	}
	if g.Subject != "alice@social.test" || len(g.Publish) != 1 || g.Publish[0] != "social.test/alice" || !g.Watch {
		t.Fatalf("grant claims: %+v", g)
	}
	if ttl := time.Until(time.Unix(g.Expires, 0)); ttl <= 0 || ttl > 16*time.Minute {
		t.Errorf("grant lasts %v, want a short-lived grant (15 min)", ttl)
	}
	calls := inst.calls.Load()
	if code, _, _ := postGrant(t, r, "alice-account-token-0123456789"); code != http.StatusOK {
		t.Fatalf("second grant: HTTP %d", code)
	}
	if inst.calls.Load() != calls {
		t.Errorf("the second exchange within the cache asked the instance again")
	}

	for _, tc := range []struct{ what, tok string }{
		{"no token", ""},
		{"forged token", "made-up-token"},
		{"oversized token", strings.Repeat("x", 5000)},
	} {
		if code, _, body := postGrant(t, r, tc.tok); code != http.StatusUnauthorized || !strings.Contains(body, "error") {
			t.Errorf("%s: HTTP %d %s, want 401 with a reason", tc.what, code, body)
		}
	}
	// Revoked: refused once the short cache has run out (Grant bypasses
	// nothing: a fresh token shows the instance's answer).
	inst.setToken("carol-account-token-0123456789", "carol")
	inst.setToken("carol-account-token-0123456789", "")
	if _, err := r.Grant(context.Background(), "carol-account-token-0123456789"); !errors.Is(err, ErrAccountRefused) {
		t.Errorf("revoked token: %v, want ErrAccountRefused", err)
	}

	// The grant works on the relay: watch, publish under alice only.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alice := dialRelay(t, r, &moq.Config{AuthToken: []byte(g.Token)})
	if a, err := alice.PublishNamespace(ctx, wire.NewNamespace("social.test", "alice", "live"), nil); err != nil {
		t.Fatalf("alice publishes under social.test/alice: %v", err)
	} else {
		t.Cleanup(a.Close)
	}
	_, err := alice.PublishNamespace(ctx, wire.NewNamespace("social.test", "bob", "live"), nil)
	if c, ok := requestCode(err); !ok || c != wire.RequestUnauthorized {
		t.Errorf("alice publishing as bob: %v, want UNAUTHORIZED", err)
	}
	p := startPublisher(t, testName("social.test"), 10, 100, 5*time.Millisecond)
	r.Publish(p.track)
	sub, err := alice.Subscribe(ctx, testName("social.test"), nil)
	if err != nil {
		t.Fatalf("member watches on a community relay: %v", err)
	}
	if _, err := readN(ctx, sub, 3); err != nil {
		t.Fatalf("member reads: %v", err)
	}
	sub.Close()

	// The instance goes down: a clear 503, and the grant already issued
	// still opens sessions until it expires.
	inst.down.Store(true)
	code, _, body = postGrant(t, r, "bob-account-token-0123456789")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "social.test") {
		t.Errorf("instance down: HTTP %d %s, want 503 naming the instance", code, body)
	}
	again := dialRelay(t, r, &moq.Config{AuthToken: []byte(g.Token)})
	if sub, err := again.Subscribe(ctx, testName("social.test"), nil); err != nil {
		t.Errorf("an issued grant while the instance is down: %v", err)
	} else {
		sub.Close()
	}

	for _, secret := range []string{"alice-account-token-0123456789", "bob-account-token-0123456789", "carol-account-token", "made-up-token"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("an account token reached the relay's log")
		}
	}
	if !strings.Contains(logs.String(), "grant issued") {
		t.Errorf("the log does not show the grant (the test would not see a leak): %s", logs.String())
	}
}

// wellKnownHost serves the /.well-known/moq of relay *r on its own HTTPS
// host, as an instance's web server does for its relay (docs/DEPLOY.md).
func wellKnownHost(t *testing.T, doc func() WellKnown) *httptest.Server {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/.well-known/moq" {
			http.NotFound(w, req)
			return
		}
		json.NewEncoder(w).Encode(doc())
	}))
	t.Cleanup(ts.Close)
	return ts
}

// TestRelayProof: an origin relay that refuses anonymous viewers serves a
// downstream relay that proves its instance with the key the instance
// publishes; a relay with the wrong key, one that only declares the name,
// and one on the deny list are refused.
func TestRelayProof(t *testing.T) {
	var relayB, relayC atomic.Pointer[Relay]
	hostB := wellKnownHost(t, func() WellKnown { return relayB.Load().WellKnownDoc() })
	domB := strings.TrimPrefix(hostB.URL, "https://")
	hostD := wellKnownHost(t, func() WellKnown { return WellKnown{MoQT: []string{"moqt://127.0.0.1:1"}} })
	domD := strings.TrimPrefix(hostD.URL, "https://")

	origin := "origin.test"
	a := startRelay(t, "127.0.0.1", func(c *Config) {
		c.Watch = WatchCommunity
		c.LocalOrigins = []string{origin}
		c.HTTPClient = hostB.Client() // trusts httptest's certificate (both servers share it)
		c.DenyRelays = []string{"blocked.test"}
	})
	p := startPublisher(t, testName(origin), 10, 100, 5*time.Millisecond)
	a.Publish(p.track)
	downstream := func(dom string) *Relay {
		return startRelay(t, "127.0.0.1", func(c *Config) {
			c.InstanceDomain = dom
			c.Upstreams = map[string][]string{origin: {a.URL()}}
			c.UpstreamCertHashes = []string{pin(a)}
		})
	}
	b := downstream(domB)
	relayB.Store(b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// A viewer on B: B proves domB to A and pulls.
	viewer := dialRelay(t, b, nil)
	sub, err := viewer.Subscribe(ctx, testName(origin), nil)
	if err != nil {
		t.Fatalf("viewer through the proved relay: %v", err)
	}
	if _, err := readN(ctx, sub, 3); err != nil {
		t.Fatalf("read through the proved relay: %v", err)
	}
	sub.Close()
	st := a.Stats()
	found := false
	for _, d := range st.Downstreams {
		found = found || d.Name == domB
	}
	if !found {
		t.Errorf("origin does not account for relay %s by its instance: %+v", domB, st.Downstreams)
	}

	// Anonymous viewers of the origin are refused.
	anon := dialRelay(t, a, nil)
	if _, err := anon.Subscribe(ctx, testName(origin), nil); !isCode(err, wire.RequestUnauthorized) {
		t.Errorf("anonymous viewer on the origin: %v, want UNAUTHORIZED", err)
	}
	// A session that declares itself a relay, without proof, is a viewer.
	liar := dialRelay(t, a, &moq.Config{Implementation: implPrefix + domB})
	if _, err := liar.Subscribe(ctx, testName(origin), nil); !isCode(err, wire.RequestUnauthorized) {
		t.Errorf("declared relay name without proof: %v, want UNAUTHORIZED", err)
	}

	// Relay C claims domB's instance with a key of its own: its SETUP
	// is refused, so its viewer is told the upstream failed.
	c := downstream(domB)
	relayC.Store(c)
	cv := dialRelay(t, c, nil)
	if _, err := cv.Subscribe(ctx, testName(origin), nil); err == nil {
		t.Errorf("a relay with a key its claimed instance does not publish was served")
	}
	refused := func(what string, tok []byte, code wire.ErrorCode, reason string) {
		t.Helper()
		err := setupRefusal(ctx, a, tok)
		var se *moq.SessionError
		if !errors.As(err, &se) || se.Code != code || !strings.Contains(se.Reason, reason) {
			t.Errorf("%s: session ended with %v, want %v mentioning %q", what, err, code, reason)
		}
	}
	refused("wrong key", mintProof(c.relayKey, domB, a.cfg.PublicAddr, time.Now()), wire.ErrMalformedAuthToken, "signature")
	refused("instance without relay_key", mintProof(c.relayKey, domD, a.cfg.PublicAddr, time.Now()), wire.ErrMalformedAuthToken, "relay_key")
	refused("proof for another relay", mintProof(b.relayKey, domB, "elsewhere.test:443", time.Now()), wire.ErrMalformedAuthToken, "meant for")
	refused("expired proof", mintProof(b.relayKey, domB, a.cfg.PublicAddr, time.Now().Add(-time.Hour)), wire.ErrExpiredAuthToken, "expired")
	refused("garbled proof", []byte("trr1.e30.AAAA"), wire.ErrMalformedAuthToken, "relay proof")

	// Deny by instance domain, like an instance block.
	a2 := startRelay(t, "127.0.0.1", func(cf *Config) {
		cf.Watch = WatchCommunity
		cf.LocalOrigins = []string{origin}
		cf.HTTPClient = hostB.Client()
		cf.DenyRelays = []string{strings.Split(domB, ":")[0]}
	})
	good := mintProof(b.relayKey, domB, a2.cfg.PublicAddr, time.Now())
	s2, err := moq.Dial(ctx, a2.URL(), &moq.Config{AuthToken: good}, &moq.DialOptions{CertHashes: [][]byte{a2.CertHash()}})
	if err != nil {
		t.Fatalf("dial a2 with a good proof: %v", err)
	}
	defer s2.Close()
	p2 := startPublisher(t, testName(origin), 10, 100, 5*time.Millisecond)
	a2.Publish(p2.track)
	if _, err := s2.Subscribe(ctx, testName(origin), nil); !isCode(err, wire.RequestUnauthorized) {
		t.Errorf("denied instance's relay: %v, want UNAUTHORIZED", err)
	}
}

// setupRefusal opens a session to r with tok in SETUP and returns how the
// relay ended it (nil if it stayed open).
func setupRefusal(ctx context.Context, r *Relay, tok []byte) error {
	s, err := moq.Dial(ctx, r.URL(), &moq.Config{AuthToken: tok}, &moq.DialOptions{CertHashes: [][]byte{r.CertHash()}})
	if err != nil {
		return err
	}
	defer s.Close()
	// The relay vets SETUP as the session starts; a request shows the
	// outcome either way.
	s.Subscribe(ctx, testName("origin.test"), nil)
	select {
	case <-s.Context().Done():
		return s.Err()
	case <-time.After(5 * time.Second):
		return nil
	}
}

func isCode(err error, want wire.RequestErrorCode) bool {
	c, ok := requestCode(err)
	return ok && c == want
}
