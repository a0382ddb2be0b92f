package relay

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// Accounting. Exact figures come from the sessions (payload bytes each one
// sent and received). Per-broadcast egress is an estimate: every second the
// relay adds (payload bytes its tracks received) x (their readers), which
// counts what a viewer that keeps up receives; groups a slow viewer skips
// are counted anyway. docs/RELAY.md explains each figure.

// sampleInterval is how often rates and per-broadcast figures are updated.
const sampleInterval = time.Second

// totals are the figures of sessions that ended.
type totals struct {
	upstreamBytes  uint64       // payload received from upstream relays
	localBytes     uint64       // payload sent to local viewers
	relayBytes     uint64       // payload sent to downstream relays
	publisherBytes uint64       // payload received from local publishers
	perUpstream    *labelTotals // by upstream URL (bounded)
	perRelay       *labelTotals // by downstream relay's accountName (bounded)
	sessions       uint64
}

// Bounds on labels: the names of downstream relays and the URLs of
// upstreams are chosen by others (a relay proves whichever domain it owns, a
// well-known document lists whichever URLs it likes), so /metrics and
// /status.json name at most maxLabels of each; the rest are counted under
// otherLabel, and a label idle for labelIdle is forgotten (its bytes stay
// in the relay's totals).
const (
	maxLabels  = 64
	labelIdle  = time.Hour
	otherLabel = "other"
)

// labelTotals are byte totals by label, at most maxLabels labels besides
// otherLabel. A label keeps its place while in use (assign, touch, add)
// and loses it after labelIdle without.
type labelTotals struct {
	mu sync.Mutex
	m  map[string]*labelTotal
}

type labelTotal struct {
	bytes uint64
	last  time.Time
}

func newLabelTotals() *labelTotals { return &labelTotals{m: make(map[string]*labelTotal)} }

// assign returns the label name is counted under: name itself if it has,
// or gets, one of the maxLabels places; otherLabel once they are taken.
func (l *labelTotals) assign(name string, now time.Time) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.m[name]; t != nil {
		t.last = now
		return name
	}
	n := len(l.m)
	if _, ok := l.m[otherLabel]; ok {
		n--
	}
	if n >= maxLabels {
		name = otherLabel
	}
	if t := l.m[name]; t != nil {
		t.last = now
	} else {
		l.m[name] = &labelTotal{last: now}
	}
	return name
}

// add counts n bytes under label, which assign returned.
func (l *labelTotals) add(label string, n uint64, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.m[label]
	if t == nil {
		t = &labelTotal{}
		l.m[label] = t
	}
	t.bytes += n
	t.last = now
}

// touch marks labels in use (of live sessions) at now.
func (l *labelTotals) touch(now time.Time, labels ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, label := range labels {
		if t := l.m[label]; t != nil {
			t.last = now
		}
	}
}

// prune forgets the labels idle for labelIdle at now.
func (l *labelTotals) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, t := range l.m {
		if now.Sub(t.last) > labelIdle {
			delete(l.m, k)
		}
	}
}

// snapshot returns the totals by label.
func (l *labelTotals) snapshot() map[string]uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]uint64, len(l.m))
	for k, t := range l.m {
		out[k] = t.bytes
	}
	return out
}

// broadcast is the accounting of one namespace.
type broadcast struct {
	path     string
	tracks   int
	bytesIn  uint64
	bytesOut uint64
	outBps   float64
}

// broadcastLocked returns the accounting of ns, creating it.
func (r *Relay) broadcastLocked(ns wire.Namespace) *broadcast {
	path := namespacePath(ns)
	b := r.broadcasts[path]
	if b == nil {
		b = &broadcast{path: path}
		r.broadcasts[path] = b
	}
	return b
}

// Stats is a snapshot of the relay's figures, for the app, /status.json and
// /metrics.
type Stats struct {
	// Name is the relay's name; URL its native QUIC URL.
	Name, URL string
	// Uptime is how long the relay has run.
	Uptime time.Duration
	// Sessions counts open sessions, Viewers the open viewer sessions.
	Sessions, Viewers int
	// UpstreamBytes is the payload received from upstream relays: the
	// ingress this instance pays for.
	UpstreamBytes uint64
	// PublisherBytes is the payload received from local publishers.
	PublisherBytes uint64
	// LocalBytes is the payload served to local viewers.
	LocalBytes uint64
	// RelayBytes is the payload served to downstream relays.
	RelayBytes uint64
	// EgressBps is the current egress in bit/s (payload, all sessions).
	EgressBps float64
	// UpstreamSubscriptions counts live subscriptions this relay holds on
	// upstream relays and local publishers.
	UpstreamSubscriptions int
	// Failovers counts upstream switches of the carried tracks.
	Failovers int
	// Refused counts refused requests and sessions by error code.
	Refused map[string]uint64
	// Announced are the namespaces local publishers announced
	// (PUBLISH_NAMESPACE), as paths.
	Announced []string
	// Broadcasts are the carried broadcasts.
	Broadcasts []BroadcastStats
	// Upstreams are the upstream relays, with the bytes received from each.
	Upstreams []PeerStats
	// Downstreams are the downstream relays, with the bytes sent to each.
	Downstreams []PeerStats
	// LocalViewers are the open viewer sessions.
	LocalViewers []PeerStats
}

