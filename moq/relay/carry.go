package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// Where a carried track comes from.
const (
	kindInProcess = "local"    // Relay.Publish
	kindPublish   = "publish"  // a PUBLISH from a session
	kindAnnounce  = "announce" // subscribed on a PUBLISH_NAMESPACE publisher
	kindUpstream  = "upstream" // pulled from another relay
)

// ErrPublisherGone ends the tracks of a local publisher whose session ended.
var ErrPublisherGone = errors.New("relay: publisher gone")

// entry is one track the relay carries: one source, any number of readers.
type entry struct {
	key  string
	name wire.FullTrackName
	kind string
	path []string // relay path sent upstream (kindUpstream)

	ready chan struct{} // closed when track or err is set
	track *moq.Track
	err   error

	writer *moq.TrackWriter // kindUpstream: the relay writes the local track

	// Under Relay.mu.
	lastUse      time.Time
	lastWritten  uint64
	rateBps      float64
	upstreamURL  string
	upstreamHop  string
	upstreamSubs int
	failovers    int
	upSess       *moq.Session
	nsCounted    bool // counted in Relay.localNS (published here)

	copyMu sync.Mutex
	active map[uint64]int // groups being copied from the upstream
}

// wait returns the track once its source is established, draft-18 §8
// "Subscriber Interactions": SUBSCRIBE_OK only after the upstream one.
func (e *entry) wait(ctx context.Context) (*moq.Track, error) {
	select {
	case <-e.ready:
	case <-ctx.Done():
		return nil, &moq.RequestError{Code: wire.RequestTimeout, Reason: "upstream did not answer in time"}
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.track, nil
}

func (r *Relay) newEntry(name wire.FullTrackName, kind string) *entry {
	return &entry{key: name.String(), name: name, kind: kind, ready: make(chan struct{}), lastUse: time.Now(), active: make(map[uint64]int)}
}

// addPushed serves a track fed by someone else (in process or PUBLISH).
func (r *Relay) addPushed(t *moq.Track, kind string, s *moq.Session) *entry {
	e := r.newEntry(t.Name(), kind)
	e.track = t
	close(e.ready)
	r.mu.Lock()
	r.tracks[e.key] = e
	r.broadcastLocked(t.Name().Namespace).tracks++
	e.nsCounted = true
	r.namespaceUpLocked(t.Name().Namespace)
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		select {
		case <-t.Done():
		case <-r.ctx.Done():
		}
		r.removeEntry(e)
	}()
	return e
}

// removeEntry forgets e (if it is still the entry for its track).
func (r *Relay) removeEntry(e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.nsCounted {
		e.nsCounted = false
		r.namespaceDownLocked(e.name.Namespace)
	}
	if r.tracks[e.key] != e {
		return
	}
	r.sampleEntryLocked(e, 0)
	delete(r.tracks, e.key)
	if b := r.broadcasts[namespacePath(e.name.Namespace)]; b != nil {
		b.tracks--
	}
}

