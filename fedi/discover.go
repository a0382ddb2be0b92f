package fedi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	vocab "github.com/go-ap/activitypub"
	"github.com/mattn/go-mastodon"

	"github.com/tributary-live/tributary/fedi/internal/safehttp"
	"github.com/tributary-live/tributary/fedi/livepost"
)

// Source says how a live stream was found.
type Source string

// The sources of live streams.
const (
	// SourceTributary is a Tributary announcement ("🔴 LIVE: ... #moqlive").
	SourceTributary Source = "tributary"
	// SourceFEPe232 is a post carrying a FEP-e232 Link to a MoQ endpoint.
	SourceFEPe232 Source = "fep-e232"
	// SourcePeerTube is a PeerTube Video object with isLiveBroadcast.
	SourcePeerTube Source = "peertube"
	// SourceOwncast is an Owncast go-live post.
	SourceOwncast Source = "owncast"
)

// State is how sure Tributary is that a stream is on.
type State string

// The states of a listed stream. Ended streams are not listed.
const (
	// StateLive: the post says live and the relay (or server) confirmed it.
	StateLive State = "live"
	// StateUnconfirmed: the post says live but the relay could not be asked.
	StateUnconfirmed State = "unconfirmed"
	// StateUpcoming: announced but not started (PeerTube "waiting for live").
	StateUpcoming State = "upcoming"
	// StateEnded: the stream ended; such streams are dropped from lists.
	StateEnded State = "ended"
)

// RelayInfo is a relay's /.well-known/moq document (see docs/FEDIVERSE.md).
type RelayInfo = livepost.WellKnown

// LiveStream is one live stream found on the Fediverse.
type LiveStream struct {
	// Account is the streamer's handle (user@domain).
	Account string
	// DisplayName is the streamer's display name, sanitised.
	DisplayName string
	// Avatar is the URL of the streamer's avatar.
	Avatar string
	// Title is the stream title, sanitised to one line.
	Title string
	// StartedAt is when the stream started (the post's time if nothing better is known).
	StartedAt time.Time
	// RelayURLs are MoQ endpoints carrying the broadcast, best first:
	// moqt://host:port/<broadcast> (native QUIC) before
	// https://host:port/<broadcast> (WebTransport). Empty when the stream
	// offers no MoQ (PeerTube, Owncast): then open WatchURL.
	RelayURLs []string
	// Broadcast is the broadcast path on the relay (Tributary streams).
	Broadcast string
	// Relay is the relay's /.well-known/moq document, nil if unknown.
	Relay *RelayInfo
	// WatchURL is a web page showing the stream.
	WatchURL string
	// Thumbnail is a picture of the stream, if known.
	Thumbnail string
	// State is live, unconfirmed or upcoming.
	State State
	// PostURL is the web address of the post that announced the stream.
	PostURL string
	// PostID is the post's id on the viewer's server.
	PostID string
	// Source says how the stream was found.
	Source Source
}

// Liveness is a LivenessChecker's verdict.
type Liveness int

// The verdicts of a LivenessChecker.
const (
	// LivenessUnknown: the check could not tell.
	LivenessUnknown Liveness = iota
	// LivenessLive: the broadcast is live on the relay.
	LivenessLive
	// LivenessEnded: the relay does not carry the broadcast (any more).
	LivenessEnded
)

// LivenessChecker confirms a stream on its relay; the app implements it
// with a MoQ TRACK_STATUS or catalog request to one of s.RelayURLs.
type LivenessChecker interface {
	// CheckLive reports whether s is live. It is called with a context
	// that has a deadline.
	CheckLive(ctx context.Context, s LiveStream) (Liveness, error)
}

// LivenessFunc adapts a function to LivenessChecker.
type LivenessFunc func(ctx context.Context, s LiveStream) (Liveness, error)

// CheckLive implements LivenessChecker.
func (f LivenessFunc) CheckLive(ctx context.Context, s LiveStream) (Liveness, error) {
	return f(ctx, s)
}

// candidate is a post that may announce a stream, before it is resolved.
type candidate struct {
	stream   LiveStream
	fetchAP  bool   // fetch the ActivityPub object (PeerTube, FEP-e232)
	uri      string // ActivityPub id of the post
	ended    bool   // the post itself says ended
	outerID  string // id of the timeline entry (a reblog's own id)
	owncast  string // Owncast server base URL
	innerID  string // id of the original post
	fromHost string // host of the post's author
}

