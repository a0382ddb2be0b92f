package fedi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/mattn/go-mastodon"

	"github.com/tributary-live/tributary/fedi/internal/safehttp"
	"github.com/tributary-live/tributary/fedi/livepost"
)

// streamEvent is one event of the streaming API (Mastodon streaming API:
// {"stream":["user"],"event":"update","payload":"<JSON status>"}).
type streamEvent struct {
	kind   string // "update", "status.update", "delete"
	status *mastodon.Status
	id     string
}

// parseStreamMessage decodes one streaming API message into an event
// (livepost.ParseStreamMessage, then the status into go-mastodon's type).
func parseStreamMessage(b []byte) (streamEvent, bool, error) {
	ev, ok, err := livepost.ParseStreamMessage(b)
	if err != nil || !ok {
		return streamEvent{}, ok, err
	}
	if ev.Event == "delete" {
		return streamEvent{kind: ev.Event, id: ev.ID}, true, nil
	}
	var st mastodon.Status
	if err := json.Unmarshal(ev.Status, &st); err != nil {
		return streamEvent{}, false, fmt.Errorf("streaming %s: %w", ev.Event, err)
	}
	return streamEvent{kind: ev.Event, status: &st}, true, nil
}

// streamingURL asks the server where its streaming API is
// (GET /api/v1/instance, urls.streaming_api) and falls back to the API host.
func (s *Session) streamingURL(ctx context.Context) (string, error) {
	base, err := url.Parse(s.Account().Server)
	if err != nil {
		return "", err
	}
	// Servers may run the streaming API on another host (Mastodon's
	// urls.streaming_api); on the API's own host the API's scheme is kept
	// (GoToSocial announces wss even when it serves plain http).
	if inst, err := s.mc.GetInstance(ctx); err == nil {
		if su, ok := inst.URLs["streaming_api"]; ok {
			if u, err := url.Parse(su); err == nil && u.Host != "" && !strings.EqualFold(u.Host, base.Host) && (u.Scheme == "wss" || u.Scheme == "https") {
				base = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
			}
		}
	}
	switch base.Scheme {
	case "https":
		base.Scheme = "wss"
	case "http":
		base.Scheme = "ws"
	}
	if err := s.c.api.CheckURLScheme(base.Scheme, base.Host); err != nil {
		return "", err
	}
	base.Path = strings.TrimSuffix(base.Path, "/") + "/api/v1/streaming"
	base.RawQuery = url.Values{"stream": {"user"}}.Encode()
	return base.String(), nil
}

// dialStream opens the user stream. The token goes in the Authorization
// header, never in the URL.
func (s *Session) dialStream(ctx context.Context) (*websocket.Conn, error) {
	u, err := s.streamingURL(ctx)
	if err != nil {
		return nil, wrap("connect streaming API", s.host, err)
	}
	d := websocket.Dialer{
		NetDialContext:   s.c.api.Dialer().DialContext,
		TLSClientConfig:  s.c.api.TLSConfig(),
		HandshakeTimeout: 10 * time.Second,
		Proxy:            http.ProxyFromEnvironment,
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+s.token)
	h.Set("User-Agent", s.c.cfg.UserAgent)
	conn, resp, err := d.DialContext(ctx, u, h)
	if err != nil {
		if resp != nil {
			code := resp.StatusCode
			resp.Body.Close()
			switch {
			case code == 401 || code == 403:
				return nil, newError(KindUnauthorized, "connect streaming API", s.host, fmt.Errorf("HTTP %d", code))
			case code == 429:
				return nil, newError(KindRateLimited, "connect streaming API", s.host, &safehttp.RateLimitError{Host: s.host, RetryAfter: safehttp.RetryAfter(resp.Header.Get("Retry-After"), time.Now())})
			}
			return nil, newError(KindServer, "connect streaming API", s.host, fmt.Errorf("HTTP %d", code))
		}
		return nil, wrap("connect streaming API", s.host, err)
	}
	conn.SetReadLimit(livepost.MaxStreamMessage)
	return conn, nil
}

