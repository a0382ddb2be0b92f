package moq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tributary-live/tributary/moq/wire"
)

// requestStream is one bidirectional request stream (draft-18 §3.3).
type requestStream struct {
	s   *Session
	str Stream
	r   *bufio.Reader
	wmu sync.Mutex
}

func (rs *requestStream) write(m wire.Message) error {
	b, err := wire.AppendMessage(nil, rs.s.version, m)
	if err != nil {
		return err
	}
	rs.wmu.Lock()
	defer rs.wmu.Unlock()
	_, err = rs.str.Write(b)
	return err
}

func (rs *requestStream) read() (wire.Message, error) {
	return rs.s.readMessage(rs.str, rs.r, false)
}

// refuse answers a request with REQUEST_ERROR and FINs the stream (§3.3.1).
func (rs *requestStream) refuse(err error) {
	re, ok := errors.AsType[*RequestError](err)
	if !ok {
		re = &RequestError{Code: wire.RequestInternalError, Reason: err.Error()}
	}
	retry := uint64(0)
	if re.RetryInterval > 0 {
		retry = uint64(re.RetryInterval/time.Millisecond) + 1
	}
	rs.write(&wire.RequestError{Code: re.Code, RetryInterval: retry, Reason: re.Reason})
	rs.str.Close()
	rs.str.CancelRead(uint64(wire.ResetCancelled))
}

func tokens(p *wire.Params) [][]byte {
	var out [][]byte
	for _, t := range p.AuthorizationTokens {
		if t.AliasType == wire.AliasUseValue || t.AliasType == wire.AliasRegister {
			out = append(out, t.Value)
		}
	}
	return out
}

// handleRequest serves one request stream opened by the peer, for as long
// as the request lasts.
func (s *Session) handleRequest(str Stream) {
	defer s.hold()()
	rs := &requestStream{s: s, str: str, r: bufio.NewReaderSize(str, 2048)}
	// The request must follow the stream's opening within MessageTimeout.
	m, err := s.readMessage(str, rs.r, true)
	if err != nil {
		if s.ctx.Err() == nil && !errors.Is(err, io.EOF) {
			if _, reset := streamResetCode(err); reset {
				return
			}
			s.fail(err, "request stream")
		}
		return
	}
	var id uint64
	switch m := m.(type) {
	case *wire.Subscribe:
		id = m.RequestID
	case *wire.Fetch:
		id = m.RequestID
	case *wire.TrackStatus:
		id = m.RequestID
	case *wire.PublishNamespace:
		id = m.RequestID
	case *wire.Publish:
		id = m.RequestID
	case *wire.SubscribeNamespace:
		id = m.RequestID
	case *wire.SubscribeTracks:
		id = m.RequestID
	default:
		// Request streams start with one of seven request messages (§3.3).
		s.fail(&wire.Error{Code: wire.ErrProtocolViolation, Reason: fmt.Sprintf("request stream starts with message 0x%x", m.Type())}, "request stream")
		return
	}
	if err := s.checkPeerRequestID(id); err != nil {
		s.fail(err, "request ID")
		return
	}
	s.mu.Lock()
	going := s.goawaySent
	s.mu.Unlock()
	if going {
		rs.refuse(&RequestError{Code: wire.RequestGoingAway, Reason: "session is going away"})
		return
	}
	switch m := m.(type) {
	case *wire.Subscribe:
		s.serveSubscribe(rs, m)
	case *wire.Fetch:
		s.serveFetch(rs, m)
	case *wire.TrackStatus:
		s.serveTrackStatus(rs, m)
	case *wire.PublishNamespace:
		s.servePublishNamespace(rs, m)
	case *wire.Publish:
		s.servePublish(rs, m)
	case *wire.SubscribeNamespace:
		s.serveSubscribeNamespace(rs, m)
	case *wire.SubscribeTracks:
		rs.refuse(&RequestError{Code: wire.RequestNotSupported, Reason: "SUBSCRIBE_TRACKS is not supported"})
	}
}

func (s *Session) lookupTrack(rs *requestStream, name wire.FullTrackName, kind string, p *wire.Params) (*Track, error) {
	if len(name.Namespace) > 0 && string(name.Namespace[0]) == "." {
		// The namespace "." is reserved (§3.2.1 {#reserved-namespaces}).
		return nil, &RequestError{Code: wire.RequestDoesNotExist, Reason: "reserved namespace"}
	}
	if s.cfg.Tracks == nil {
		return nil, &RequestError{Code: wire.RequestDoesNotExist, Reason: "this endpoint publishes no tracks"}
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.lim.RequestTimeout)
	defer cancel()
	t, err := s.cfg.Tracks.Track(ctx, s, &TrackRequest{Name: name, Kind: kind, AuthTokens: tokens(p)})
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, &RequestError{Code: wire.RequestDoesNotExist, Reason: "no such track: " + name.String()}
	}
	return t, nil
}