// classify looks at one status of a timeline and says whether it may be
// about a live stream. localHost is the viewer's server host: objects of
// local posts are not fetched (the API already gave all there is).
// localDomain completes local accounts' handles (it may differ from the host).
func classify(st *mastodon.Status, localHost, localDomain string) (candidate, bool) {
	if st == nil {
		return candidate{}, false
	}
	outer := string(st.ID)
	if st.Reblog != nil {
		st = st.Reblog
	}
	c := livepost.HTMLToText(st.Content)
	tags := make([]string, 0, len(st.Tags))
	for i, t := range st.Tags {
		if i >= 64 {
			break
		}
		tags = append(tags, t.Name)
	}
	authorHost := hostOf(st.Account.URL)
	acct := st.Account.Acct
	if acct != "" && !strings.Contains(acct, "@") && localDomain != "" {
		acct += "@" + localDomain
	}
	base := LiveStream{
		Account:     livepost.Sanitize(acct, 200),
		DisplayName: displayName(&st.Account),
		Avatar:      st.Account.Avatar,
		StartedAt:   st.CreatedAt,
		PostURL:     st.URL,
		PostID:      string(st.ID),
	}
	cand := candidate{outerID: outer, innerID: string(st.ID), uri: st.URI, fromHost: authorHost}
	uriHost := hostOf(st.URI)
	remote := uriHost != "" && !strings.EqualFold(uriHost, localHost)

	if a, ok := livepost.ParseAnnouncement(c, tags); ok {
		s := base
		s.Source = SourceTributary
		s.Title = a.Title
		s.WatchURL = a.WatchURL
		s.Broadcast = a.Broadcast
		s.State = StateUnconfirmed
		cand.stream, cand.ended = s, a.Ended
		// A remote post may carry FEP-e232 links to more endpoints.
		cand.fetchAP = remote && !a.Ended
		return cand, true
	}
	if isPeerTubeURI(st.URI) && remote {
		s := base
		s.Source = SourcePeerTube
		// Until the Video object is read, the preview card (if any) or the
		// first line of text that is not a link names the stream.
		s.Title = livepost.Sanitize(firstTextLine(c.Text), livepost.MaxTitleRunes)
		if st.Card != nil {
			if t := livepost.Sanitize(st.Card.Title, livepost.MaxTitleRunes); t != "" {
				s.Title = t
			}
			if _, ok := livepost.EndpointURL(st.Card.Image, "https"); ok {
				s.Thumbnail = st.Card.Image
			}
		}
		s.WatchURL = st.URL
		s.State = StateUnconfirmed
		cand.stream, cand.fetchAP = s, true
		return cand, true
	}
	if o, ok := livepost.ParseOwncast(c, tags, authorHost); ok {
		s := base
		s.Source = SourceOwncast
		s.Title = o.Title
		s.WatchURL = o.WatchURL
		s.Thumbnail = strings.TrimSuffix(o.WatchURL, "/") + "/thumbnail.jpg"
		s.State = StateUnconfirmed
		cand.stream, cand.owncast = s, o.WatchURL
		return cand, true
	}
	// Other remote posts tagged as live, or linking to moqt:, may carry
	// FEP-e232 links: look at the object.
	if remote && (livepost.HasTag(c, tags, livepost.Hashtag) || livepost.HasTag(c, tags, "live") || strings.Contains(strings.ToLower(st.Content), "moqt://")) {
		s := base
		s.Source = SourceFEPe232
		s.Title = livepost.Sanitize(firstTextLine(c.Text), livepost.MaxTitleRunes)
		s.State = StateUnconfirmed
		cand.stream, cand.fetchAP = s, true
		return cand, true
	}
	return candidate{}, false
}

func isPeerTubeURI(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	return strings.HasPrefix(p.Path, "/videos/watch/") || strings.HasPrefix(p.Path, "/w/")
}

// firstTextLine is the first line of s that is not just a URL.
func firstTextLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") {
			return l
		}
	}
	return ""
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// wkEntry caches a relay's /.well-known/moq answer.
type wkEntry struct {
	info *RelayInfo
	err  error
	at   time.Time
}

const wkTTL = 30 * time.Second

