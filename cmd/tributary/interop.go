package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/tributary-live/tributary/moq/interop"
)

func init() {
	commands["interop"] = runInterop
}

// runInterop is `tributary interop`: the MoQ interop test client, following
// the interop runner's test-client interface
// (shared/specs/moq-interop-test-client-interface.md): TAP 14 on stdout,
// exit 0 when every requested case passed, 1 when one failed, 127 when a
// requested case is unknown.
func runInterop(args []string) int {
	return interopMain(args, os.Getenv, os.Stdout, os.Stderr)
}

func interopMain(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tributary interop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := interop.Options{Relay: "https://localhost:4443"}
	// Environment variables come before defaults, explicit flags after both.
	if v := getenv("RELAY_URL"); v != "" {
		opts.Relay = v
	}
	opts.Test = getenv("TESTCASE")
	opts.TLSDisableVerify = getenv("TLS_DISABLE_VERIFY") == "1"
	opts.Verbose = getenv("VERBOSE") == "1"
	var list bool
	for _, name := range []string{"r", "relay"} {
		fs.StringVar(&opts.Relay, name, opts.Relay, "relay URL: moqt://host:port/path (native QUIC) or https://host:port/path (WebTransport)")
	}
	for _, name := range []string{"t", "test"} {
		fs.StringVar(&opts.Test, name, opts.Test, "run only this test case (default: all)")
	}
	for _, name := range []string{"l", "list"} {
		fs.BoolVar(&list, name, false, "list the test cases and exit")
	}
	for _, name := range []string{"v", "verbose"} {
		fs.BoolVar(&opts.Verbose, name, opts.Verbose, "log the sessions' activity to stderr")
	}
	fs.BoolVar(&opts.TLSDisableVerify, "tls-disable-verify", opts.TLSDisableVerify, "do not verify the relay's TLS certificate")
	fs.StringVar(&opts.CertHash, "cert-hash", getenv("CERT_HASH"), "accept the relay's certificate by its hex SHA-256 (a development certificate)")
	fs.StringVar(&opts.Draft, "draft", getenv("MOQT_DRAFT"), "offer only this draft: 18 or 19 (default: both, 19 preferred)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tributary interop [-r URL] [-t NAME] [-l] [-v] [--tls-disable-verify] [--cert-hash HEX] [--draft N]")
		fmt.Fprintln(stderr, "Environment: RELAY_URL, TESTCASE, TLS_DISABLE_VERIFY=1, VERBOSE=1 (flags win).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tributary interop: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if list {
		for _, name := range interop.CaseNames() {
			fmt.Fprintln(stdout, name)
		}
		return 0
	}
	opts.Stdout = stdout
	opts.Stderr = stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return interop.Run(ctx, opts)
}