func (s *Session) serveTrackStatus(rs *requestStream, m *wire.TrackStatus) {
	t, err := s.lookupTrack(rs, m.Track, "track_status", &m.Params)
	if err != nil {
		rs.refuse(err)
		return
	}
	ok := &wire.RequestOK{Properties: t.cfg.Properties}
	if l, has := t.Largest(); has {
		ok.Params.LargestObject = s.largestParam(l)
	}
	rs.write(ok)
	rs.str.Close()
}

// servedSub is a subscription this session serves to the peer.
type servedSub struct {
	s         *Session
	rs        *requestStream
	requestID uint64
	alias     uint64
	track     *Track
	reader    *TrackReader

	mu         sync.Mutex
	priority   uint8 // subscriber priority
	order      wire.GroupOrder
	forward    bool
	filter     wire.SubscriptionFilter
	objTimeout time.Duration
	sgTimeout  time.Duration
	joining    wire.Location // largest location when forwarding began (§5.1)
	resumeFrom wire.Location // objects before it were published while Forward State was 0
	streams    uint64        // data streams opened, for PUBLISH_DONE
	ctx        context.Context
	cancel     context.CancelCauseFunc
	wake       chan struct{}
}

func msDuration(p *uint64) time.Duration {
	if p == nil {
		return 0
	}
	return time.Duration(*p) * time.Millisecond
}

func minTimeout(a, b time.Duration) time.Duration {
	if a == 0 {
		return b
	}
	if b == 0 || a < b {
		return a
	}
	return b
}

func (s *Session) serveSubscribe(rs *requestStream, m *wire.Subscribe) {
	// The slot is taken before the (possibly slow) track lookup, so that a
	// burst of SUBSCRIBEs cannot all pass the check.
	s.mu.Lock()
	full := len(s.served)+s.subsPending >= s.lim.MaxSubscriptions
	if !full {
		s.subsPending++
	}
	s.mu.Unlock()
	if full {
		s.log.Warn("moq: refusing subscription", "limit", "MaxSubscriptions", "max", s.lim.MaxSubscriptions)
		rs.refuse(&RequestError{Code: wire.RequestExcessiveLoad, Reason: "too many subscriptions", RetryInterval: time.Second})
		return
	}
	admitted := false
	defer func() {
		if !admitted {
			s.mu.Lock()
			s.subsPending--
			s.mu.Unlock()
		}
	}()
	t, err := s.lookupTrack(rs, m.Track, "subscribe", &m.Params)
	if err != nil {
		rs.refuse(err)
		return
	}
	sub := &servedSub{
		s: s, rs: rs, requestID: m.RequestID, track: t,
		priority: 128, order: t.cfg.GroupOrder, forward: true,
		filter: wire.SubscriptionFilter{Type: wire.FilterLargestObject},
		wake:   make(chan struct{}, 1),
	}
	sub.applyParams(&m.Params)
	if d, ok := t.cfg.Properties.ObjectDeliveryTimeout(); ok {
		sub.objTimeout = minTimeout(sub.objTimeout, time.Duration(d)*time.Millisecond)
	}
	if d, ok := t.cfg.Properties.SubgroupDeliveryTimeout(); ok {
		sub.sgTimeout = minTimeout(sub.sgTimeout, time.Duration(d)*time.Millisecond)
	}
	largest, hasLargest := t.Largest()
	start, ok := sub.startLocation(largest, hasLargest)
	if !ok {
		rs.refuse(&RequestError{Code: wire.RequestInvalidRange, Reason: "the filter's end group has already been published"})
		return
	}
	sub.ctx, sub.cancel = context.WithCancelCause(s.ctx)

	s.mu.Lock()
	sub.alias = s.nextAlias
	s.nextAlias++
	s.served[m.RequestID] = sub
	s.subsPending--
	admitted = true
	s.mu.Unlock()

	okMsg := &wire.SubscribeOK{TrackAlias: sub.alias, Properties: t.cfg.Properties}
	if hasLargest {
		okMsg.Params.LargestObject = s.largestParam(largest)
		sub.joining = largest
	}
	if err := rs.write(okMsg); err != nil {
		sub.end(err)
		return
	}
	go sub.readUpdates()
	sub.run(start)
}

