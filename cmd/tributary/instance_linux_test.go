package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq/relay"
)

// TestHeadlessInstanceSignIn: `tributary publish` and `tributary play` sign
// in with an account of an instance (--instance, --account-token-file): the
// account token is exchanged at the grant URL the instance's own
// /.well-known/moq names, the broadcast goes on air under
// <instance>/<username>, and play reads it back with the grant. A relay URL
// that is not the one the instance names gets no grant. The instance is a
// fake Mastodon API (verify_credentials and the well-known document; the
// real GoToSocial path is app's TestFederatedCDN); the relay, publisher and
// player are the real ones, in their own processes.
func TestHeadlessInstanceSignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the publisher and the player")
	}
	const account = "alice-account-token-0123456789"
	var r *relay.Relay
	inst := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/.well-known/moq":
			json.NewEncoder(w).Encode(r.WellKnownDoc())
		case "/api/v1/accounts/verify_credentials":
			if req.Header.Get("Authorization") != "Bearer "+account {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, `{"id":"1","username":"alice","acct":"alice"}`)
		default:
			http.NotFound(w, req)
		}
	}))
	defer inst.Close()
	domain := strings.TrimPrefix(inst.URL, "https://")
	var err error
	r, err = relay.New(relay.Config{Listen: "127.0.0.1:0", DevCert: true, Watch: relay.WatchCommunity,
		Instance: inst.URL, InstanceClient: inst.Client(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	// The tools trust the instance's certificate as a system root.
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: inst.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(account+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tool := func(ctx context.Context, args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, self, args...)
		cmd.Env = append(os.Environ(), "TRIBUTARY_RUN_MAIN=1", "SSL_CERT_FILE="+ca)
		return cmd
	}
	hash := fmt.Sprintf("%x", r.CertHash())
	stream := r.URL() + "/" + domain + "/alice/live"
	signIn := []string{"--instance", inst.URL, "--account-token-file", tokFile, "--cert-hash", hash}

	pctx, pcancel := context.WithCancel(ctx)
	defer pcancel()
	pub := tool(pctx, append(append([]string{"publish", "--source", "testsrc", "--preset", "360p"}, signIn...), stream)...)
	pubOut := &lockedBuffer{}
	pub.Stdout, pub.Stderr = pubOut, pubOut
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { pcancel(); pub.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	// The relay accepted the broadcast (its PUBLISH_NAMESPACE got
	// REQUEST_OK) when the publisher says so.
	for !strings.Contains(pubOut.String(), "namespace published") {
		if time.Now().After(deadline) {
			t.Fatalf("the publisher did not go on air with its grant within 60 s:\n%s", pubOut.String())
		}
		time.Sleep(100 * time.Millisecond) // polling the relay's figures
	}

	out, err := tool(ctx, append(append([]string{"play", "--no-audio", "--stats", "--frames", "30"}, signIn...), stream)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"frames":30`) || !strings.Contains(string(out), `"decode_errors":0`) {
		t.Fatalf("play with the grant: %v\n%s", err, out)
	}

	// A relay the instance does not name gets no grant: the tool says so
	// and sends nothing.
	other := "moqt://127.0.0.1:9/" + domain + "/alice/live"
	out, err = tool(ctx, append(append([]string{"play", "--no-audio", "--frames", "1"}, signIn...), other)...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "only sent there") {
		t.Errorf("a relay the instance does not name: %v\n%s", err, out)
	}
	// A wrong account token is refused with the relay's reason.
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("forged"), 0o600)
	out, err = tool(ctx, "play", "--no-audio", "--frames", "1", "--instance", inst.URL, "--account-token-file", bad, "--cert-hash", hash, stream).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "refused the account") {
		t.Errorf("a forged account token: %v\n%s", err, out)
	}
	if strings.Contains(pubOut.String(), account) || strings.Contains(string(out), account) {
		t.Error("the account token was printed")
	}
}

// lockedBuffer is a bytes.Buffer written by a process's output copier
// while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
