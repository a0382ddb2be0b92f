package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"

	"github.com/tributary-live/tributary/capture/device"
	"github.com/tributary-live/tributary/capture/publish"
	"github.com/tributary-live/tributary/player"
)

func init() {
	commands["publish"] = runPublish
}

// runPublish is `tributary publish --source testsrc|camera|<media file> <relay URL>`.
func runPublish(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return publishMain(ctx, args, os.Stdout, os.Stderr)
}

func publishMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := commandFlags("publish", "[--source testsrc|camera|FILE] [--preset 720p] [--insecure] [--cert-hash H] <relay URL>", stderr)
	var cfg publish.StartConfig
	cfg.RegisterFlags(fs)
	list := fs.Bool("list-devices", false, "list cameras and microphones, then exit")
	duration := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	verbose := fs.Bool("v", false, "log more")
	var auth authFlags
	auth.register(fs)
	url, code, done := parseCommand(fs, args)
	switch {
	case done:
		return code
	case *list:
		return listDevices(stdout, stderr)
	case url == "":
		fs.Usage()
		return 2
	}
	var err error
	if cfg.URL, cfg.Namespace, err = player.ParseURL(url); err != nil {
		return failure(stderr, "publish", 2, err)
	}
	if cfg.Connect.AuthToken, err = auth.source(ctx, cfg.URL); err != nil {
		return failure(stderr, "publish", 2, err)
	}
	cfg.Logger = commandLogger(stderr, slog.LevelInfo, *verbose)
	cfg.Connect.Config.Implementation = "tributary-publish"
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	cfg.Logger.Info("publishing", "url", cfg.URL, "namespace", cfg.Namespace.String(), "source", cfg.Sources.Source, "preset", cfg.Preset.Name)
	b, err := publish.Start(ctx, cfg)
	if err != nil {
		return failure(stderr, "publish", 1, err)
	}
	select {
	case <-ctx.Done():
	case <-b.Done():
	}
	if err := b.Close(); err != nil {
		code = failure(stderr, "publish", 1, err)
	}
	st := b.Stats()
	fmt.Fprintf(stdout, "{\"video_frames\":%d,\"video_groups\":%d,\"audio_frames\":%d,\"video_bytes\":%d,\"audio_bytes\":%d,\"sessions\":%d}\n",
		st.VideoFrames, st.VideoGroups, st.AudioFrames, st.VideoBytes, st.AudioBytes, st.Sessions)
	return code
}

// listDevices is `tributary publish --list-devices`.
func listDevices(stdout, stderr io.Writer) int {
	for _, k := range []device.Kind{device.Camera, device.Microphone} {
		ds, err := device.List(k)
		if err != nil {
			return failure(stderr, "publish", 1, fmt.Errorf("list %ss: %w", k, err))
		}
		if len(ds) == 0 {
			fmt.Fprintf(stdout, "no %s\n", k)
		}
		for _, d := range ds {
			def := ""
			if d.Default {
				def = " (default)"
			}
			fmt.Fprintf(stdout, "%s\t%s\t%s%s\n", k, d.ID, d.Name, def)
		}
	}
	return 0
}
