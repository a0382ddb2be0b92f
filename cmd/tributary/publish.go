package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/tributary-live/tributary/capture"
	"github.com/tributary-live/tributary/capture/device"
	"github.com/tributary-live/tributary/capture/publish"
	"github.com/tributary-live/tributary/moq"
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
	fs := flag.NewFlagSet("tributary publish", flag.ContinueOnError)
	fs.SetOutput(stderr)
	source := fs.String("source", "testsrc", "what to send: testsrc (test pattern and tone), camera, or a media file (decoded by ffmpeg)")
	presetName := fs.String("preset", capture.DefaultPreset, "resolution, frame rate and bitrate: 360p, 720p or 1080p")
	codec := fs.String("codec", "h264", "video codec: h264 or vp8")
	bitrate := fs.Int("bitrate", 0, "video bitrate in bits/s (default: the preset's)")
	gop := fs.Duration("gop", 2*time.Second, "keyframe interval, which is also the group length")
	mode := fs.String("mode", "auto", "how to offer the broadcast: auto (PUBLISH_NAMESPACE, else PUBLISH), namespace, or publish")
	adapt := fs.Bool("adapt", true, "lower the video bitrate when the relay connection cannot keep up")
	camera := fs.String("camera", "", "camera to use with --source camera (default: the preferred one)")
	mic := fs.String("mic", "", "microphone with --source camera: an ID, \"none\", or empty for the preferred one")
	list := fs.Bool("list-devices", false, "list cameras and microphones, then exit")
	insecure := fs.Bool("insecure", false, "accept any relay certificate (development only)")
	certHash := fs.String("cert-hash", "", "accept the relay certificate with this hex SHA-256")
	duration := fs.Duration("duration", 0, "stop after this long (0: until interrupted)")
	verbose := fs.Bool("v", false, "log more")
	var auth authFlags
	auth.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tributary publish [--source testsrc|camera|FILE] [--preset 720p] [--insecure] [--cert-hash H] <relay URL>")
		fmt.Fprintln(stderr, "URL: moqt://host:port/<namespace path> or https://... (WebTransport); ?ns=a/b names the namespace explicitly.")
		fs.PrintDefaults()
	}
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
	if *list {
		for _, k := range []device.Kind{device.Camera, device.Microphone} {
			ds, err := device.List(k)
			if err != nil {
				fmt.Fprintf(stderr, "tributary publish: list %ss: %v\n", k, err)
				return 1
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
	if url == "" && fs.NArg() > 0 {
		url = fs.Arg(0)
	}
	if url == "" {
		fs.Usage()
		return 2
	}
	dialURL, ns, err := player.ParseURL(url)
	if err != nil {
		fmt.Fprintln(stderr, "tributary publish:", err)
		return 2
	}
	tokenFn, err := auth.source(ctx, dialURL)
	if err != nil {
		fmt.Fprintln(stderr, "tributary publish:", err)
		return 2
	}
	preset, err := capture.PresetByName(*presetName)
	if err != nil {
		fmt.Fprintln(stderr, "tributary publish:", err)
		return 2
	}
	m, err := publish.ParseMode(*mode)
	if err != nil {
		fmt.Fprintln(stderr, "tributary publish:", err)
		return 2
	}
	dial := moq.DialOptions{Insecure: *insecure}
	if *certHash != "" {
		h, err := moq.ParseCertHash(*certHash)
		if err != nil {
			fmt.Fprintln(stderr, "tributary publish: --cert-hash:", err)
			return 2
		}
		dial.CertHashes = [][]byte{h}
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}

	var video capture.VideoSource
	var audio capture.AudioSource
	now := time.Now()
	switch *source {
	case "testsrc":
		video = capture.NewPatternSource(preset.Width, preset.Height, preset.FrameRate, true, now)
		audio = capture.NewToneSource(48000, 1, 20*time.Millisecond, true, now)
	case "camera":
		video, err = device.OpenCamera(*camera, preset.Width, preset.Height, preset.FrameRate)
		if err != nil {
			fmt.Fprintln(stderr, "tributary publish:", err)
			return 1
		}
		if *mic != "none" {
			audio, err = device.OpenMicrophone(*mic, 48000, 1, 20*time.Millisecond)
			if err != nil {
				log.Warn("no microphone, publishing video only", "err", err)
				audio = nil
			}
		}
	default:
		video, audio, err = capture.OpenFile(ctx, *source, preset.Width, preset.Height, preset.FrameRate)
		if err != nil {
			fmt.Fprintln(stderr, "tributary publish:", err)
			return 1
		}
	}
	vb := preset.VideoBitrate
	if *bitrate > 0 {
		vb = *bitrate
	}
	pub, err := publish.New(publish.Config{
		Namespace:        ns,
		Video:            video,
		Audio:            audio,
		VideoCodec:       capture.Codec(*codec),
		VideoBitrate:     vb,
		AudioBitrate:     preset.AudioBitrate,
		KeyframeInterval: max(1, int(gop.Seconds()*preset.FrameRate+0.5)),
		Adapt:            *adapt,
		Logger:           log,
	})
	if err != nil {
		fmt.Fprintln(stderr, "tributary publish:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- pub.Run(ctx) }()
	connErr := make(chan error, 1)
	go func() {
		connErr <- pub.Connect(ctx, dialURL, &publish.ConnectOptions{
			Mode:      m,
			Config:    moq.Config{Logger: log, Implementation: "tributary-publish"},
			Dial:      dial,
			AuthToken: tokenFn,
		})
	}()
	log.Info("publishing", "url", dialURL, "namespace", ns.String(), "source", *source, "preset", preset.Name)
	var code int
	select {
	case err := <-runErr:
		cancel()
		<-connErr
		if err != nil {
			fmt.Fprintln(stderr, "tributary publish:", err)
			code = 1
		}
	case <-connErr:
		cancel()
		if err := <-runErr; err != nil {
			fmt.Fprintln(stderr, "tributary publish:", err)
			code = 1
		}
	}
	st := pub.Stats()
	fmt.Fprintf(stdout, "{\"video_frames\":%d,\"video_groups\":%d,\"audio_frames\":%d,\"video_bytes\":%d,\"audio_bytes\":%d,\"sessions\":%d}\n",
		st.VideoFrames, st.VideoGroups, st.AudioFrames, st.VideoBytes, st.AudioBytes, st.Sessions)
	return code
}