// carry returns the entry for name, creating it (and subscribing on its
// source) if the relay does not carry the track yet.
func (r *Relay) carry(name wire.FullTrackName, path []string) (*entry, error) {
	key := name.String()
	r.mu.Lock()
	if e := r.tracks[key]; e != nil && e.track != nil {
		if closed, _ := e.track.Closed(); closed {
			// Its source ended; the entry is on its way out. Start afresh.
			delete(r.tracks, key)
			if b := r.broadcasts[namespacePath(e.name.Namespace)]; b != nil {
				b.tracks--
			}
		}
	}
	if e := r.tracks[key]; e != nil {
		for _, h := range path {
			if e.upstreamHop != "" && h == e.upstreamHop {
				r.mu.Unlock()
				return nil, r.refuse(wire.RequestDoesNotExist, "relay loop: this relay pulls %s from %s, which asks for it", key, h)
			}
		}
		e.lastUse = time.Now()
		r.mu.Unlock()
		return e, nil
	}
	ns := name.Namespace
	origin := string(ns[0])
	var e *entry
	if a := r.findAnnouncerLocked(ns); a != nil {
		e = r.newEntry(name, kindAnnounce)
		r.tracks[key] = e
		r.broadcastLocked(ns).tracks++
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.subscribeLocal(e, a)
		}()
		return e, nil
	}
	r.mu.Unlock()
	if r.isLocalOrigin(origin) {
		return nil, r.refuse(wire.RequestDoesNotExist, "%s is not live on this relay", namespacePath(ns))
	}
	if len(r.cfg.AllowOrigins) > 0 && !hostMatch(r.cfg.AllowOrigins, origin) {
		return nil, r.refuse(wire.RequestUnauthorized, "this relay does not carry broadcasts of %s", origin)
	}
	if !r.federates(origin) {
		return nil, r.refuse(wire.RequestDoesNotExist, "no publisher of %s here and no upstream known for %q", namespacePath(ns), origin)
	}
	r.mu.Lock()
	if e := r.tracks[key]; e != nil { // created meanwhile
		e.lastUse = time.Now()
		r.mu.Unlock()
		return e, nil
	}
	e = r.newEntry(name, kindUpstream)
	e.path = append(append([]string(nil), path...), r.name)
	r.tracks[key] = e
	r.broadcastLocked(ns).tracks++
	r.mu.Unlock()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.feed(e)
	}()
	return e, nil
}

// coldJoinWait bounds how long a relay that starts carrying a track holds
// the first requests while the joined group is copied.
const coldJoinWait = 200 * time.Millisecond