func (sub *servedSub) applyParams(p *wire.Params) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if p.SubscriberPriority != nil {
		sub.priority = *p.SubscriberPriority
	}
	if p.GroupOrder != nil {
		sub.order = *p.GroupOrder
	}
	if p.Forward != nil {
		if *p.Forward && !sub.forward {
			// Forward State 0 -> 1: objects resume after the current
			// largest, the Joining Location of §5.1 (a joining FETCH
			// retrieves what came before).
			if l, has := sub.track.Largest(); has {
				sub.joining = l
				sub.resumeFrom = wire.Location{Group: l.Group, Object: l.Object + 1}
			}
		}
		sub.forward = *p.Forward
	}
	if p.SubscriptionFilter != nil {
		sub.filter = *p.SubscriptionFilter
	}
	if p.ObjectDeliveryTimeout != nil {
		sub.objTimeout = msDuration(p.ObjectDeliveryTimeout)
	}
	if p.SubgroupDeliveryTimeout != nil {
		sub.sgTimeout = msDuration(p.SubgroupDeliveryTimeout)
	}
	select {
	case sub.wake <- struct{}{}:
	default:
	}
}

// startLocation applies the subscription filter (draft-18 §5.1.2
// {#subscription-filters}) to the track's largest location.
func (sub *servedSub) startLocation(largest wire.Location, has bool) (wire.Location, bool) {
	f := sub.filter
	switch f.Type {
	case wire.FilterNextGroupStart:
		if !has {
			return wire.Location{}, true
		}
		return wire.Location{Group: largest.Group + 1}, true
	case wire.FilterAbsoluteStart:
		return f.Start, true
	case wire.FilterAbsoluteRange:
		if has && largest.Group > f.EndGroup() {
			return f.Start, false
		}
		return f.Start, true
	default: // Largest Object
		if !has {
			return wire.Location{}, true
		}
		return wire.Location{Group: largest.Group, Object: largest.Object + 1}, true
	}
}

func (sub *servedSub) passes(loc wire.Location, start wire.Location) bool {
	if loc.Less(start) {
		return false
	}
	sub.mu.Lock()
	f := sub.filter
	sub.mu.Unlock()
	if f.Type == wire.FilterAbsoluteRange && loc.Group > f.EndGroup() {
		return false
	}
	return true
}

// readUpdates reads REQUEST_UPDATE from the subscriber; the stream's end or
// reset cancels the subscription (§5.1, STOP_SENDING).
func (sub *servedSub) readUpdates() {
	goaway := false
	for {
		m, err := sub.rs.read()
		if err != nil {
			sub.cancel(fmt.Errorf("moq: subscriber cancelled: %w", err))
			return
		}
		if g, ok := m.(*wire.GoAway); ok {
			if err := sub.s.onRequestGoAway(g, &goaway); err != nil {
				sub.s.fail(err, "subscription")
				return
			}
			continue
		}
		u, ok := m.(*wire.RequestUpdate)
		if !ok {
			sub.s.fail(&wire.Error{Code: wire.ErrProtocolViolation, Reason: fmt.Sprintf("unexpected message 0x%x on a subscription stream", m.Type())}, "subscription")
			return
		}
		if err := sub.s.checkPeerRequestID(u.RequestID); err != nil {
			sub.s.fail(err, "request ID")
			return
		}
		sub.applyParams(&u.Params)
		ok2 := &wire.RequestOK{}
		if l, has := sub.track.Largest(); has {
			ok2.Params.LargestObject = sub.s.largestParam(l)
		}
		sub.rs.write(ok2)
	}
}

// urgency maps the draft's priorities (§7 {#priorities}) onto the transport's
// eight urgency levels: subscriber priority first, then publisher priority.
func urgency(subscriber, publisher uint8) int {
	// 0-255 x 0-255 -> 0-7, subscriber priority dominating.
	return (int(subscriber)*4 + int(publisher)) * 8 / (256 * 5)
}

