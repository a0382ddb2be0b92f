package fedi

import (
	"context"
	"encoding/json"
	"errors"
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

// Snapshot is the state of discovery at one moment.
type Snapshot struct {
	// Streams are the live streams, newest first.
	Streams []LiveStream
	// Streaming is true while the streaming API connection is up (new
	// posts arrive at once); false while Watch falls back to polling.
	Streaming bool
	// Err is the last error, nil when all is well; show UserMessage(Err).
	Err error
}

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

// readStream reads events until the connection fails or ctx ends.
func readStream(ctx context.Context, conn *websocket.Conn, events chan<- streamEvent) error {
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
		select {
		case events <- ev:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// entry is a stream Watch tracks, keyed by the original post's id.
type entry struct {
	cand    candidate
	stream  LiveStream
	version int
}

// Watch follows the home timeline and the streaming API and sends a
// Snapshot whenever the list of live streams changes, until ctx ends
// (then the channel is closed). A slow reader only misses intermediate
// snapshots: the channel always holds the latest. Streams are re-confirmed
// every Config.RecheckInterval; posts edited to ENDED, deleted posts and
// streams the LivenessChecker reports ended are dropped.
func (s *Session) Watch(ctx context.Context) <-chan Snapshot {
	out := make(chan Snapshot, 1)
	go s.watch(ctx, out)
	return out
}

// maxWatched bounds how many posts Watch keeps track of.
const maxWatched = 500

type resolved struct {
	key     string
	version int
	stream  LiveStream
}

func (s *Session) watch(ctx context.Context, out chan Snapshot) {
	defer close(out)
	var (
		entries   = map[string]*entry{} // by original post id
		outerToID = map[string]string{} // reblog id -> original id
		results   = make(chan resolved, 16)
		events    = make(chan streamEvent, 64)
		connState = make(chan error, 4) // nil: connected; error: disconnected
		streaming bool
		lastErr   error
		wg        sync.WaitGroup
		sem       = make(chan struct{}, 4)
	)
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	publish := func() {
		list := make([]LiveStream, 0, len(entries))
		for _, e := range entries {
			if e.stream.State != StateEnded && e.stream.State != "" {
				list = append(list, e.stream)
			}
		}
		sortStreams(list)
		snap := Snapshot{Streams: list, Streaming: streaming, Err: lastErr}
		select {
		case <-out:
		default:
		}
		out <- snap
	}
	startResolve := func(key string, e *entry) {
		e.version++
		v, cd := e.version, e.cand
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			st := s.c.resolve(ctx, cd)
			<-sem
			select {
			case results <- resolved{key: key, version: v, stream: st}:
			case <-ctx.Done():
			}
		}()
	}
	// consider handles one post; it returns true if the list changed now.
	consider := func(st *mastodon.Status) bool {
		cd, ok := classify(st, s.host, s.Account().Domain)
		key := ""
		if st != nil {
			key = string(st.ID)
			if st.Reblog != nil {
				key = string(st.Reblog.ID)
			}
		}
		if !ok {
			// An edit may have removed the announcement.
			if e, had := entries[key]; had {
				delete(entries, key)
				return e.stream.State != ""
			}
			return false
		}
		if cd.outerID != cd.innerID {
			if len(outerToID) >= 4*maxWatched {
				clear(outerToID) // bounded; a lost reblog id only delays a removal
			}
			outerToID[cd.outerID] = cd.innerID
		}
		e, had := entries[cd.innerID]
		if !had {
			if len(entries) >= maxWatched {
				// Bounded memory: forget the oldest post.
				oldest := ""
				for k, o := range entries {
					if oldest == "" || o.cand.stream.StartedAt.Before(entries[oldest].cand.stream.StartedAt) {
						oldest = k
					}
				}
				delete(entries, oldest)
			}
			e = &entry{}
			entries[cd.innerID] = e
		}
		e.cand = cd
		changed := false
		if cd.ended {
			changed = had && e.stream.State != "" && e.stream.State != StateEnded
			e.stream = cd.stream
			e.stream.State = StateEnded
			e.version++
			// An ended post also ends older live posts of the same broadcast.
			for k, o := range entries {
				if k != cd.innerID && o.cand.stream.WatchURL == cd.stream.WatchURL && cd.stream.WatchURL != "" && o.stream.State != StateEnded &&
					!o.cand.stream.StartedAt.After(cd.stream.StartedAt) {
					o.stream.State = StateEnded
					o.version++
					changed = true
				}
			}
			return changed
		}
		startResolve(cd.innerID, e)
		return false
	}
	remove := func(id string) bool {
		if inner, ok := outerToID[id]; ok {
			delete(outerToID, id)
			id = inner
		}
		e, ok := entries[id]
		if !ok {
			return false
		}
		delete(entries, id)
		return e.stream.State != "" && e.stream.State != StateEnded
	}
	poll := func() {
		sts, err := s.homeTimeline(ctx)
		if err != nil {
			if ctx.Err() == nil {
				lastErr = err
				publish()
			}
			return
		}
		lastErr = nil
		// Oldest first, so newer posts (an ENDED edit) win.
		changed := false
		for i := len(sts) - 1; i >= 0; i-- {
			if consider(sts[i]) {
				changed = true
			}
		}
		if changed || len(entries) == 0 {
			publish()
		}
	}

	// The streaming connection, with reconnects and backoff.
	wg.Add(1)
	go func() {
		defer wg.Done()
		backoff := time.Second
		for ctx.Err() == nil {
			conn, err := s.dialStream(ctx)
			if err == nil {
				select {
				case connState <- nil:
				case <-ctx.Done():
					conn.Close()
					return
				}
				start := time.Now()
				err = readStream(ctx, conn, events)
				conn.Close()
				if time.Since(start) > time.Minute {
					backoff = time.Second
				}
				if ctx.Err() != nil {
					return
				}
				err = wrap("streaming API", s.host, err)
			}
			select {
			case connState <- err:
			case <-ctx.Done():
				return
			}
			wait := backoff
			var fe *Error
			if errors.As(err, &fe) && fe.Kind == KindRateLimited {
				var rl *safehttp.RateLimitError
				if errors.As(err, &rl) && rl.RetryAfter > wait {
					wait = rl.RetryAfter
				}
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
			backoff = min(backoff*2, 2*time.Minute)
		}
	}()

	recheck := time.NewTicker(s.c.cfg.RecheckInterval)
	defer recheck.Stop()
	// While the streaming API is down, the timeline is polled instead.
	polled := false
	pollTimer := time.NewTimer(5 * time.Second)
	defer pollTimer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case err := <-connState:
			if err == nil {
				streaming = true
				lastErr = nil
				// Read the timeline after connecting, so no post falls between.
				polled = true
				poll()
				publish()
				continue
			}
			streaming = false
			if !polled {
				polled = true
				poll()
			}
			lastErr = err
			publish()
			pollTimer.Reset(30 * time.Second)
		case <-pollTimer.C:
			if !streaming {
				polled = true
				poll()
				pollTimer.Reset(30 * time.Second)
			}
		case ev := <-events:
			changed := false
			switch ev.kind {
			case "update", "status.update":
				changed = consider(ev.status)
			case "delete":
				changed = remove(ev.id)
			}
			if changed {
				publish()
			}
		case r := <-results:
			e, ok := entries[r.key]
			if !ok || e.version != r.version {
				continue
			}
			before := e.stream
			e.stream = r.stream
			if !sameListing(before, r.stream) {
				publish()
			}
		case <-recheck.C:
			for k, e := range entries {
				if e.stream.State == StateEnded {
					delete(entries, k)
					continue
				}
				startResolve(k, e)
			}
		}
	}
}

// sameListing reports whether two versions of a stream look the same in a list.
func sameListing(a, b LiveStream) bool {
	if a.State != b.State || a.Title != b.Title || a.WatchURL != b.WatchURL || a.Thumbnail != b.Thumbnail || len(a.RelayURLs) != len(b.RelayURLs) {
		return false
	}
	for i := range a.RelayURLs {
		if a.RelayURLs[i] != b.RelayURLs[i] {
			return false
		}
	}
	return true
}