// BroadcastStats are the figures of one broadcast (a namespace).
type BroadcastStats struct {
	// Path is the namespace as a path ("example.social/alice/live").
	Path string
	// Tracks lists the carried tracks, Viewers the most readers of any.
	Tracks  []TrackStats
	Viewers int
	// Source is "local", "publish", "announce" or "upstream".
	Source string
	// Upstream is the upstream relay URL when Source is "upstream".
	Upstream string
	// BytesIn is the payload received for it; BytesOut the estimated payload served.
	BytesIn, BytesOut uint64
	// OutBps is the estimated current egress for it in bit/s.
	OutBps float64
}

// TrackStats are the figures of one carried track.
type TrackStats struct {
	Name    string
	Readers int
	// UpstreamSubscriptions counts SUBSCRIBEs sent for it (1 + failovers).
	UpstreamSubscriptions int
	Failovers             int
	InBps                 float64
}

// PeerStats are the figures of one peer session or upstream.
type PeerStats struct {
	Name, Addr, User, Role string
	BytesIn, BytesOut      uint64
	OutBps                 float64
	Since                  time.Time
}

func (r *Relay) sampleLoop() {
	t := time.NewTicker(sampleInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.mu.Lock()
			r.sampleLocked()
			r.mu.Unlock()
		case <-r.ctx.Done():
			return
		}
	}
}

// sampleLocked updates the per-broadcast figures and the rates.
func (r *Relay) sampleLocked() {
	now := time.Now()
	dt := now.Sub(r.lastSample).Seconds()
	if r.lastSample.IsZero() || dt <= 0 {
		dt = 0
	}
	r.lastSample = now
	for _, e := range r.tracks {
		r.sampleEntryLocked(e, dt)
	}
	for _, b := range r.broadcasts {
		b.outBps = 0
	}
	for _, e := range r.tracks {
		if b := r.broadcasts[namespacePath(e.name.Namespace)]; b != nil && e.track != nil {
			b.outBps += e.rateBps * float64(e.track.Readers())
		}
	}
	var egress float64
	var relays []string
	for s, p := range r.peers {
		if p.label != "" {
			relays = append(relays, p.label)
		}
		_, _, _, out := s.Stats()
		if dt > 0 {
			p.outBps = float64(out-p.lastOut) * 8 / dt
		}
		p.lastOut = out
		egress += p.outBps
	}
	if dt > 0 {
		r.egressBps = egress
	}
	r.totals.perRelay.touch(now, relays...)
	r.totals.perRelay.prune(now)
	r.upMu.Lock()
	ups := make([]string, 0, len(r.upstreams))
	for _, u := range r.upstreams {
		ups = append(ups, u.label)
	}
	r.upMu.Unlock()
	r.totals.perUpstream.touch(now, ups...)
	r.totals.perUpstream.prune(now)
	for path, b := range r.broadcasts {
		if b.tracks <= 0 && b.outBps == 0 {
			delete(r.broadcasts, path)
		}
	}
}

// sampleEntryLocked adds e's new bytes to its broadcast.
func (r *Relay) sampleEntryLocked(e *entry, dt float64) {
	if e.track == nil {
		return
	}
	_, written := e.track.Stats()
	delta := written - e.lastWritten
	e.lastWritten = written
	if dt > 0 {
		e.rateBps = float64(delta) * 8 / dt
	}
	b := r.broadcasts[namespacePath(e.name.Namespace)]
	if b == nil {
		return
	}
	b.bytesIn += delta
	b.bytesOut += delta * uint64(e.track.Readers())
}

// sessionEnded moves a closed session's figures into the totals.
func (r *Relay) sessionEnded(s *moq.Session) {
	_, in, _, out := s.Stats()
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.peers[s]
	delete(r.peers, s)
	if p != nil && p.counted {
		r.admitted--
		if r.perIP[p.ipKey]--; r.perIP[p.ipKey] <= 0 {
			delete(r.perIP, p.ipKey)
		}
	}
	r.totals.sessions++
	r.totals.publisherBytes += in
	if p != nil && p.role == "relay" {
		r.totals.relayBytes += out
		r.totals.perRelay.add(p.label, out, time.Now())
	} else {
		r.totals.localBytes += out
	}
}

