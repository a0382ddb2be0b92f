package main

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tributary-live/tributary/moq/relay"
)

func init() {
	commands["relay"] = runRelay
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// runRelay is `tributary relay`: the headless MoQ relay (docs/RELAY.md).
func runRelay(args []string) int {
	if len(args) > 0 && args[0] == "token" {
		return relayToken(args[1:], os.Stdout, os.Stderr)
	}
	return relayMain(args, os.Stdout, os.Stderr)
}

func relayMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tributary relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		configPath, listen, public, name, certFile, keyFile, secretFile, watch, logLevel string
		instance, instanceDomain, relayKeyFile, hashFile, adminTokenFile                 string
		grace, drain                                                                     time.Duration
		devCert, openPublish, logJSON                                                    bool
		upstreams, hashes, deny, denyOrigins, allow                                      listFlag
		maxConns, maxConnsPerIP, maxSubs                                                 int
		maxViewerKbps, maxTotalKbps                                                      int64
	)
	fs.StringVar(&configPath, "config", "", "JSON configuration file (docs/RELAY.md); flags override it")
	fs.StringVar(&listen, "listen", "", "host:port: MoQ on UDP, HTTPS on TCP (default 127.0.0.1:4443)")
	fs.StringVar(&public, "public-addr", "", "host:port clients use (default: the listen address)")
	fs.StringVar(&name, "name", "", "relay name for peers and loop detection (default: the public address)")
	fs.StringVar(&certFile, "cert", "", "TLS certificate chain (PEM)")
	fs.StringVar(&keyFile, "key", "", "TLS private key (PEM)")
	fs.BoolVar(&devCert, "dev-cert", false, "use a self-signed development certificate and print its SHA-256")
	fs.StringVar(&secretFile, "secret-file", "", "token secret file (at least 16 bytes); default: random per run")
	fs.StringVar(&watch, "watch", "", "who may watch: open or community")
	fs.BoolVar(&openPublish, "open-publish", false, "anyone may publish any namespace (development, interop)")
	fs.Var(&upstreams, "upstream", "origin=URL[,URL...]: pull origin's broadcasts from these relays (origin * for all); repeatable")
	fs.Var(&hashes, "upstream-cert-hash", "hex SHA-256 of an upstream's development certificate; repeatable")
	fs.Var(&deny, "deny-relay", "never serve this relay (its proved instance domain); repeatable")
	fs.Var(&allow, "allow-relay", "serve only these relays (proved instance domains); repeatable")
	fs.StringVar(&instance, "instance", "", "tie the relay to this Mastodon-API server (https://social.example): its members sign in with their accounts")
	fs.StringVar(&instanceDomain, "instance-domain", "", "the instance's domain in handles and namespaces (default: the host of -instance)")
	fs.StringVar(&relayKeyFile, "relay-key-file", "", "the relay's Ed25519 key, created if missing (default: a new key per run)")
	fs.StringVar(&hashFile, "cert-hash-file", "", "with -dev-cert, write the certificate's SHA-256 to this file")
	fs.Var(&denyOrigins, "deny-origin", "never carry broadcasts of this origin host; repeatable")
	fs.DurationVar(&grace, "grace", 0, "keep an upstream subscription this long after its last viewer (default 30s)")
	fs.DurationVar(&drain, "drain", 0, "on SIGINT/SIGTERM, wait this long for sessions after GOAWAY (default 10s)")
	fs.IntVar(&maxConns, "max-connections", 0, "most concurrent sessions (0: the default, 10000; -1: no limit)")
	fs.IntVar(&maxConnsPerIP, "max-connections-per-ip", 0, "most concurrent sessions from one IPv4 address or IPv6 /64 (0: the default, 64; -1: no limit)")
	fs.StringVar(&adminTokenFile, "admin-token-file", "", "file holding the admin token: /status.json and /metrics show per-viewer and per-peer figures to requests sending it as Authorization: Bearer (and to loopback)")
	fs.IntVar(&maxSubs, "max-subscriptions", 0, "most concurrent subscriptions (0: no limit)")
	fs.Int64Var(&maxViewerKbps, "max-viewer-kbps", 0, "most egress per session in kbit/s (0: no limit)")
	fs.Int64Var(&maxTotalKbps, "max-total-kbps", 0, "most total egress in kbit/s (0: no limit)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.BoolVar(&logJSON, "log-json", false, "log JSON lines instead of text")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tributary relay [flags]\n       tributary relay token [flags]   (mint a token; -h for its flags)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tributary relay: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintf(stderr, "tributary relay: -log-level: %v\n", err)
		return 2
	}
	var h slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})
	if logJSON {
		h = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lvl})
	}
	log := slog.New(h)

	fc := &relay.FileConfig{}
	if configPath != "" {
		var err error
		if fc, err = relay.ReadFileConfig(configPath); err != nil {
			fmt.Fprintln(stderr, "tributary relay:", err)
			return 2
		}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	str := func(flagName string, v string, dst *string) {
		if set[flagName] {
			*dst = v
		}
	}
	str("listen", listen, &fc.Listen)
	str("public-addr", public, &fc.PublicAddr)
	str("name", name, &fc.Name)
	str("cert", certFile, &fc.CertFile)
	str("key", keyFile, &fc.KeyFile)
	str("secret-file", secretFile, &fc.SecretFile)
	str("watch", watch, &fc.Watch)
	str("instance", instance, &fc.Instance)
	str("instance-domain", instanceDomain, &fc.InstanceDomain)
	str("relay-key-file", relayKeyFile, &fc.RelayKeyFile)
	str("admin-token-file", adminTokenFile, &fc.AdminTokenFile)
	if set["dev-cert"] {
		fc.DevCert = devCert
	}
	if set["open-publish"] {
		fc.OpenPublish = openPublish
	}
	if fc.Listen == "" {
		fc.Listen = "127.0.0.1:4443"
	}
	for _, u := range upstreams {
		origin, urls, ok := strings.Cut(u, "=")
		if !ok || origin == "" || urls == "" {
			fmt.Fprintf(stderr, "tributary relay: -upstream %q: want origin=URL[,URL...]\n", u)
			return 2
		}
		if fc.Upstreams == nil {
			fc.Upstreams = map[string][]string{}
		}
		fc.Upstreams[origin] = append(fc.Upstreams[origin], strings.Split(urls, ",")...)
	}
	fc.UpstreamCertHashes = append(fc.UpstreamCertHashes, hashes...)
	fc.DenyRelays = append(fc.DenyRelays, deny...)
	fc.AllowRelays = append(fc.AllowRelays, allow...)
	fc.DenyOrigins = append(fc.DenyOrigins, denyOrigins...)
	if fc.CertFile == "" && !fc.DevCert {
		fmt.Fprintln(stderr, "tributary relay: no certificate: pass -cert and -key, or -dev-cert")
		return 2
	}
	cfg, err := fc.Config()
	if err != nil {
		fmt.Fprintln(stderr, "tributary relay:", err)
		return 2
	}
	if set["grace"] {
		cfg.GracePeriod = grace
	}
	if set["drain"] {
		cfg.DrainPeriod = drain
	}
	if set["max-connections"] {
		cfg.MaxConnections = maxConns
	}
	if set["max-connections-per-ip"] {
		cfg.MaxConnectionsPerIP = maxConnsPerIP
	}
	if set["max-subscriptions"] {
		cfg.MaxSubscriptions = maxSubs
	}
	if set["max-viewer-kbps"] {
		cfg.MaxViewerBitrate = maxViewerKbps * 1000
	}
	if set["max-total-kbps"] {
		cfg.MaxTotalBitrate = maxTotalKbps * 1000
	}
	cfg.Logger = log
	if cfg.TLS == nil && !cfg.DevCert {
		cfg.TLS = &tls.Config{}
	}

	r, err := relay.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "tributary relay:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = r.Start(sctx)
	cancel()
	if err != nil {
		fmt.Fprintln(stderr, "tributary relay:", err)
		return 1
	}
	fmt.Fprintf(stdout, "relay %s\nmoq:  %s (native QUIC), %s (WebTransport)\nhttp: https://%s/.well-known/moq, /watch/<broadcast>, /status.json, /metrics\n",
		r.Name(), r.URL(), r.WebTransportURL(), strings.TrimPrefix(r.URL(), "moqt://"))
	if cfg.DevCert {
		fmt.Fprintf(stdout, "cert-sha256: %s\n", hex.EncodeToString(r.CertHash()))
		if hashFile != "" {
			if err := os.WriteFile(hashFile, []byte(hex.EncodeToString(r.CertHash())+"\n"), 0o644); err != nil {
				fmt.Fprintln(stderr, "tributary relay:", err)
				r.Close()
				return 1
			}
		}
	}
	if g := r.GrantURL(); g != "" {
		fmt.Fprintf(stdout, "instance: %s (members exchange account tokens at %s)\n", r.WellKnownDoc().Instance, g)
	}
	<-ctx.Done()
	stop() // a second signal kills at once
	log.Info("relay: signal received: GOAWAY and drain")
	if err := r.Shutdown(context.Background()); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("relay: shutdown", "err", err)
	}
	return 0
}