// RelayInfo fetches https://<relay>/.well-known/moq (cached for 30 s).
// relay is host[:port]; the fetch refuses private addresses.
func (c *Client) RelayInfo(ctx context.Context, relay string) (*RelayInfo, error) {
	c.wkMu.Lock()
	e, ok := c.wkCache[relay]
	c.wkMu.Unlock()
	if ok && time.Since(e.at) < wkTTL {
		return e.info, e.err
	}
	info, err := c.fetchWellKnown(ctx, relay)
	if ctx.Err() == nil {
		c.wkMu.Lock()
		if len(c.wkCache) > 256 {
			clear(c.wkCache)
		}
		c.wkCache[relay] = wkEntry{info: info, err: err, at: time.Now()}
		c.wkMu.Unlock()
	}
	return info, err
}

func (c *Client) fetchWellKnown(ctx context.Context, relay string) (*RelayInfo, error) {
	if strings.ContainsAny(relay, "/?#@ ") || relay == "" {
		return nil, newError(KindInvalid, "ask relay", relay, fmt.Errorf("bad relay host %q", relay))
	}
	body, err := c.guardedGet(ctx, "https://"+relay+livepost.WellKnownPath, "application/json", livepost.MaxSmallJSON)
	if err != nil {
		return nil, wrap("ask relay", relay, err)
	}
	info, err := livepost.ParseWellKnown(body)
	if err != nil {
		return nil, newError(KindServer, "ask relay", relay, err)
	}
	return info, nil
}

// guardedGet fetches a URL named by post content with the SSRF guard.
func (c *Client) guardedGet(ctx context.Context, rawURL, accept string, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	resp, err := c.guardC.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", rawURL, resp.StatusCode)
	}
	return safehttp.ReadAll(resp.Body, max)
}

// fetchObject loads an ActivityPub object with go-ap's client (over the
// guarded HTTP client) and parses it.
func (c *Client) fetchObject(ctx context.Context, id string) (*livepost.Object, error) {
	if _, ok := livepost.EndpointURL(id, "https", "http"); !ok {
		return nil, fmt.Errorf("object id %q is not a URL", id)
	}
	resp, err := c.ap.CtxGet(ctx, vocab.IRI(id).String())
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", id, resp.StatusCode)
	}
	body, err := safehttp.ReadAll(resp.Body, livepost.MaxObjectBytes)
	if err != nil {
		return nil, err
	}
	return livepost.ParseObject(body)
}

// relayURLs joins a relay's endpoints with the broadcast path, native
// QUIC first, then WebTransport.
func relayURLs(info *RelayInfo, broadcast string) []string {
	if info == nil {
		return nil
	}
	var out []string
	for _, list := range [][]string{info.MoQT, info.WebTransport} {
		for _, e := range list {
			u, err := url.Parse(e)
			if err != nil {
				continue
			}
			u.Path = strings.TrimSuffix(u.Path, "/") + "/" + broadcast
			u.RawPath = ""
			out = append(out, u.String())
		}
	}
	return out
}

