package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
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
	fs.DurationVar(&r.wait, "wait", 15*time.Second, "wait this long for a broadcast that is not live yet (0: fail at once)")
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

	wait time.Duration // how long a broadcast that does not exist yet is waited for

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
	enc := json.NewEncoder(r.stdout)
	// A broadcast that is not on the relay yet (its publisher is still
	// connecting) is waited for, up to --wait, as a viewer would expect.
	deadline := time.Now().Add(r.wait)
	var p *player.Player
	code := 0
	for attempt := 0; ; attempt++ {
		var err error
		if p, err = player.Open(ctx, url, opts); err != nil {
			return failure(r.stderr, "play", 1, err)
		}
		var retry bool
		code, retry = r.follow(ctx, p, enc, time.Now().Before(deadline))
		if !retry {
			break
		}
		_ = p.Close()
		if attempt == 0 {
			fmt.Fprintf(r.stderr, "tributary play: the broadcast is not live yet; waiting up to %s\n", r.wait)
		}
		t := time.NewTimer(500 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return failure(r.stderr, "play", 1, fmt.Errorf("the broadcast did not start: %w", ctx.Err()))
		case <-t.C:
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

// follow plays p until it ends, enough frames were shown or ctx ends, and
// returns the exit code so far; retry is true when the broadcast does not
// exist (yet) and mayRetry allows trying again.
func (r *playRun) follow(ctx context.Context, p *player.Player, enc *json.Encoder, mayRetry bool) (code int, retry bool) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if r.stats {
				_ = enc.Encode(p.Stats())
			}
		case <-r.enough:
			return 0, false
		case <-p.Done():
			err := p.Err()
			if mayRetry && r.shown.Load() == 0 && notLiveYet(err) {
				return 0, true
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return failure(r.stderr, "play", 1, err), false
			}
			return 0, false
		case <-ctx.Done():
			return 0, false
		}
	}
}

// notLiveYet reports whether err says the relay has no such broadcast.
func notLiveYet(err error) bool {
	var re *moq.RequestError
	return errors.As(err, &re) && re.Code == wire.RequestDoesNotExist
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