// relayToken is `tributary relay token`: mint a signed token.
func relayToken(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tributary relay token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		secretFile, sub string
		publish         listFlag
		watch, isRelay  bool
		ttl             time.Duration
	)
	fs.StringVar(&secretFile, "secret-file", "", "the relay's token secret file (required)")
	fs.StringVar(&sub, "sub", "", "who holds the token: a user name, or a relay's name with -relay (required)")
	fs.Var(&publish, "publish", "namespace prefix the holder may publish under (a/b/c, * for all); repeatable")
	fs.BoolVar(&watch, "watch", false, "the holder may watch under the community policy")
	fs.BoolVar(&isRelay, "relay", false, "the holder is a peer relay")
	fs.DurationVar(&ttl, "ttl", 0, "validity (0: no expiry)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if secretFile == "" || sub == "" {
		fmt.Fprintln(stderr, "tributary relay token: -secret-file and -sub are required")
		return 2
	}
	secret, err := relay.ReadSecret(secretFile)
	if err != nil {
		fmt.Fprintln(stderr, "tributary relay token:", err)
		return 2
	}
	c := relay.Claims{Subject: sub, Publish: publish, Watch: watch, Relay: isRelay}
	if ttl > 0 {
		c.Expires = time.Now().Add(ttl).Unix()
	}
	tok, err := relay.MintToken(secret, c)
	if err != nil {
		fmt.Fprintln(stderr, "tributary relay token:", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
