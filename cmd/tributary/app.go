package main

import (
	"crypto/x509"
	"flag"
	"fmt"
	"log/slog"
	"os"

	fyneapp "fyne.io/fyne/v2/app"

	"github.com/tributary-live/tributary/app"
	"github.com/tributary-live/tributary/ui"
)

// runApp opens the desktop app on its embedded default: the personal relay
// with the demo broadcast, playing.
func runApp(args []string) int {
	fs := flag.NewFlagSet("tributary", flag.ContinueOnError)
	configDir := fs.String("config-dir", "", "keep settings and accounts here (default: the user's config directory)")
	noDemo := fs.Bool("no-demo", false, "do not start the demo broadcast")
	verbose := fs.Bool("v", false, "log debug messages")
	caFile := fs.String("dev-ca-file", "", "trust only the certificates in this PEM file (tests with development certificates)")
	loopbackHTTP := fs.Bool("dev-allow-loopback-http", false, "let Fediverse servers on 127.0.0.1 or localhost use plain http (tests)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	opts := app.Options{ConfigDir: *configDir, NoDemo: *noDemo, Logger: log, AllowLoopbackHTTP: *loopbackHTTP}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "tributary:", err)
			return 2
		}
		opts.RootCAs = x509.NewCertPool()
		if !opts.RootCAs.AppendCertsFromPEM(pem) {
			fmt.Fprintf(os.Stderr, "tributary: %s holds no PEM certificate\n", *caFile)
			return 2
		}
	}
	core := app.New(opts)
	fa := fyneapp.NewWithID("live.tributary.app")
	w := ui.New(fa, core)
	core.Start()
	w.Window().ShowAndRun()
	if err := core.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "tributary:", err)
		return 1
	}
	return 0
}
