package fedtest

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

type status struct {
	ID      string  `json:"id"`
	URI     string  `json:"uri"`
	Content string  `json:"content"`
	Account account `json:"account"`
}

// TestPairFederates: a public post by alice on A reaches the home timelines
// of her followers bob and carol on B by federation (B's inbox), not by a
// lookup from B.
func TestPairFederates(t *testing.T) {
	begin := time.Now()
	p := StartPair(t)
	t.Logf("StartPair took %v", time.Since(begin).Round(time.Millisecond))

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	alice := p.A.Token(t, "alice")
	readers := map[string]string{"bob": p.B.Token(t, "bob"), "carol": p.B.Token(t, "carol")}

	text := fmt.Sprintf("hello from alice on A, %d", time.Now().UnixNano())
	var posted status
	sent := time.Now()
	if err := p.A.api(ctx, http.MethodPost, "/api/v1/statuses", alice,
		url.Values{"status": {text}, "visibility": {"public"}}, &posted); err != nil {
		t.Fatal(err)
	}
	if posted.URI == "" {
		t.Fatalf("posted status has no URI: %+v", posted)
	}

	for _, who := range []string{"bob", "carol"} {
		var got status
		err := poll(ctx, 30*time.Second, 100*time.Millisecond, func() (bool, error) {
			var home []status
			if err := p.B.api(ctx, http.MethodGet, "/api/v1/timelines/home?limit=40", readers[who], nil, &home); err != nil {
				return false, err
			}
			for _, s := range home {
				if s.URI == posted.URI {
					got = s
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("%s's home timeline on B never showed %s: %v", who, posted.URI, err)
		}
		if got.Account.Acct != "alice@"+p.A.Host {
			t.Fatalf("%s sees the post by %q, want alice@%s", who, got.Account.Acct, p.A.Host)
		}
		t.Logf("%s on B has alice's post (B id %s) %v after it was posted", who, got.ID, time.Since(sent).Round(time.Millisecond))
	}

	t.Run("front", func(t *testing.T) { testFront(t, p) })
}

// testFront: a handler mounted on the front proxy answers its path over
// http and https; other paths still reach GoToSocial.
func testFront(t *testing.T, p *Pair) {
	p.A.Handle("/.well-known/moq", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "moq here, tls=%v host=%s", r.TLS != nil, r.Host)
	}))
	https := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: p.A.RootCAs, MinVersion: tls.VersionTLS12},
	}}
	plain := &http.Client{Timeout: 10 * time.Second}
	for _, c := range []struct {
		client *http.Client
		url    string
		want   string
	}{
		{plain, p.A.Base + "/.well-known/moq", "moq here, tls=false host=" + p.A.Host},
		{https, "https://" + p.A.Host + "/.well-known/moq", "moq here, tls=true host=" + p.A.Host},
	} {
		body, code := get(t, c.client, c.url)
		if code != http.StatusOK || body != c.want {
			t.Fatalf("GET %s: %d %q, want %q", c.url, code, body, c.want)
		}
	}
	wf := "https://" + p.A.Host + "/.well-known/webfinger?resource=" + url.QueryEscape("acct:alice@"+p.A.Host)
	if body, code := get(t, https, wf); code != http.StatusOK || !strings.Contains(body, p.A.Base+"/users/alice") {
		t.Fatalf("webfinger over https: HTTP %d: %s", code, body)
	}
	if _, code := get(t, plain, p.B.Base+"/.well-known/moq"); code != http.StatusNotFound {
		t.Fatalf("B has no moq handler, yet HTTP %d", code)
	}
}

func get(t *testing.T, c *http.Client, u string) (string, int) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return string(b), resp.StatusCode
}
