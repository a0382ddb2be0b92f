package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
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
	fs := commandFlags("play", "<URL> [--stats] [--frames N] [--dump DIR] [--insecure] [--cert-hash H] [--latency realtime|fixed:200ms|range:100ms-400ms] [--no-audio] [--timeout D]", stderr)
	var opts player.Options
	opts.RegisterFlags(fs)
	r := playRun{enough: make(chan struct{}), stdout: stdout, stderr: stderr}
	fs.BoolVar(&r.stats, "stats", false, "print stats as JSON lines, one a second and one at the end")
	fs.Int64Var(&r.frames, "frames", 0, "stop after this many video frames (0: until the broadcast ends)")
	dumpDir := fs.String("dump", "", "write presented frames as PNG and audio as WAV into this directory")
	timeout := fs.Duration("timeout", 0, "stop after this long (0: no limit)")
	verbose := fs.Bool("v", false, "log to stderr")
	var auth authFlags
	auth.register(fs)
	url, code, done := parseCommand(fs, args)
	switch {
	case done:
		return code
	case url == "":
		fs.Usage()
		return 2
	}
	var setupToken []byte
	if tokenFn, err := auth.source(ctx, url); err != nil {
		return failure(stderr, "play", 2, err)
	} else if tokenFn != nil {
		if setupToken, err = tokenFn(ctx); err != nil {
			return failure(stderr, "play", 1, err)
		}
	}
	r.log = commandLogger(stderr, slog.LevelWarn, *verbose)
	opts.Session = &moq.Config{Logger: r.log, Implementation: "tributary-play", AuthToken: setupToken}
	opts.Logger = r.log
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	if *dumpDir != "" {
		var err error
		if r.dump, err = dump.New(*dumpDir); err != nil {
			return failure(stderr, "play", 1, err)
		}
	}
	return r.play(ctx, url, opts)
}

// playRun is what `tributary play` does with what it plays: it counts and
// dumps the pictures and sound, stops after enough frames, and prints stats.
type playRun struct {
	stats          bool
	frames         int64 // stop after this many (0: no limit)
	dump           *dump.Writer
	log            *slog.Logger
	stdout, stderr io.Writer

	shown  atomic.Int64
	enough chan struct{} // closed at the frames'th picture
}

// play plays url until the broadcast ends, enough frames were shown, or
// ctx ends, and returns the exit code.
func (r *playRun) play(ctx context.Context, url string, opts player.Options) int {
	opts.OnVideo = r.picture
	opts.OnStatus = func(s player.Status, err error) {
		if err != nil {
			r.log.Warn("player", "status", s.String(), "err", err)
		} else {
			r.log.Info("player", "status", s.String())
		}
	}
	if r.dump != nil {
		opts.OnAudio = func(a decode.AudioFrame) {
			if err := r.dump.Audio(a.Samples, a.SampleRate, a.Channels); err != nil {
				r.log.Warn("dump", "err", err)
			}
		}
	}
	p, err := player.Open(ctx, url, opts)
	if err != nil {
		return failure(r.stderr, "play", 1, err)
	}
	enc := json.NewEncoder(r.stdout)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	code := 0
loop:
	for {
		select {
		case <-tick.C:
			if r.stats {
				_ = enc.Encode(p.Stats())
			}
		case <-r.enough:
			break loop
		case <-p.Done():
			if err := p.Err(); err != nil && !errors.Is(err, io.EOF) {
				code = failure(r.stderr, "play", 1, err)
			}
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	final := p.Stats()
	_ = p.Close()
	if r.stats {
		_ = enc.Encode(final)
	}
	if r.dump != nil {
		if err := r.dump.Close(); err != nil {
			code = failure(r.stderr, "play", 1, err)
		}
	}
	if final.Frames == 0 && final.AudioFrames == 0 && code == 0 {
		code = failure(r.stderr, "play", 1, errors.New("nothing was played"))
	}
	return code
}

// picture counts a presented picture, dumps it, and says when there were enough.
func (r *playRun) picture(f player.VideoFrame) {
	n := r.shown.Add(1)
	if r.dump != nil && (r.frames == 0 || n <= r.frames) {
		r.dump.Picture(int(n), f.Image)
	}
	if r.frames > 0 && n == r.frames {
		close(r.enough)
	}
}
