package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// commandFlags returns the flag set of the headless command name, whose
// usage line is usage and whose one argument is a stream's URL.
func commandFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tributary "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: tributary %s %s\n", name, usage)
		fmt.Fprintln(stderr, "URL: moqt://host:port/<namespace path> or https://... (WebTransport); ?ns=a/b names the namespace explicitly.")
		fs.PrintDefaults()
	}
	return fs
}

// parseCommand parses args with fs; the URL may stand before the flags or
// after them. done says that the command ends now with code: help was
// asked for (0), or a flag is wrong (2). A missing URL is the caller's to
// judge.
func parseCommand(fs *flag.FlagSet, args []string) (url string, code int, done bool) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		url, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", 0, true
		}
		return "", 2, true
	}
	if url == "" && fs.NArg() > 0 {
		url = fs.Arg(0)
	}
	return url, 0, false
}

// commandLogger logs to stderr from level, or from debug when verbose.
func commandLogger(stderr io.Writer, level slog.Level, verbose bool) *slog.Logger {
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}

// failure prints err as the command name's and returns code.
func failure(stderr io.Writer, name string, code int, err error) int {
	fmt.Fprintf(stderr, "tributary %s: %v\n", name, err)
	return code
}