// Stats returns the relay's figures now.
func (r *Relay) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := Stats{Name: r.name, URL: "moqt://" + r.cfg.PublicAddr, EgressBps: r.egressBps, Refused: make(map[string]uint64)}
	if !r.start.IsZero() {
		st.Uptime = time.Since(r.start).Round(time.Second)
	}
	for k, v := range r.refused {
		st.Refused[k] = v
	}
	st.UpstreamBytes = r.totals.upstreamBytes
	st.PublisherBytes = r.totals.publisherBytes
	st.LocalBytes = r.totals.localBytes
	st.RelayBytes = r.totals.relayBytes
	relayOut := r.totals.perRelay.snapshot()
	for s, p := range r.peers {
		_, in, _, out := s.Stats()
		st.Sessions++
		st.PublisherBytes += in
		role := p.role
		if role == "viewer" && p.publishes {
			role = "publisher"
		}
		ps := PeerStats{Name: p.name, Addr: s.RemoteAddr().String(), User: p.user(), Role: role, BytesIn: in, BytesOut: out, OutBps: p.outBps, Since: p.started}
		if p.role == "relay" {
			st.RelayBytes += out
			relayOut[p.label] += out
			continue
		}
		st.LocalBytes += out
		if role == "viewer" {
			st.Viewers++
			st.LocalViewers = append(st.LocalViewers, ps)
		}
	}
	for name, out := range relayOut {
		st.Downstreams = append(st.Downstreams, PeerStats{Name: name, Role: "relay", BytesOut: out})
	}
	upIn := r.totals.perUpstream.snapshot()
	r.upMu.Lock()
	for _, u := range r.upstreams {
		_, in, _, _ := u.sess.Stats()
		upIn[u.label] += in
		st.UpstreamBytes += in
	}
	r.upMu.Unlock()
	for url, in := range upIn {
		st.Upstreams = append(st.Upstreams, PeerStats{Name: url, Role: "upstream", BytesIn: in})
	}

	for _, a := range r.announces {
		if a.ctx.Err() == nil {
			st.Announced = append(st.Announced, namespacePath(a.ns))
		}
	}
	sort.Strings(st.Announced)
	byPath := map[string]*BroadcastStats{}
	for _, e := range r.tracks {
		path := namespacePath(e.name.Namespace)
		b := byPath[path]
		if b == nil {
			b = &BroadcastStats{Path: path, Source: e.kind}
			if acc := r.broadcasts[path]; acc != nil {
				b.BytesIn, b.BytesOut, b.OutBps = acc.bytesIn, acc.bytesOut, acc.outBps
			}
			byPath[path] = b
		}
		ts := TrackStats{Name: string(e.name.Name), UpstreamSubscriptions: e.upstreamSubs, Failovers: e.failovers, InBps: e.rateBps}
		if e.track != nil {
			ts.Readers = e.track.Readers()
		}
		if ts.Readers > b.Viewers {
			b.Viewers = ts.Readers
		}
		if e.kind == kindUpstream {
			b.Upstream = e.upstreamURL
		}
		st.Failovers += e.failovers
		if (e.kind == kindUpstream || e.kind == kindAnnounce) && e.track != nil {
			if closed, _ := e.track.Closed(); !closed {
				st.UpstreamSubscriptions++
			}
		}
		b.Tracks = append(b.Tracks, ts)
	}
	for _, b := range byPath {
		sort.Slice(b.Tracks, func(i, j int) bool { return b.Tracks[i].Name < b.Tracks[j].Name })
		st.Broadcasts = append(st.Broadcasts, *b)
	}
	sort.Slice(st.Broadcasts, func(i, j int) bool { return st.Broadcasts[i].Path < st.Broadcasts[j].Path })
	sort.Slice(st.Upstreams, func(i, j int) bool { return st.Upstreams[i].Name < st.Upstreams[j].Name })
	sort.Slice(st.Downstreams, func(i, j int) bool { return st.Downstreams[i].Name < st.Downstreams[j].Name })
	sort.Slice(st.LocalViewers, func(i, j int) bool { return st.LocalViewers[i].Addr < st.LocalViewers[j].Addr })
	return st
}

// Aggregate returns st without the figures of single peers: the local
// viewers (their addresses, users and start times), the downstream relays
// and the upstreams. Public /status.json and /metrics show this; the rest
// needs the admin token or a request from loopback (docs/RELAY.md).
func (st Stats) Aggregate() Stats {
	st.LocalViewers, st.Downstreams, st.Upstreams = nil, nil, nil
	return st
}