// waitLargest waits until t holds location l or later, at most d.
func waitLargest(ctx context.Context, t *moq.Track, l wire.Location, d time.Duration) {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if got, ok := t.Largest(); ok && (got.Group > l.Group || (got.Group == l.Group && got.Object >= l.Object)) {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// setReady publishes an entry's track to waiting requests.
func (r *Relay) setReady(e *entry, t *moq.Track, w *moq.TrackWriter) {
	r.mu.Lock()
	e.track, e.writer = t, w
	r.mu.Unlock()
	close(e.ready)
}

// fail ends an entry that never got its source.
func (r *Relay) fail(e *entry, err error) {
	e.err = err
	close(e.ready)
	r.removeEntry(e)
}

// subscribeLocal subscribes on a local publisher's session and serves its
// track until the last reader leaves (plus the grace period) or the
// publisher goes.
func (r *Relay) subscribeLocal(e *entry, a *announce) {
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	sub, err := a.sess.Subscribe(ctx, e.name, &moq.SubscribeOptions{JoinGroup: true, Track: &moq.TrackConfig{MaxGroups: r.cfg.CacheGroups}})
	if err != nil {
		var re *moq.RequestError
		if !errors.As(err, &re) {
			err = &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: fmt.Sprintf("publisher did not answer: %v", err)}
		}
		r.fail(e, err)
		return
	}
	r.mu.Lock()
	e.upstreamSubs++
	e.upSess = a.sess
	r.mu.Unlock()
	r.setReady(e, sub.Track(), nil)
	r.log.Info("relay: subscribed on local publisher", "track", e.key, "peer", a.sess.RemoteAddr().String())
	r.holdWhileRead(ctx, e)
	sub.Close()
	r.removeEntry(e)
}

// holdWhileRead returns when e's track ended, the relay closes, or no reader
// has been on it for the grace period.
func (r *Relay) holdWhileRead(ctx context.Context, e *entry) {
	for {
		select {
		case <-e.track.Idle():
		case <-e.track.Done():
			return
		case <-ctx.Done():
			return
		}
		// A reader that came and went while we waited restarts the clock:
		// the grace period is a minimum.
		idleSince := time.Now()
		for {
			wait := r.cfg.GracePeriod - time.Since(idleSince)
			if wait <= 0 {
				if e.track.Readers() > 0 {
					break
				}
				r.mu.Lock()
				used := e.lastUse
				r.mu.Unlock()
				if used.After(idleSince) {
					idleSince = time.Now()
					continue
				}
				r.log.Info("relay: no readers for the grace period: ending the subscription", "track", e.key, "grace", r.cfg.GracePeriod)
				return
			}
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-e.track.Done():
				t.Stop()
				return
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
	}
}

// feed pulls a track from upstream relays into the entry's own track and
// keeps it fed: when the upstream in use dies it subscribes on the next
// one, and keeps writing into the same local track, so local viewers keep
// their subscriptions.
func (r *Relay) feed(e *entry) {
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	origin := string(e.name.Namespace[0])
	if err := r.dialFailed(origin); err != nil {
		r.fail(e, err) // no upstream of it answered a moment ago
		return
	}
	cands, err := r.candidates(ctx, origin)
	if errors.Is(err, errBusy) {
		r.fail(e, r.refuse(wire.RequestExcessiveLoad, "relay busy reaching other origins: try again later"))
		return
	}
	if err != nil {
		r.fail(e, &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: err.Error()})
		return
	}
	sub, up, idx, err := r.subscribeUpstream(ctx, e, cands, 0)
	if err != nil {
		var re *moq.RequestError
		switch {
		case errors.Is(err, errBusy):
			err = r.refuse(wire.RequestExcessiveLoad, "relay busy reaching other origins: try again later")
		case errors.Is(err, errUnreachable):
			// For an origin found through its well-known document this is
			// cached, like a failed fetch: requests for made-up or dead
			// origins cannot make the relay dial on every request.
			// Configured upstreams are the administrator's: the next
			// request tries them again (still one dial at a time).
			err = unreachable(origin)
			if _, configured := r.upstreamList(origin); !configured && ctx.Err() == nil {
				r.noteDialFailure(origin, err)
			}
		case !errors.As(err, &re):
			err = &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: fmt.Sprintf("no upstream for %s: %v", origin, err)}
		}
		r.fail(e, err)
		return
	}
	up0 := sub.Track().Config()
	track, writer := moq.NewTrack(e.name, &moq.TrackConfig{
		MaxGroups: r.cfg.CacheGroups, Priority: up0.Priority, GroupOrder: up0.GroupOrder, Properties: sub.Properties(),
	})
	r.mu.Lock()
	e.track, e.writer = track, writer
	r.mu.Unlock()
	// The waiting requests are answered once the joined group has been
	// copied up to the upstream's Largest Location (briefly bounded): their
	// SUBSCRIBE_OK then carries it, so a viewer's player knows where the
	// cache ends and the live edge begins, as with a warm relay.
	ready := sync.OnceFunc(func() {
		r.mu.Lock()
		e.lastUse = time.Now() // the grace period starts when the requests are answered
		r.mu.Unlock()
		close(e.ready)
	})
	defer ready()
	if l, ok := sub.Largest(); ok {
		go func() {
			waitLargest(ctx, track, l, coldJoinWait)
			ready()
		}()
	} else {
		ready()
	}

	hold := make(chan struct{})
	go func() {
		defer close(hold)
		select {
		case <-e.ready:
		case <-ctx.Done():
		}
		r.holdWhileRead(ctx, e)
		cancel()
	}()
	defer func() {
		<-hold
		r.removeEntry(e)
	}()

	for {
		err := r.pump(ctx, e, sub, up)
		sub.Close()
		r.release(up)
		switch {
		case err == nil:
			writer.Close(nil)
			r.log.Info("relay: upstream track ended", "track", e.key)
			return
		case ctx.Err() != nil:
			writer.Close(ErrTrackClosed)
			return
		}
		r.log.Warn("relay: upstream lost, failing over", "track", e.key, "upstream", cands[idx].String(), "err", err)
		giveUp := time.Now().Add(r.cfg.FailoverGiveUp)
		next := idx + 1
		for {
			sub, up, idx, err = r.subscribeUpstream(ctx, e, cands, next)
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				writer.Close(ErrTrackClosed)
				return
			}
			if time.Now().After(giveUp) {
				r.log.Warn("relay: every upstream failed", "track", e.key, "err", err)
				writer.Close(fmt.Errorf("relay: every upstream of %s failed: %w", origin, err))
				return
			}
			t := time.NewTimer(200 * time.Millisecond)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		r.mu.Lock()
		e.failovers++
		r.mu.Unlock()
		r.log.Info("relay: failed over", "track", e.key, "upstream", cands[idx].String())
	}
}