// run sends the subscription's groups, each on its own subgroup stream,
// until the track ends or the subscription is cancelled. Groups of one
// subscription go out concurrently, bounded by MaxGroupsInFlight: when a new
// group would exceed it, the oldest is reset, so a viewer that cannot keep up
// loses old groups, never the newest (§8 {#delivery-timeouts}).
func (sub *servedSub) run(start wire.Location) {
	s := sub.s
	reader := sub.track.Reader(&ReaderOptions{Start: &start.Group})
	sub.reader = reader
	defer reader.Close()

	var active []*inflight
	var wg sync.WaitGroup
	defer wg.Wait()
	// Groups open their streams in group order (see streamTurn), so the
	// peer sees them in the order they were published.
	prev := make(chan struct{})
	close(prev)

	for {
		g, err := reader.NextGroup(sub.ctx)
		if err != nil {
			for _, a := range active {
				<-a.done
			}
			if errors.Is(err, io.EOF) {
				sub.finish(wire.DoneTrackEnded, "track ended")
			} else if sub.ctx.Err() != nil {
				sub.end(context.Cause(sub.ctx))
			} else {
				sub.finish(wire.DoneInternalError, err.Error())
			}
			return
		}
		// Drop finished groups from the in-flight list.
		kept := active[:0]
		for _, a := range active {
			select {
			case <-a.done:
			default:
				kept = append(kept, a)
			}
		}
		active = kept
		for len(active) >= s.lim.MaxGroupsInFlight {
			active[0].cancel(errTooFarBehind)
			<-active[0].done
			active = active[1:]
		}
		gctx, gcancel := context.WithCancelCause(sub.ctx)
		a := &inflight{id: g.ID(), cancel: gcancel, done: make(chan struct{})}
		sub.mu.Lock()
		descending := sub.order == wire.GroupOrderDescending
		sub.mu.Unlock()
		if descending {
			// Descending group order (§7.2): the newest group goes first,
			// so the groups still in flight step back one urgency level.
			for _, old := range active {
				old.demote()
			}
		}
		active = append(active, a)
		turn := &streamTurn{prev: prev, mine: make(chan struct{})}
		prev = turn.mine
		wg.Add(1)
		go func(g *GroupReader) {
			defer wg.Done()
			defer close(a.done)
			defer gcancel(nil)
			defer turn.done()
			sub.sendGroup(gctx, g, start, turn, a)
		}(g)
	}
}

// inflight is a group of a subscription being sent.
type inflight struct {
	id     uint64
	cancel context.CancelCauseFunc
	done   chan struct{}

	mu      sync.Mutex
	str     SendStream
	urgency int
	demoted bool
}

func (a *inflight) opened(str SendStream, urgency int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.str, a.urgency = str, urgency
	if a.demoted {
		str.SetPriority(min(urgency+1, 7))
	}
}

func (a *inflight) demote() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.demoted {
		return
	}
	a.demoted = true
	if a.str != nil {
		a.str.SetPriority(min(a.urgency+1, 7))
	}
}

var errTooFarBehind = errors.New("moq: group dropped: subscriber too far behind")

// sendBufs holds the buffers subgroup streams encode their objects into,
// so a group does not grow a new one; buffers larger than maxPooledSendBuf
// (a group of large objects) are left to the garbage collector.
var sendBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

const maxPooledSendBuf = 1 << 20

