package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/player"
	"github.com/tributary-live/tributary/player/decode"
	"github.com/tributary-live/tributary/player/dump"
)

func init() {
	commands["play"] = runPlay
}

// runPlay is `tributary play <URL> --stats [--frames N] [--dump DIR]`: it
// plays a stream without a window and prints stats as JSON lines.
func runPlay(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return playMain(ctx, args, os.Stdout, os.Stderr)
}

func playMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tributary play", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stats := fs.Bool("stats", false, "print stats as JSON lines, one a second and one at the end")
	frames := fs.Int("frames", 0, "stop after this many video frames (0: until the broadcast ends)")
	dumpDir := fs.String("dump", "", "write presented frames as PNG and audio as WAV into this directory")
	insecure := fs.Bool("insecure", false, "accept any relay certificate (development only)")
	certHash := fs.String("cert-hash", "", "accept the relay certificate with this hex SHA-256")
	latency := fs.String("latency", "realtime", "latency target: realtime, fixed:200ms or range:100ms-400ms")
	noAudio := fs.Bool("no-audio", false, "do not open the sound card (video runs on the wall clock)")
	timeout := fs.Duration("timeout", 0, "stop after this long (0: no limit)")
	verbose := fs.Bool("v", false, "log to stderr")
	var auth authFlags
	auth.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tributary play <URL> [--stats] [--frames N] [--dump DIR] [--insecure] [--cert-hash H] [--latency realtime|fixed:200ms|range:100ms-400ms] [--no-audio] [--timeout D]")
		fmt.Fprintln(stderr, "URL: moqt://host:port/<namespace path> or https://... (WebTransport); ?ns=a/b names the namespace explicitly.")
		fs.PrintDefaults()
	}
	// The URL may come before the flags.
	var url string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		url, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if url == "" && fs.NArg() > 0 {
		url = fs.Arg(0)
	}
	if url == "" {
		fs.Usage()
		return 2
	}
	var setupToken []byte
	if tokenFn, err := auth.source(ctx, url); err != nil {
		fmt.Fprintln(stderr, "tributary play:", err)
		return 2
	} else if tokenFn != nil {
		if setupToken, err = tokenFn(ctx); err != nil {
			fmt.Fprintln(stderr, "tributary play:", err)
			return 1
		}
	}
	target, err := player.ParseLatency(*latency)
	if err != nil {
		fmt.Fprintln(stderr, "tributary play:", err)
		return 2
	}
	dial := &moq.DialOptions{Insecure: *insecure}
	if *certHash != "" {
		h, err := moq.ParseCertHash(*certHash)
		if err != nil {
			fmt.Fprintln(stderr, "tributary play: --cert-hash:", err)
			return 2
		}
		dial.CertHashes = [][]byte{h}
	}
	logLevel := slog.LevelWarn
	if *verbose {
		logLevel = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel}))
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}

	var dw *dump.Writer
	if *dumpDir != "" {
		if dw, err = dump.New(*dumpDir); err != nil {
			fmt.Fprintln(stderr, "tributary play:", err)
			return 1
		}
	}
	enough := make(chan struct{})
	var shown atomic.Int64
	opts := player.Options{
		Latency: target,
		Dial:    dial,
		Session: &moq.Config{Logger: log, Implementation: "tributary-play", AuthToken: setupToken},
		NoAudio: *noAudio,
		Logger:  log,
		OnVideo: func(f player.VideoFrame) {
			n := shown.Add(1)
			if dw != nil && (*frames == 0 || n <= int64(*frames)) {
				dw.Picture(int(n), f.Image)
			}
			if *frames > 0 && n == int64(*frames) {
				close(enough)
			}
		},
		OnStatus: func(s player.Status, err error) {
			if err != nil {
				log.Warn("player", "status", s.String(), "err", err)
			} else {
				log.Info("player", "status", s.String())
			}
		},
	}
	if dw != nil {
		opts.OnAudio = func(a decode.AudioFrame) {
			if err := dw.Audio(a.Samples, a.SampleRate, a.Channels); err != nil {
				log.Warn("dump", "err", err)
			}
		}
	}
	p, err := player.Open(ctx, url, opts)
	if err != nil {
		fmt.Fprintln(stderr, "tributary play:", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	code := 0
loop:
	for {
		select {
		case <-tick.C:
			if *stats {
				_ = enc.Encode(p.Stats())
			}
		case <-enough:
			break loop
		case <-p.Done():
			if err := p.Err(); err != nil && !errors.Is(err, io.EOF) {
				fmt.Fprintln(stderr, "tributary play:", err)
				code = 1
			}
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	final := p.Stats()
	_ = p.Close()
	if *stats {
		_ = enc.Encode(final)
	}
	if dw != nil {
		if err := dw.Close(); err != nil {
			fmt.Fprintln(stderr, "tributary play:", err)
			code = 1
		}
	}
	if final.Frames == 0 && final.AudioFrames == 0 && code == 0 {
		fmt.Fprintln(stderr, "tributary play: nothing was played")
		code = 1
	}
	return code
}