// ErrTrackClosed ends a carried track the relay stopped carrying.
var ErrTrackClosed = errors.New("relay: track no longer carried")

// errGoingAway ends a pump when the upstream sent GOAWAY.
var errGoingAway = errors.New("relay: upstream is going away")

// pump copies the upstream subscription's groups into the local track until
// the upstream track ends (nil), fails (its error), or ctx ends.
func (r *Relay) pump(ctx context.Context, e *entry, sub *moq.Subscription, up *upstream) error {
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-up.sess.GoingAway():
			cancel(errGoingAway)
		case <-pctx.Done():
		}
	}()
	start := uint64(0)
	if l, ok := sub.Largest(); ok {
		start = l.Group
	}
	rd := sub.Track().Reader(&moq.ReaderOptions{Start: &start})
	defer rd.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	next := start // the next group ID expected
	copyOne := func(g *moq.GroupReader) {
		id := g.ID()
		e.writer.CloseGroupsBefore(id, func(old uint64) bool {
			e.copyMu.Lock()
			defer e.copyMu.Unlock()
			return e.active[old] > 0
		})
		// Open the local group here, in order; copy its objects on the side.
		gw, err := e.writer.OpenGroup(id)
		if err != nil || gw == nil {
			g.Close()
			return
		}
		e.copyMu.Lock()
		e.active[id]++
		e.copyMu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				e.copyMu.Lock()
				if e.active[id]--; e.active[id] <= 0 {
					delete(e.active, id)
				}
				e.copyMu.Unlock()
			}()
			copyGroup(pctx, gw, g)
		}()
	}
	for {
		g, err := rd.NextGroup(pctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				wg.Wait()
				return nil
			}
			if c := context.Cause(pctx); pctx.Err() != nil && c != nil {
				return c
			}
			return err
		}
		if g.ID() > next {
			// Groups arrive on parallel streams: one can overtake the
			// group before it. Give the missing ones a moment, and copy
			// those that turn up first, so the local track (and every
			// viewer's cursor on it) sees groups in order.
			for _, m := range waitForGroups(pctx, sub.Track(), next, g.ID()) {
				copyOne(m)
			}
		}
		next = g.ID() + 1
		copyOne(g)
	}
}

// gapWait bounds how long the relay waits for groups overtaken by a later one.
const gapWait = 250 * time.Millisecond

// waitForGroups waits up to gapWait for groups [from, to) of t to be cached
// and returns readers on those that are, in order.
func waitForGroups(ctx context.Context, t *moq.Track, from, to uint64) []*moq.GroupReader {
	deadline := time.Now().Add(gapWait)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		have := 0
		for _, id := range t.CachedGroups() {
			if id >= from && id < to {
				have++
			}
		}
		if uint64(have) >= to-from || time.Now().After(deadline) {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
	}
	var out []*moq.GroupReader
	for _, id := range t.CachedGroups() {
		if id < from || id >= to {
			continue
		}
		start := id
		r := t.Reader(&moq.ReaderOptions{Start: &start})
		g, err := r.NextGroup(ctx)
		r.Close()
		if err == nil && g.ID() == id {
			out = append(out, g)
		}
	}
	return out
}

// copyGroup writes an upstream group into the local track. A group cut off
// by an upstream failure stays open: the next upstream may deliver the rest
// (objects the track already holds are skipped), or a later group closes it.
func copyGroup(ctx context.Context, gw *moq.GroupWriter, g *moq.GroupReader) {
	// Borrowed payloads: the local group takes its own reference to each
	// object it stores, so the upstream group can be let go at the end.
	defer g.Close()
	for {
		o, err := g.ReadObjectBorrowed(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				gw.Close()
			}
			return
		}
		if err := gw.Write(o); err != nil && !errors.Is(err, moq.ErrObjectOrder) {
			return
		}
	}
}