// sendGroup writes one group on a subgroup stream (draft-18 §11.4.2 {#subgroup-header}).
func (sub *servedSub) sendGroup(ctx context.Context, g *GroupReader, start wire.Location, turn *streamTurn, a *inflight) {
	s := sub.s
	var (
		str  SendStream
		buf  []byte
		sw   wire.SubgroupWriter
		stop = func() bool { return true }
	)
	resetCode := func() uint64 {
		if err := context.Cause(ctx); errors.Is(err, errTooFarBehind) || errors.Is(err, context.DeadlineExceeded) {
			return uint64(wire.ResetDeliveryTimeout)
		}
		return uint64(wire.ResetCancelled)
	}
	bp := sendBufs.Get().(*[]byte)
	buf = (*bp)[:0]
	defer func() {
		if cap(buf) <= maxPooledSendBuf {
			*bp = buf[:0]
			sendBufs.Put(bp)
		}
	}()
	defer func() {
		stop()
		if str == nil {
			return
		}
		if ctx.Err() != nil {
			str.CancelWrite(resetCode())
			return
		}
		str.Close()
		sub.mu.Lock()
		sgTimeout := sub.sgTimeout
		sub.mu.Unlock()
		if sgTimeout > 0 {
			// Subgroup delivery timeout (§8): the subgroup is complete; if
			// its data is not all delivered when the timer fires, reset.
			// A reset after full delivery changes nothing for the peer.
			str := str
			time.AfterFunc(sgTimeout, func() { str.CancelWrite(uint64(wire.ResetDeliveryTimeout)) })
		}
	}()
	// Payloads are borrowed: each is copied into buf before the next
	// read, and the group is let go when the stream is done.
	defer g.Close()
	// Objects already waiting are written together (up to maxCoalesced);
	// what is encoded is written as soon as no object waits, so none is
	// held back for one that has not come. pending counts the payload
	// bytes encoded and not yet written: they count as sent once written.
	pending := 0
	flush := func() bool {
		if str == nil || len(buf) == 0 {
			return str != nil
		}
		if _, err := str.Write(buf); err != nil {
			str = nil
			return false
		}
		buf = buf[:0]
		s.countOut(pending)
		pending = 0
		return true
	}
	for {
		if len(buf) > 0 && (len(buf) >= maxCoalesced || g.Buffered() == 0) && !flush() {
			return
		}
		o, err := g.ReadObjectBorrowed(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) && ctx.Err() == nil {
				flush()
				return
			}
			if errors.Is(err, io.EOF) || ctx.Err() != nil {
				return
			}
			// The group was aborted upstream: reset its stream.
			if str != nil {
				str.CancelWrite(uint64(wire.ResetInternalError))
				str = nil
			}
			return
		}
		if !sub.passes(o.Location(), start) {
			continue
		}
		sub.mu.Lock()
		forward, objTimeout, prio, resume := sub.forward, sub.objTimeout, sub.priority, sub.resumeFrom
		sub.mu.Unlock()
		if !forward || o.Location().Less(resume) {
			continue
		}
		if objTimeout > 0 && time.Since(o.Received) > objTimeout {
			// Object delivery timeout (§8): reset, and send no more of this subgroup.
			if str != nil {
				str.CancelWrite(uint64(wire.ResetDeliveryTimeout))
				str = nil
			}
			return
		}
		if o.Datagram {
			s.sendDatagram(sub.alias, &o)
			continue
		}
		if str == nil {
			turn.wait(ctx)
			str, err = s.conn.OpenUniStream(ctx)
			turn.done()
			if err != nil {
				return
			}
			// A write blocked on flow control (a subscriber that stopped
			// reading) returns only when the stream is reset: reset it as
			// soon as the group is cancelled (dropped for a newer group,
			// §8 {#delivery-timeouts}, or unsubscribed), not after the write.
			opened := str
			stop = context.AfterFunc(ctx, func() { opened.CancelWrite(resetCode()) })
			u := urgency(prio, o.Priority)
			str.SetPriority(u)
			a.opened(str, u)
			sub.mu.Lock()
			sub.streams++
			sub.mu.Unlock()
			sw = wire.SubgroupWriter{Header: wire.SubgroupHeader{
				TrackAlias: sub.alias, Group: o.Group, Subgroup: o.Subgroup, SubgroupMode: wire.SubgroupIDExplicit,
				Priority: o.Priority, HasProperties: true, FirstObject: o.ID == 0,
			}}
			buf = sw.Header.Append(buf[:0])
		}
		buf, err = sw.AppendObject(buf, &wire.Object{ID: o.ID, Properties: o.Properties, Status: o.Status, Payload: o.Payload})
		if err != nil {
			str.CancelWrite(uint64(wire.ResetInternalError))
			str = nil
			return
		}
		pending += len(o.Payload)
	}
}

// maxCoalesced bounds what sendGroup writes to a stream in one call when
// objects are waiting: fewer, larger writes keep the connection's send loop
// supplied with fewer hand-offs.
const maxCoalesced = 64 << 10

func (s *Session) sendDatagram(alias uint64, o *Object) {
	d := wire.Datagram{TrackAlias: alias, Group: o.Group, Object: o.ID, Priority: o.Priority, Properties: o.Properties, Status: o.Status, Payload: o.Payload}
	b, err := d.Append(nil)
	if err != nil {
		return
	}
	if s.conn.SendDatagram(b) == nil {
		s.countOut(len(o.Payload))
	}
}

// finish ends the subscription with PUBLISH_DONE (draft-18 §10.11 {#message-publish-done}).
func (sub *servedSub) finish(code wire.PublishDoneCode, reason string) {
	sub.mu.Lock()
	n := sub.streams
	sub.mu.Unlock()
	sub.rs.write(&wire.PublishDone{Status: code, StreamCount: n, Reason: reason})
	sub.rs.str.Close()
	sub.cleanup()
}

func (sub *servedSub) end(err error) {
	sub.rs.str.CancelWrite(uint64(wire.ResetCancelled))
	sub.cleanup()
}

