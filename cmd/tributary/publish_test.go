package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// tributary publish --source testsrc against a server that takes
// PUBLISH_NAMESPACE: it connects, offers the broadcast, and reports stats.
func TestPublishCommand(t *testing.T) {
	cert, hash, err := moq.DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	announced := make(chan wire.Namespace, 1)
	srv := &moq.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Config: &moq.Config{
			Logger: slog.New(slog.DiscardHandler),
			OnPublishNamespace: func(ctx context.Context, s *moq.Session, ns wire.Namespace) error {
				select {
				case announced <- ns:
				default:
				}
				return nil
			},
		},
	}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	url := fmt.Sprintf("moqt://%s/alice/live", net.JoinHostPort("127.0.0.1", fmt.Sprint(addr.(*net.UDPAddr).Port)))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := publishMain(ctx, []string{url, "--source", "testsrc", "--preset", "360p", "--duration", "2s",
		"--cert-hash", hex.EncodeToString(hash)}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	select {
	case ns := <-announced:
		if !ns.Equal(wire.NewNamespace("alice", "live")) {
			t.Errorf("namespace %s", ns)
		}
	default:
		t.Error("no PUBLISH_NAMESPACE arrived")
	}
	var st struct {
		VideoFrames int `json:"video_frames"`
		AudioFrames int `json:"audio_frames"`
		Sessions    int `json:"sessions"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		t.Fatalf("stats %q: %v", stdout.String(), err)
	}
	if st.VideoFrames < 20 || st.AudioFrames < 30 || st.Sessions != 1 {
		t.Errorf("stats %+v", st)
	}
	if code := publishMain(ctx, []string{"--source", "testsrc"}, &stdout, &stderr); code != 2 {
		t.Errorf("no URL: exit %d", code)
	}
	if code := publishMain(ctx, []string{url, "--preset", "8k"}, &stdout, &stderr); code != 2 {
		t.Errorf("bad preset: exit %d", code)
	}
}
