package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tributary-live/tributary/fedi"
)

// authFlags are how `tributary publish` and `tributary play` authenticate
// to a relay: a grant or relay token given as is, or an instance sign-in
// (the account's access token, exchanged at the grant URL the account's own
// server names in its /.well-known/moq; docs/RELAY.md "Instance relays").
type authFlags struct {
	token, tokenFile        string
	instance, accountTokenF string
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.token, "token", "", "a grant or token of the relay, sent in SETUP (prefer --token-file: arguments are visible to other users)")
	fs.StringVar(&a.tokenFile, "token-file", "", "file holding a grant or token of the relay")
	fs.StringVar(&a.instance, "instance", "", "sign in with an account of this Mastodon-API server (https://social.example): its relay's grant is used")
	fs.StringVar(&a.accountTokenF, "account-token-file", "", "with --instance: file holding the account's access token (or set TRIBUTARY_ACCOUNT_TOKEN)")
}

// source returns a function giving the SETUP token before each connection
// to relayURL (nil: no token), checking first what can be checked.
func (a *authFlags) source(ctx context.Context, relayURL string) (func(context.Context) ([]byte, error), error) {
	fixed := a.token
	if a.tokenFile != "" {
		b, err := os.ReadFile(a.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		fixed = strings.TrimSpace(string(b))
	}
	if fixed != "" && a.instance != "" {
		return nil, errors.New("give a token or an instance sign-in, not both")
	}
	if fixed != "" {
		return func(context.Context) ([]byte, error) { return []byte(fixed), nil }, nil
	}
	if a.instance == "" {
		return nil, nil
	}
	acct := os.Getenv("TRIBUTARY_ACCOUNT_TOKEN")
	if a.accountTokenF != "" {
		b, err := os.ReadFile(a.accountTokenF)
		if err != nil {
			return nil, fmt.Errorf("--account-token-file: %w", err)
		}
		acct = strings.TrimSpace(string(b))
	}
	if acct == "" {
		return nil, errors.New("--instance needs the account's access token: --account-token-file F or TRIBUTARY_ACCOUNT_TOKEN")
	}
	server := a.instance
	if !strings.Contains(server, "://") {
		server = "https://" + server
	}
	opts := fedi.HomeRelayOptions{UserAgent: "Tributary (headless)"}
	home, err := fedi.DiscoverHomeRelay(ctx, server, opts)
	if err != nil {
		return nil, err
	}
	// The grant is for the relay the server names, and goes nowhere else.
	if u, err := url.Parse(relayURL); err != nil || !strings.EqualFold(u.Host, home.Host()) {
		return nil, fmt.Errorf("%s names %s as its relay, not %s: its grant is only sent there", server, home.Host(), hostOfURL(relayURL))
	}
	var mu sync.Mutex
	var g *fedi.Grant
	return func(ctx context.Context) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if !g.Valid(time.Minute) {
			ng, err := fedi.ExchangeGrant(ctx, home, acct, opts)
			if err != nil {
				return nil, err
			}
			g = ng
		}
		return []byte(g.Token), nil
	}, nil
}

func hostOfURL(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}
