package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq/relay"
)

func TestRelayToken(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("0123456789abcdef0123456789abcdef\n"), 0o600)
	var out, errb bytes.Buffer
	if code := relayToken([]string{"-secret-file", secret, "-sub", "alice", "-publish", "example.social/alice", "-watch", "-ttl", "1h"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	c, err := relay.VerifyToken([]byte("0123456789abcdef0123456789abcdef"), []byte(strings.TrimSpace(out.String())), time.Now())
	if err != nil || c.Subject != "alice" || !c.Watch || len(c.Publish) != 1 || c.Expires == 0 {
		t.Errorf("token claims %+v, %v", c, err)
	}
	if code := relayToken([]string{"-sub", "alice"}, &out, &errb); code != 2 {
		t.Errorf("token without a secret: exit %d, want 2", code)
	}
}

func TestRelayBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "127.0.0.1:0"},                           // no certificate
		{"--dev-cert", "--upstream", "no-equals-sign"},        // bad upstream
		{"--dev-cert", "--watch", "friends"},                  // bad policy
		{"--dev-cert", "--config", "/nonexistent/relay.json"}, // missing file
		{"--dev-cert", "stray"},
	} {
		var out, errb bytes.Buffer
		if code := relayMain(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
	}
}