// resolve confirms a candidate: fetches what it points at and asks the
// liveness checker. It returns the stream with its state; StateEnded means
// drop it.
func (c *Client) resolve(ctx context.Context, cand candidate) LiveStream {
	s := cand.stream
	if cand.ended {
		s.State = StateEnded
		return s
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var fepLinks []string
	if cand.fetchAP {
		obj, err := c.fetchObject(ctx, cand.uri)
		if err != nil {
			c.log.Debug("fedi: object fetch failed", "uri", cand.uri, "err", err)
		} else {
			for _, m := range obj.MoQ {
				fepLinks = append(fepLinks, m.Href)
			}
			if s.Source == SourcePeerTube {
				if !obj.IsLiveBroadcast {
					s.State = StateEnded // not a live video: not a stream
					return s
				}
				if obj.Name != "" {
					s.Title = obj.Name
				}
				if obj.HTMLURL != "" {
					s.WatchURL = obj.HTMLURL
				}
				if obj.Thumbnail != "" {
					s.Thumbnail = obj.Thumbnail
				}
				if !obj.Published.IsZero() {
					s.StartedAt = obj.Published
				}
				s.RelayURLs = fepLinks
				switch obj.PeerTubeState {
				case livepost.PeerTubePublished:
					s.State = StateLive
				case livepost.PeerTubeWaitingForLive:
					s.State = StateUpcoming
				case livepost.PeerTubeLiveEnded:
					s.State = StateEnded
				}
				return s
			}
		}
	}
	switch s.Source {
	case SourcePeerTube:
		// The object could not be fetched: show it, linked, unconfirmed.
		return s
	case SourceFEPe232:
		if len(fepLinks) == 0 {
			s.State = StateEnded // no MoQ link: not a stream after all
			return s
		}
		s.RelayURLs = fepLinks
		if s.WatchURL == "" {
			s.WatchURL = s.PostURL
		}
	case SourceOwncast:
		body, err := c.guardedGet(ctx, strings.TrimSuffix(cand.owncast, "/")+"/api/status", "application/json", livepost.MaxSmallJSON)
		if err != nil {
			c.log.Debug("fedi: owncast status failed", "server", cand.owncast, "err", err)
			return s
		}
		st, err := livepost.ParseOwncastStatus(body)
		if err != nil {
			return s
		}
		if !st.Online {
			s.State = StateEnded
			return s
		}
		s.State = StateLive
		if st.LastConnectTime != nil && !st.LastConnectTime.IsZero() {
			s.StartedAt = *st.LastConnectTime
		}
		if s.Title == "" {
			s.Title = st.StreamTitle
		}
		return s
	case SourceTributary:
		relay, _, err := livepost.ParseWatchURL(s.WatchURL)
		if err == nil {
			info, err := c.RelayInfo(ctx, relay)
			if err != nil {
				c.log.Debug("fedi: relay not confirmed", "relay", relay, "err", err)
			} else {
				s.Relay = info
				s.RelayURLs = relayURLs(info, s.Broadcast)
				s.State = StateLive
			}
		}
		s.RelayURLs = append(fepLinks, s.RelayURLs...)
	}
	if len(s.RelayURLs) == 0 {
		return s
	}
	if c.cfg.Liveness != nil {
		v, err := c.cfg.Liveness.CheckLive(ctx, s)
		switch {
		case err != nil:
			c.log.Debug("fedi: liveness check failed", "account", s.Account, "err", err)
			s.State = StateUnconfirmed
		case v == LivenessLive:
			s.State = StateLive
		case v == LivenessEnded:
			s.State = StateEnded
		default:
			s.State = StateUnconfirmed
		}
	} else if s.Source == SourceFEPe232 {
		s.State = StateUnconfirmed
	}
	return s
}

// resolveAll resolves candidates concurrently (at most 4 at a time) and
// returns the streams that did not end.
func (c *Client) resolveAll(ctx context.Context, cands []candidate) []LiveStream {
	out := make([]LiveStream, len(cands))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, cd := range cands {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i] = c.resolve(ctx, cd)
		}()
	}
	wg.Wait()
	live := out[:0]
	for _, s := range out {
		if s.State != StateEnded {
			live = append(live, s)
		}
	}
	sortStreams(live)
	return live
}

// sortStreams puts a list in the order Live now shows it: confirmed live
// streams first, then the others (unconfirmed, upcoming), each newest
// first.
func sortStreams(list []LiveStream) {
	slices.SortFunc(list, func(a, b LiveStream) int {
		if al, bl := a.State == StateLive, b.State == StateLive; al != bl {
			if al {
				return -1
			}
			return 1
		}
		if c := b.StartedAt.Compare(a.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.PostID, b.PostID)
	})
}

// homeTimeline reads the newest page of the home timeline.
func (s *Session) homeTimeline(ctx context.Context) ([]*mastodon.Status, error) {
	sts, err := s.mc.GetTimelineHome(ctx, &mastodon.Pagination{Limit: 40})
	if err != nil {
		return nil, wrap("read home timeline", s.host, err)
	}
	return sts, nil
}

// Discover reads the account's home timeline once and returns the live
// streams it announces, confirmed with their relays: the live ones first,
// then the others, each newest first.
func (s *Session) Discover(ctx context.Context) ([]LiveStream, error) {
	sts, err := s.homeTimeline(ctx)
	if err != nil {
		return nil, err
	}
	// Newest first on the timeline: the first post about a broadcast wins.
	seen := map[string]bool{}
	var cands []candidate
	for _, st := range sts {
		cd, ok := classify(st, s.host, s.Account().Domain)
		if !ok || seen[cd.innerID] {
			continue
		}
		seen[cd.innerID] = true
		cands = append(cands, cd)
	}
	return s.c.resolveAll(ctx, dedupe(cands)), nil
}

// dedupe keeps, per broadcast (watch URL), only the newest post, so an
// ended post hides an older live post of the same broadcast.
func dedupe(cands []candidate) []candidate {
	seen := map[string]bool{}
	out := cands[:0]
	for _, c := range cands {
		key := c.stream.WatchURL
		if key != "" && c.stream.Source == SourceTributary {
			if seen[key] {
				continue
			}
			seen[key] = true
		}
		out = append(out, c)
	}
	return out
}
