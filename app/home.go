package app

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/tributary-live/tributary/player"
)

// The home relay (docs/RELAY.md, "Instance relays"): the relay the active
// account's own server names in its /.well-known/moq. Streams found on the
// Fediverse are played through it (it pulls each broadcast once for its
// whole community), with the origin's own endpoints as the fallback, and
// Go live publishes to it with the account's relay grant. The account's
// token only ever goes to the grant URL of that server's document (the fedi
// package sees to it); the grant goes only to the home relay.

// HomeRelay is the active account's home relay.
type HomeRelay struct {
	// URL is its MoQ URL (moqt://host:port).
	URL string
	// Instance is the instance it serves (the account's domain).
	Instance string
	// CertHashes pin a development certificate (from the server's document).
	CertHashes []string
	// Publish are the namespace prefixes the account's grant may publish under.
	Publish []string
}

// HomeState is what the app knows of the home relay.
type HomeState struct {
	// Relay is the discovered home relay, or nil.
	Relay *HomeRelay
	// Step is progress while discovering it.
	Step Step
	// Err says why there is none (nil: none named, or not signed in).
	Err *Problem
}

// homeGrant is a home relay and a grant of it, fresh from the backend.
type homeGrant struct {
	relay HomeRelay
	token string
}

// homeRun is the discovery of the active account's home relay.
type homeRun struct {
	cancel context.CancelFunc
	seq    int
	id     string // account
}

// discoverHome looks up the active account's home relay in the background
// (called when the active account changes).
func (c *Core) discoverHome() {
	if c.home.cancel != nil {
		c.home.cancel()
		c.home.cancel = nil
	}
	c.st.Home = HomeState{}
	if c.svc.fedi == nil || len(c.st.Accounts) == 0 {
		return
	}
	acc := c.st.Accounts[0]
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	c.home.cancel = cancel
	c.home.seq++
	c.home.id = acc.ID
	seq := c.home.seq
	c.st.Home.Step = Step{Busy: true, Label: "Looking for " + acc.Handle + "'s home relay…"}
	svc := c.svc.fedi
	c.goBG(func() {
		defer cancel()
		g, err := svc.homeRelay(ctx, acc.ID)
		c.do(func() {
			if c.home.seq != seq {
				return
			}
			c.home.cancel = nil
			c.st.Home.Step = Step{}
			if err != nil {
				c.st.Home.Err = AsProblem("Finding the home relay of "+acc.Handle, err)
				return
			}
			r := g.relay
			c.st.Home.Relay = &r
		})
	})
}

// viaHome returns the URLs of a Fediverse stream with its home-relay URL
// first: the same broadcast (namespace) on the home relay. ok is false when
// there is no home relay, or the stream is on it already.
func (c *Core) viaHome(s Stream) ([]string, bool) {
	h := c.st.Home.Relay
	if h == nil || s.Demo || len(s.URLs) == 0 || c.st.Settings.HomeRelayURL != "" {
		return s.URLs, false
	}
	for _, u := range s.URLs {
		if sameHost(u, h.URL) {
			return s.URLs, false
		}
	}
	via, err := relayStreamURL(h.URL, s.URLs[0])
	if err != nil {
		return s.URLs, false
	}
	return append([]string{via}, s.URLs...), true
}

// relayStreamURL is the URL of the broadcast of stream on relay.
func relayStreamURL(relay, stream string) (string, error) {
	_, ns, err := player.ParseURL(stream)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(relay)
	if err != nil || u.Host == "" {
		return "", errors.New("bad relay URL")
	}
	fields := make([]string, len(ns))
	for i, f := range ns {
		fields[i] = url.PathEscape(string(f))
	}
	return u.Scheme + "://" + u.Host + "/" + strings.Join(fields, "/"), nil
}

// pathLabel says how the player reaches a stream: "via <instance>" through
// the home relay, "direct" otherwise.
func (c *Core) pathLabel(u string) string {
	if h := c.st.Home.Relay; h != nil && sameHost(u, h.URL) {
		return "via " + h.Instance
	}
	if c.relayRun != nil && sameHost(u, c.relayRun.info.URL) {
		return "via your personal relay"
	}
	return "direct"
}