func (sub *servedSub) cleanup() {
	sub.cancel(nil)
	sub.mu.Lock()
	tomb := endedSub{requestID: sub.requestID, track: sub.track, joining: sub.joining, forward: sub.forward, at: time.Now()}
	sub.mu.Unlock()
	s := sub.s
	s.mu.Lock()
	delete(s.served, sub.requestID)
	if len(s.ended) == maxEndedSubs {
		s.ended = s.ended[1:]
	}
	s.ended = append(s.ended, tomb)
	s.mu.Unlock()
}

// endedSub is what a joining FETCH needs of a subscription that has just
// ended. A subscriber sends its joining FETCH right after SUBSCRIBE_OK; when
// the track ends at that moment (PUBLISH_DONE crosses the FETCH), the FETCH
// is still served from the track's cache rather than refused, so the joined
// group is not lost (§10.12.2).
type endedSub struct {
	requestID uint64
	track     *Track
	joining   wire.Location
	forward   bool
	at        time.Time
}

// Ended subscriptions stay joinable for endedJoinable, the last
// maxEndedSubs of a session at most.
const (
	endedJoinable = 10 * time.Second
	maxEndedSubs  = 16
)

// joinable returns a live or recently ended subscription's track, joining
// location and forward state.
func (s *Session) joinable(id uint64) (t *Track, joining wire.Location, forward, ok bool) {
	s.mu.Lock()
	sub, live := s.served[id]
	if !live {
		for i := len(s.ended) - 1; i >= 0; i-- {
			if e := s.ended[i]; e.requestID == id && time.Since(e.at) < endedJoinable {
				s.mu.Unlock()
				return e.track, e.joining, e.forward, true
			}
		}
		s.mu.Unlock()
		return nil, wire.Location{}, false, false
	}
	s.mu.Unlock()
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.track, sub.joining, sub.forward, true
}

func (s *Session) servePublishNamespace(rs *requestStream, m *wire.PublishNamespace) {
	if s.cfg.OnPublishNamespace == nil {
		rs.refuse(&RequestError{Code: wire.RequestNotSupported, Reason: "this endpoint takes no PUBLISH_NAMESPACE"})
		return
	}
	ctx, cancel := context.WithCancelCause(context.WithValue(s.ctx, requestTokensKey{}, tokens(&m.Params)))
	if err := s.cfg.OnPublishNamespace(ctx, s, m.Namespace); err != nil {
		cancel(err)
		rs.refuse(err)
		return
	}
	if err := rs.write(&wire.RequestOK{}); err != nil {
		cancel(err)
		return
	}
	// The publication lasts until the peer cancels the stream (or sends
	// PUBLISH_NAMESPACE_DONE by closing it).
	for {
		if _, err := rs.read(); err != nil {
			cancel(fmt.Errorf("moq: namespace withdrawn: %w", err))
			rs.str.Close()
			return
		}
	}
}

func (s *Session) serveSubscribeNamespace(rs *requestStream, m *wire.SubscribeNamespace) {
	if s.cfg.OnSubscribeNamespace == nil {
		rs.refuse(&RequestError{Code: wire.RequestNotSupported, Reason: "this endpoint takes no SUBSCRIBE_NAMESPACE"})
		return
	}
	ctx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)
	events, err := s.cfg.OnSubscribeNamespace(ctx, s, m.Prefix)
	if err != nil {
		rs.refuse(err)
		return
	}
	if err := rs.write(&wire.RequestOK{}); err != nil {
		return
	}
	go func() {
		for {
			if _, err := rs.read(); err != nil {
				cancel(err)
				return
			}
		}
	}()
	// A subscriber that stops reading blocks our NAMESPACE writes; when it
	// cancels (or the session ends) the blocked write must end too.
	stop := context.AfterFunc(ctx, func() { rs.str.CancelWrite(uint64(wire.ResetCancelled)) })
	for {
		select {
		case ev, ok := <-events:
			if !ok {
				if stop() {
					rs.str.Close()
				}
				return
			}
			suffix := ev.Namespace[min(len(m.Prefix), len(ev.Namespace)):]
			var msg wire.Message = &wire.NamespaceMsg{Suffix: suffix}
			if !ev.Active {
				msg = &wire.NamespaceDone{Suffix: suffix}
			}
			if err := rs.write(msg); err != nil {
				return
			}
		case <-ctx.Done():
			rs.str.CancelWrite(uint64(wire.ResetCancelled))
			return
		}
	}
}