// readStream reads events and hands each to got until the connection
// fails, ctx ends or got returns false.
func readStream(ctx context.Context, conn *websocket.Conn, got func(streamEvent) bool) error {
	const idle = 2 * time.Minute // servers ping every 30 s or so
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	_ = conn.SetReadDeadline(time.Now().Add(idle))
	conn.SetPingHandler(func(data string) error {
		_ = conn.SetReadDeadline(time.Now().Add(idle))
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(5*time.Second))
	})
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		_ = conn.SetReadDeadline(time.Now().Add(idle))
		ev, ok, err := parseStreamMessage(b)
		if err != nil || !ok {
			continue
		}
		if !got(ev) {
			return ctx.Err()
		}
	}
}

// Watch follows the home timeline and the streaming API and sends a
// Snapshot whenever the list of live streams changes, until ctx ends
// (then the channel is closed). A slow reader only misses intermediate
// snapshots: the channel always holds the latest. Streams are re-confirmed
// Config.RecheckInterval after each confirmation; posts edited to ENDED,
// deleted posts and streams the LivenessChecker reports ended are dropped.
func (s *Session) Watch(ctx context.Context) <-chan Snapshot {
	out := make(chan Snapshot, 1)
	go s.watch(ctx, out)
	return out
}

// linkNews is what the streaming goroutine reports, in order: the
// connection is up (up), an event came (ev), or it ended (err).
type linkNews struct {
	up  bool
	ev  *streamEvent
	err error
}

// pageNews is the outcome of reading the home timeline.
type pageNews struct {
	sts []*mastodon.Status
	err error
}

// resolved is the outcome of confirming a candidate.
type resolved struct {
	job    job
	stream LiveStream
}

// watch does the timeline's work and hands it the outcomes: the decisions
// (what to read, dial, confirm or send, and when) are the timeline's; this
// goroutine and those it starts only do the I/O.
func (s *Session) watch(ctx context.Context, out chan Snapshot) {
	defer close(out)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	tl := newTimeline(timelineConfig{localHost: s.host, localDomain: s.Account().Domain, recheck: s.c.cfg.RecheckInterval})
	var (
		links   = make(chan linkNews)
		pages   = make(chan pageNews)
		results = make(chan resolved)
		wake    = time.NewTimer(time.Hour)
	)
	defer wake.Stop()
	do := func(w todo) {
		if w.dial {
			wg.Go(func() { s.followStream(ctx, links) })
		}
		if w.fetch {
			wg.Go(func() {
				sts, err := s.homeTimeline(ctx)
				send(ctx, pages, pageNews{sts, err})
			})
		}
		for _, j := range w.resolve {
			wg.Go(func() { send(ctx, results, resolved{j, s.c.resolve(ctx, j.cand)}) })
		}
		if w.publish {
			select {
			case <-out:
			default:
			}
			out <- tl.snapshot()
		}
		if at := tl.next(); at.IsZero() {
			wake.Stop()
		} else {
			wake.Reset(time.Until(at))
		}
	}
	do(tl.start(time.Now()))
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-links:
			switch {
			case n.up:
				do(tl.connected(time.Now()))
			case n.err != nil:
				do(tl.disconnected(n.err, time.Now()))
			case n.ev.kind == "delete":
				do(tl.deleted(n.ev.id, time.Now()))
			default: // "update", "status.update"
				do(tl.update(n.ev.status, time.Now()))
			}
		case p := <-pages:
			if p.err != nil {
				do(tl.fetchFailed(p.err, time.Now()))
			} else {
				do(tl.page(p.sts, time.Now()))
			}
		case r := <-results:
			do(tl.resolved(r.job, r.stream, time.Now()))
		case now := <-wake.C:
			do(tl.tick(now))
		}
	}
}

// followStream dials the streaming API once and reports on links until the
// connection ends or ctx does.
func (s *Session) followStream(ctx context.Context, links chan<- linkNews) {
	conn, err := s.dialStream(ctx)
	if err != nil {
		send(ctx, links, linkNews{err: err})
		return
	}
	defer conn.Close()
	if !send(ctx, links, linkNews{up: true}) {
		return
	}
	err = readStream(ctx, conn, func(ev streamEvent) bool { return send(ctx, links, linkNews{ev: &ev}) })
	if ctx.Err() == nil {
		send(ctx, links, linkNews{err: wrap("streaming API", s.host, err)})
	}
}

// send hands v over on ch unless ctx ends first; it reports whether it did.
func send[T any](ctx context.Context, ch chan<- T, v T) bool {
	select {
	case ch <- v:
		return true
	case <-ctx.Done():
		return false
	}
}
