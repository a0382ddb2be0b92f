package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/capture/publish"
	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// TestPlayCommand runs `tributary play URL --stats --frames 40 --dump DIR
// --no-audio --cert-hash H` against a live test pattern and checks the JSON
// lines and the dumped pictures and audio.
func TestPlayCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	pub, err := publish.New(publish.Config{
		Namespace:        wire.NewNamespace("cmd", "live"),
		Video:            capture.NewPatternSource(320, 180, 30, true, time.Now()),
		Audio:            capture.NewToneSource(48000, 1, 20*time.Millisecond, true, time.Now()),
		VideoBitrate:     400_000,
		KeyframeInterval: 30,
		Logger:           quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	pubCtx, stopPub := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = pub.Run(pubCtx) }()
	defer func() { stopPub(); wg.Wait() }()
	<-pub.Ready()
	cert, hash, err := moq.DevCert("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := &moq.Server{TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}, Config: &moq.Config{Logger: quiet, Tracks: moq.TrackSourceFunc(pub.Track)}}
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := playMain(ctx, []string{fmt.Sprintf("moqt://%s/cmd/live", addr), "--stats", "--frames", "40", "--dump", dir,
		"--no-audio", "--cert-hash", hex.EncodeToString(hash), "--latency", "fixed:300ms"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var last map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		lat, ok := m["latency_ms"].(map[string]any)
		if !ok {
			t.Fatalf("no latency_ms in %q", l)
		}
		for _, k := range []string{"p50", "p95", "p99"} {
			if _, ok := lat[k].(float64); !ok {
				t.Fatalf("no latency_ms.%s in %q", k, l)
			}
		}
		for _, k := range []string{"frames", "dropped", "stalls", "bitrate"} {
			if _, ok := m[k].(float64); !ok {
				t.Fatalf("no %s in %q", k, l)
			}
		}
		last = m
	}
	if last["frames"].(float64) < 40 {
		t.Fatalf("final line %v: want at least 40 frames", last)
	}
	for i := 1; i <= 40; i++ {
		f, err := os.Open(filepath.Join(dir, fmt.Sprintf("frame-%06d.png", i)))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if _, ok := capture.ReadPatternCounter(img); !ok {
			t.Fatalf("frame %d: no readable counter in the dumped picture", i)
		}
	}
	wav, err := os.ReadFile(filepath.Join(dir, "audio.wav"))
	if err != nil || len(wav) < 44+48000*2/2 || string(wav[:4]) != "RIFF" || string(wav[8:12]) != "WAVE" {
		t.Fatalf("audio.wav: %d bytes, %v", len(wav), err)
	}
}

func TestPlayCommandUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	for _, args := range [][]string{{}, {"moqt://127.0.0.1:1/x", "--latency", "soon"}, {"moqt://127.0.0.1:1/x", "--cert-hash", "zz"}} {
		if code := playMain(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("args %q: exit %d, want 2", args, code)
		}
	}
	if code := playMain(context.Background(), []string{"ftp://example/x"}, &stdout, &stderr); code != 1 {
		t.Errorf("bad URL: exit %d, want 1", code)
	}
}