// WriteMetrics writes st in the Prometheus text exposition format (0.0.4).
// It is written by hand: a dozen gauges and counters do not need the
// client library and its dependencies (docs/RELAY.md).
func (st *Stats) WriteMetrics(w io.Writer) {
	metric := func(name, typ, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	metric("tributary_relay_uptime_seconds", "gauge", "Seconds since the relay started.")
	fmt.Fprintf(w, "tributary_relay_uptime_seconds %g\n", st.Uptime.Seconds())
	metric("tributary_relay_sessions", "gauge", "Open MoQ sessions.")
	fmt.Fprintf(w, "tributary_relay_sessions %d\n", st.Sessions)
	metric("tributary_relay_viewers", "gauge", "Open viewer sessions.")
	fmt.Fprintf(w, "tributary_relay_viewers %d\n", st.Viewers)
	metric("tributary_relay_upstream_bytes_total", "counter", "Payload bytes received from upstream relays (what this instance pays for).")
	fmt.Fprintf(w, "tributary_relay_upstream_bytes_total %d\n", st.UpstreamBytes)
	metric("tributary_relay_publisher_bytes_total", "counter", "Payload bytes received from local publishers.")
	fmt.Fprintf(w, "tributary_relay_publisher_bytes_total %d\n", st.PublisherBytes)
	metric("tributary_relay_local_bytes_total", "counter", "Payload bytes served to local viewers.")
	fmt.Fprintf(w, "tributary_relay_local_bytes_total %d\n", st.LocalBytes)
	metric("tributary_relay_downstream_bytes_total", "counter", "Payload bytes served to downstream relays.")
	fmt.Fprintf(w, "tributary_relay_downstream_bytes_total %d\n", st.RelayBytes)
	metric("tributary_relay_egress_bits_per_second", "gauge", "Current payload egress.")
	fmt.Fprintf(w, "tributary_relay_egress_bits_per_second %g\n", st.EgressBps)
	metric("tributary_relay_upstream_subscriptions", "gauge", "Subscriptions held on upstream relays and local publishers.")
	fmt.Fprintf(w, "tributary_relay_upstream_subscriptions %d\n", st.UpstreamSubscriptions)
	metric("tributary_relay_failovers", "gauge", "Upstream switches of the carried tracks.")
	fmt.Fprintf(w, "tributary_relay_failovers %d\n", st.Failovers)
	metric("tributary_relay_refused_total", "counter", "Refused requests and sessions by code.")
	for _, k := range sortedKeys(st.Refused) {
		fmt.Fprintf(w, "tributary_relay_refused_total{code=%s} %d\n", label(k), st.Refused[k])
	}
	metric("tributary_relay_broadcast_viewers", "gauge", "Readers of a broadcast (its most read track).")
	for _, b := range st.Broadcasts {
		fmt.Fprintf(w, "tributary_relay_broadcast_viewers{broadcast=%s,source=%s} %d\n", label(b.Path), label(b.Source), b.Viewers)
	}
	metric("tributary_relay_broadcast_in_bytes_total", "counter", "Payload bytes received for a broadcast.")
	for _, b := range st.Broadcasts {
		fmt.Fprintf(w, "tributary_relay_broadcast_in_bytes_total{broadcast=%s} %d\n", label(b.Path), b.BytesIn)
	}
	metric("tributary_relay_broadcast_out_bytes_total", "counter", "Estimated payload bytes served for a broadcast.")
	for _, b := range st.Broadcasts {
		fmt.Fprintf(w, "tributary_relay_broadcast_out_bytes_total{broadcast=%s} %d\n", label(b.Path), b.BytesOut)
	}
	metric("tributary_relay_upstream_in_bytes_total", "counter", "Payload bytes received from an upstream relay.")
	for _, u := range st.Upstreams {
		fmt.Fprintf(w, "tributary_relay_upstream_in_bytes_total{upstream=%s} %d\n", label(u.Name), u.BytesIn)
	}
	metric("tributary_relay_downstream_out_bytes_total", "counter", "Payload bytes served to a downstream relay.")
	for _, d := range st.Downstreams {
		fmt.Fprintf(w, "tributary_relay_downstream_out_bytes_total{relay=%s} %d\n", label(d.Name), d.BytesOut)
	}
}

func sortedKeys(m map[string]uint64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// label quotes a Prometheus label value (backslash, quote, newline escaped).
func label(v string) string {
	v = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
	return `"` + v + `"`
}
