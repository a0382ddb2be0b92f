package app

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// moqRelay is the personal relay built directly on a moq.Server, for as long
// as the relay package (issue 4) has not landed: it serves the tracks that
// publishers push with PUBLISH, and forwards a SUBSCRIBE for a namespace
// announced with PUBLISH_NAMESPACE to the announcing session, once per track
// however many viewers subscribe. It has no upstreams and no tokens: with
// the community policy it serves loopback peers only.
type moqRelay struct {
	log *slog.Logger
}

// moqRelayHandle is a running moqRelay.
type moqRelayHandle struct {
	log    *slog.Logger
	srv    *moq.Server
	inf    relayInfo
	policy RelayPolicy

	mu         sync.Mutex
	pushed     map[string]*moq.Track     // tracks received with PUBLISH
	namespaces map[string]announced      // announced namespaces by String()
	upstream   map[string]*relayUpstream // tracks subscribed from an announcer
	lastBytes  map[string]uint64         // per track, for bitrates
	lastAt     time.Time
	outKbps    map[string]float64
}

type announced struct {
	ns   wire.Namespace
	sess *moq.Session
}

type relayUpstream struct {
	ns    wire.Namespace
	sub   *moq.Subscription
	ready chan struct{}
	err   error
}

func trackKey(n wire.FullTrackName) string { return n.Namespace.String() + "|" + string(n.Name) }

func (r moqRelay) start(ctx context.Context, cfg relayConfig) (relayHandle, error) {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("relay address %q: %w", cfg.Addr, err)
	}
	cert, hash, err := moq.DevCert(host, "localhost")
	if err != nil {
		return nil, fmt.Errorf("relay certificate: %w", err)
	}
	h := &moqRelayHandle{
		log:        r.log,
		policy:     cfg.Policy,
		pushed:     map[string]*moq.Track{},
		namespaces: map[string]announced{},
		upstream:   map[string]*relayUpstream{},
		lastBytes:  map[string]uint64{},
		outKbps:    map[string]float64{},
	}
	h.srv = &moq.Server{
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}},
		Config: &moq.Config{
			Implementation:     "tributary-personal-relay",
			Logger:             r.log,
			Accept:             h.accept,
			Tracks:             moq.TrackSourceFunc(h.track),
			OnPublish:          h.onPublish,
			OnPublishNamespace: h.onPublishNamespace,
		},
	}
	addr, err := h.srv.Listen(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	h.inf = relayInfo{Addr: addr.String(), URL: "moqt://" + addr.String(), CertHash: hex.EncodeToString(hash)}
	return h, nil
}

func (h *moqRelayHandle) info() relayInfo { return h.inf }

func (h *moqRelayHandle) accept(s *moq.Session) error {
	if h.policy == PolicyOpen {
		return nil
	}
	if a, ok := s.RemoteAddr().(*net.UDPAddr); ok && a.IP.IsLoopback() {
		return nil
	}
	return &moq.SessionError{Code: wire.ErrUnauthorized, Reason: "this personal relay serves its own community only"}
}

func (h *moqRelayHandle) onPublish(ctx context.Context, s *moq.Session, t *moq.Track) error {
	k := trackKey(t.Name())
	h.mu.Lock()
	h.pushed[k] = t
	h.mu.Unlock()
	go func() {
		select {
		case <-t.Done():
		case <-ctx.Done():
		}
		h.mu.Lock()
		if h.pushed[k] == t {
			delete(h.pushed, k)
		}
		h.mu.Unlock()
	}()
	return nil
}

func (h *moqRelayHandle) onPublishNamespace(ctx context.Context, s *moq.Session, ns wire.Namespace) error {
	k := ns.String()
	h.mu.Lock()
	h.namespaces[k] = announced{ns: ns, sess: s}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		if h.namespaces[k].sess == s {
			delete(h.namespaces, k)
		}
		for tk, up := range h.upstream {
			if up.ns.HasPrefix(ns) {
				select {
				case <-up.ready:
					if up.sub != nil {
						up.sub.Close()
					}
				default:
				}
				delete(h.upstream, tk)
			}
		}
		h.mu.Unlock()
	}()
	return nil
}

// track serves a SUBSCRIBE, FETCH or TRACK_STATUS: a pushed track, or one
// subscribed (once) from the session that announced its namespace.
func (h *moqRelayHandle) track(ctx context.Context, s *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
	k := trackKey(req.Name)
	h.mu.Lock()
	if t, ok := h.pushed[k]; ok {
		h.mu.Unlock()
		return t, nil
	}
	up, ok := h.upstream[k]
	if !ok {
		var pub *moq.Session
		best := -1
		for _, a := range h.namespaces {
			if req.Name.Namespace.HasPrefix(a.ns) && len(a.ns) > best {
				pub, best = a.sess, len(a.ns)
			}
		}
		if pub == nil {
			h.mu.Unlock()
			return nil, &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: "no such broadcast on this relay"}
		}
		up = &relayUpstream{ns: req.Name.Namespace, ready: make(chan struct{})}
		h.upstream[k] = up
		h.mu.Unlock()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		up.sub, up.err = pub.Subscribe(sctx, req.Name, &moq.SubscribeOptions{JoinGroup: true})
		cancel()
		close(up.ready)
		if up.err != nil {
			h.mu.Lock()
			if h.upstream[k] == up {
				delete(h.upstream, k)
			}
			h.mu.Unlock()
		}
	} else {
		h.mu.Unlock()
	}
	select {
	case <-up.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if up.err != nil {
		return nil, up.err
	}
	return up.sub.Track(), nil
}

// figures sums what each broadcast (namespace) serves.
func (h *moqRelayHandle) figures() relayFigures {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := time.Now()
	dt := now.Sub(h.lastAt).Seconds()
	h.lastAt = now
	type agg struct {
		viewers int
		kbps    float64
		bytes   uint64
	}
	per := map[string]*agg{}
	var total int64
	visit := func(k string, t *moq.Track) {
		ns := t.Name().Namespace.String()
		a := per[ns]
		if a == nil {
			a = &agg{}
			per[ns] = a
		}
		readers := t.Readers()
		a.viewers = max(a.viewers, readers)
		_, b := t.Stats()
		if last, ok := h.lastBytes[k]; ok && dt > 0 && b >= last {
			a.kbps += float64(b-last) * 8 / 1000 / dt * float64(readers)
		}
		h.lastBytes[k] = b
		total += int64(b) * int64(readers)
	}
	for k, t := range h.pushed {
		visit(k, t)
	}
	for k, up := range h.upstream {
		select {
		case <-up.ready:
			if up.sub != nil {
				visit(k, up.sub.Track())
			}
		default:
		}
	}
	var f relayFigures
	for ns, a := range per {
		f.Broadcasts = append(f.Broadcasts, RelayBroadcast{Name: ns, Viewers: a.viewers, OutKbps: a.kbps})
	}
	slices.SortFunc(f.Broadcasts, func(a, b RelayBroadcast) int { return strings.Compare(a.Name, b.Name) })
	f.LocalBytes = total
	return f
}

func (h *moqRelayHandle) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := h.srv.Shutdown(ctx, ""); err != nil {
		return h.srv.Close()
	}
	return nil
}
