package fedi

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// streamMsg wraps a status JSON as a streaming API message.
func streamMsg(t *testing.T, event string, status []byte) []byte {
	t.Helper()
	p, err := json.Marshal(string(status))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(`{"stream":["user"],"event":"` + event + `","payload":` + string(p) + `}`)
}

func TestWatchStreamingEvents(t *testing.T) {
	f := newFakeMastodon(t)
	rf := newRemoteFixtures(t)
	rf.wk = `{"moqt":["moqt://` + rf.host + `"],"webtransport":["https://` + rf.host + `/"]}`
	pool := x509.NewCertPool()
	pool.AddCert(f.srv.Certificate())
	pool.AddCert(rf.srv.Certificate())
	dir := t.TempDir()
	c, err := New(Config{Dir: dir, Secrets: &FileStore{Path: filepath.Join(dir, "s.json")}, OpenURL: f.followRedirects, RootCAs: pool, AllowLoopbackHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := c.SignIn(ctx, "https://"+f.host, SignInOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Session(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return []byte(strings.ReplaceAll(string(b), "relay.example.net", rf.host))
	}
	live, ended := read("status_gotosocial_live.json"), read("status_gotosocial_ended.json")
	f.mu.Lock()
	f.timeline = []json.RawMessage{live}
	f.mu.Unlock()

	wctx, wcancel := context.WithCancel(ctx)
	watch := s.Watch(wctx)
	has := func(b string) func(Snapshot) bool {
		return func(s Snapshot) bool { return s.Streaming && findStream(s.Streams, b) != nil }
	}
	// From the timeline read after connecting.
	snap := waitSnapshot(t, watch, 10*time.Second, "timeline stream", has("alice/synths"))
	if st := findStream(snap.Streams, "alice/synths"); st.State != StateLive || len(st.RelayURLs) != 2 {
		t.Fatalf("stream %+v", st)
	}
	// Edited to ENDED: dropped.
	f.push <- streamMsg(t, "status.update", ended)
	waitSnapshot(t, watch, 5*time.Second, "ended edit", func(s Snapshot) bool { return findStream(s.Streams, "alice/synths") == nil })
	// A new post arrives, then is deleted.
	other := strings.NewReplacer("01M84ZKDMYQTBPVF59QD5916XN", "01M8NEWPOST000000000000000", "alice/synths", "alice/second").Replace(string(live))
	f.push <- streamMsg(t, "update", []byte(other))
	waitSnapshot(t, watch, 5*time.Second, "new post", has("alice/second"))
	f.push <- []byte(`{"stream":["user"],"event":"delete","payload":"01M8NEWPOST000000000000000"}`)
	waitSnapshot(t, watch, 5*time.Second, "deleted post", func(s Snapshot) bool { return findStream(s.Streams, "alice/second") == nil })
	// Hostile messages are skipped, not fatal.
	f.push <- []byte(`{"event":"update","payload":{"not":"a string"}}`)
	f.push <- []byte(`{"event":"delete","payload":null}`)
	// The connection drops: Watch says so, reconnects, and reads the timeline again.
	f.drop <- struct{}{}
	waitSnapshot(t, watch, 5*time.Second, "disconnected", func(s Snapshot) bool { return !s.Streaming && s.Err != nil })
	f.mu.Lock()
	f.timeline = []json.RawMessage{json.RawMessage(other)}
	f.mu.Unlock()
	waitSnapshot(t, watch, 10*time.Second, "reconnected", has("alice/second"))
	// The server revokes the token: the snapshot carries the sign-in error.
	f.mu.Lock()
	f.streamReject = 401
	f.mu.Unlock()
	f.drop <- struct{}{}
	snap = waitSnapshot(t, watch, 10*time.Second, "revoked", func(s Snapshot) bool { return !s.Streaming && KindOf(s.Err) == KindUnauthorized })
	if !strings.Contains(UserMessage(snap.Err), "no longer accepts this sign-in") {
		t.Fatalf("message %q", UserMessage(snap.Err))
	}
	wcancel()
	for range watch { // closed once the watcher has stopped
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokenInURL {
		t.Fatal("the token was put in the streaming URL")
	}
}
