package fedi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// tokenSink is a server that records every Authorization header it sees.
type tokenSink struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newTokenSink(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *tokenSink {
	s := &tokenSink{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if a := r.Header.Get("Authorization"); a != "" {
			s.seen = append(s.seen, a)
		}
		s.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *tokenSink) tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// TestHomeRelayTokenGoesOnlyToTheNamedGrantURL: the account token reaches
// the grant URL of the server's own document and nothing else: not a
// server the document redirects to, not a plain-http grant URL; refusals
// become errors of the right kind.
func TestHomeRelayTokenGoesOnlyToTheNamedGrantURL(t *testing.T) {
	const account = "account-token-of-alice"
	var status = http.StatusOK
	var mu sync.Mutex
	relay := newTokenSink(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		st := status
		mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/auth/grant" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(st)
		if st != http.StatusOK {
			json.NewEncoder(w).Encode(map[string]string{"error": "no"})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"token": "trb1.grant", "subject": "alice@social.test",
			"publish": []string{"social.test/alice"}, "watch": true, "expires": time.Now().Add(15 * time.Minute).Unix()})
	})
	evil := newTokenSink(t, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"moqt": []string{"moqt://evil.test:443"}, "grant": "https://evil.test/auth/grant"})
	})
	doc := func(grant string) map[string]any {
		return map[string]any{"moqt": []string{"moqt://relay.social.test:4443"}, "instance": "social.test", "grant": grant}
	}
	server := newTokenSink(t, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(doc(relay.URL + "/auth/grant"))
	})
	redirecting := newTokenSink(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+"/.well-known/moq", http.StatusFound)
	})
	plain := newTokenSink(t, func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(doc("http://127.0.0.1:1/auth/grant"))
	})
	roots := server.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	opts := HomeRelayOptions{RootCAs: roots}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	home, err := DiscoverHomeRelay(ctx, server.URL, opts)
	if err != nil {
		t.Fatalf("discover: %v", err)
	}
	if home.Host() != "relay.social.test:4443" || home.Info.Instance != "social.test" {
		t.Errorf("home relay %s for %s", home.Host(), home.Info.Instance)
	}
	g, err := ExchangeGrant(ctx, home, account, opts)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if g.Token != "trb1.grant" || g.Subject != "alice@social.test" || !g.Valid(time.Minute) {
		t.Errorf("grant %+v", g)
	}
	if got := relay.tokens(); len(got) != 1 || got[0] != "Bearer "+account {
		t.Errorf("the grant URL saw %v", got)
	}

	if _, err := DiscoverHomeRelay(ctx, redirecting.URL, opts); err == nil {
		t.Error("a document behind a redirect to another host was accepted")
	}
	h2, err := DiscoverHomeRelay(ctx, plain.URL, opts)
	if err != nil {
		t.Fatalf("discover (plain grant URL): %v", err)
	}
	if _, err := ExchangeGrant(ctx, h2, account, opts); err == nil || KindOf(err) != KindNotFound {
		t.Errorf("plain-http grant URL: %v, want a refusal before any request", err)
	}

	for _, tc := range []struct {
		status int
		kind   ErrorKind
	}{{http.StatusUnauthorized, KindUnauthorized}, {http.StatusServiceUnavailable, KindUnreachable}} {
		mu.Lock()
		status = tc.status
		mu.Unlock()
		if _, err := ExchangeGrant(ctx, home, account, opts); KindOf(err) != tc.kind || strings.Contains(err.Error(), account) {
			t.Errorf("relay answers %d: %v, want kind %v and no token in the message", tc.status, err, tc.kind)
		}
	}
	for _, s := range []*tokenSink{evil, server, redirecting, plain} {
		if len(s.tokens()) != 0 {
			t.Errorf("%s saw an Authorization header", s.URL)
		}
	}
}
