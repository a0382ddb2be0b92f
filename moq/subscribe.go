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

// SubscribeOptions shape a SUBSCRIBE (draft-18 §10.7 {#message-subscribe-req}).
type SubscribeOptions struct {
	// Priority is the subscriber priority (default 128).
	Priority *uint8
	// GroupOrder overrides the publisher's group order.
	GroupOrder wire.GroupOrder
	// Filter selects the objects (default: Largest Object).
	Filter *wire.SubscriptionFilter
	// JoinGroup starts at the first object of the current group: after
	// SUBSCRIBE_OK, a Joining FETCH (§10.12.2 {#joining-fetches}) fetches the
	// current group's objects before the largest one. Players want this:
	// video starts at once at the group's keyframe.
	JoinGroup bool
	// ObjectTimeout and SubgroupTimeout are delivery timeouts (§8).
	ObjectTimeout, SubgroupTimeout time.Duration
	// AuthToken is sent as an AUTHORIZATION TOKEN parameter.
	AuthToken []byte
	// Track configures the local track the session writes into (cache size).
	Track *TrackConfig
}

// Subscription is a subscription this session made (or accepted through PUBLISH).
type Subscription struct {
	s         *Session
	rs        *requestStream
	requestID uint64
	alias     uint64
	track     *Track
	writer    *TrackWriter
	largest   *wire.Location
	props     wire.Properties

	mu       sync.Mutex
	subgroup map[uint64]int // open subgroup streams per group
	joinDone chan struct{}  // closed when the joining fetch has been written
	joinGrp  uint64
	// firstGroup is the first group expected on the subscription.
	firstGroup uint64
	// Data streams seen and still open, to finish after PUBLISH_DONE once
	// its Stream Count has arrived (§10.11).
	streamsSeen uint64
	streamsOpen int
	streamsCh   chan struct{} // closed and replaced when the counts change
	updateMu    sync.Mutex    // one REQUEST_UPDATE in flight at a time
	updates     chan error    // answers to REQUEST_UPDATE
	done        *wire.PublishDone
	closed      bool
	onEnd       func()
}

// Track returns the local track fed by the subscription: open readers on it.
func (sub *Subscription) Track() *Track { return sub.track }

// Largest returns the publisher's largest location at SUBSCRIBE_OK, if any.
func (sub *Subscription) Largest() (wire.Location, bool) {
	if sub.largest == nil {
		return wire.Location{}, false
	}
	return *sub.largest, true
}

// Properties returns the track properties from SUBSCRIBE_OK or PUBLISH.
func (sub *Subscription) Properties() wire.Properties { return sub.props }

// RequestID returns the subscription's request ID.
func (sub *Subscription) RequestID() uint64 { return sub.requestID }

// Done returns the PUBLISH_DONE that ended the subscription, if any.
func (sub *Subscription) Done() (*wire.PublishDone, bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.done, sub.done != nil
}

// Close cancels the subscription (STOP_SENDING on its request stream, §5.1).
func (sub *Subscription) Close() {
	sub.mu.Lock()
	if sub.closed {
		sub.mu.Unlock()
		return
	}
	sub.closed = true
	sub.mu.Unlock()
	sub.rs.str.CancelRead(uint64(wire.ResetCancelled))
	sub.rs.str.CancelWrite(uint64(wire.ResetCancelled))
	sub.writer.Close(ErrTrackClosed)
	sub.remove()
}

func (sub *Subscription) remove() {
	s := sub.s
	s.mu.Lock()
	if s.incoming[sub.alias] == nil || s.incoming[sub.alias].sub == sub {
		delete(s.incoming, sub.alias)
	}
	s.mu.Unlock()
	if sub.onEnd != nil {
		sub.onEnd()
	}
}

// Update changes the subscription with REQUEST_UPDATE (§10.9): e.g. its
// priority, filter or forwarding state. It waits for the publisher's answer.
func (sub *Subscription) Update(ctx context.Context, p wire.Params) error {
	id, err := sub.s.newRequestID()
	if err != nil {
		return err
	}
	sub.updateMu.Lock()
	defer sub.updateMu.Unlock()
	select { // a late answer to an earlier update that gave up waiting
	case <-sub.updates:
	default:
	}
	if err := sub.rs.write(&wire.RequestUpdate{RequestID: id, Params: p}); err != nil {
		return err
	}
	// Bounded like every request's response (Limits.RequestTimeout); a
	// subscription that ends meanwhile gets no answer.
	timer := time.NewTimer(sub.s.lim.RequestTimeout)
	defer timer.Stop()
	select {
	case err := <-sub.updates:
		return err
	case <-timer.C:
		return &RequestError{Code: wire.RequestTimeout, Reason: "no answer to REQUEST_UPDATE"}
	case <-sub.track.Done():
		return fmt.Errorf("moq: subscription ended before REQUEST_UPDATE was answered: %w", ErrTrackClosed)
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-sub.s.ctx.Done():
		return context.Cause(sub.s.ctx)
	}
}

// streamEvent records a data stream opening (+1) or ending (-1).
func (sub *Subscription) streamEvent(delta int) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if delta > 0 {
		sub.streamsSeen++
	}
	sub.streamsOpen += delta
	if sub.streamsCh != nil {
		close(sub.streamsCh)
		sub.streamsCh = make(chan struct{})
	}
}

// waitStreams waits until n data streams arrived and all ended, or timeout.
func (sub *Subscription) waitStreams(n uint64, timeout time.Duration) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		sub.mu.Lock()
		ok := sub.streamsCh == nil || (sub.streamsSeen >= n && sub.streamsOpen == 0)
		ch := sub.streamsCh
		sub.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		case <-sub.s.ctx.Done():
			return
		}
	}
}

// subscription routes incoming data by track alias (§11.1 {#track-alias}).
type subscription struct {
	sub *Subscription
}

func (s *Session) openRequest(ctx context.Context, m wire.Message) (*requestStream, error) {
	str, err := s.conn.OpenStream(ctx)
	if err != nil {
		return nil, fmt.Errorf("moq: open request stream: %w", err)
	}
	str.SetPriority(1)
	rs := &requestStream{s: s, str: str, r: bufio.NewReaderSize(str, 2048)}
	if err := rs.write(m); err != nil {
		str.CancelWrite(uint64(wire.ResetInternalError))
		return nil, fmt.Errorf("moq: send request: %w", err)
	}
	return rs, nil
}

// response waits for the answer to a request, bounded by ctx and the
// session's request timeout; a REQUEST_ERROR becomes a *RequestError.
func (s *Session) response(ctx context.Context, rs *requestStream) (wire.Message, error) {
	type result struct {
		m   wire.Message
		err error
	}
	ch := make(chan result, 1)
	go func() {
		m, err := rs.read()
		ch <- result{m, err}
	}()
	timer := time.NewTimer(s.lim.RequestTimeout)
	defer timer.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			if s.ctx.Err() != nil {
				return nil, context.Cause(s.ctx)
			}
			return nil, fmt.Errorf("moq: request failed: %w", r.err)
		}
		if re, ok := r.m.(*wire.RequestError); ok {
			return nil, &RequestError{Code: re.Code, Reason: re.Reason, RetryInterval: retryInterval(re.RetryInterval)}
		}
		return r.m, nil
	case <-ctx.Done():
		rs.str.CancelRead(uint64(wire.ResetCancelled))
		rs.str.CancelWrite(uint64(wire.ResetCancelled))
		return nil, context.Cause(ctx)
	case <-timer.C:
		rs.str.CancelRead(uint64(wire.ResetCancelled))
		rs.str.CancelWrite(uint64(wire.ResetCancelled))
		return nil, &RequestError{Code: wire.RequestTimeout, Reason: "no response from peer"}
	case <-s.ctx.Done():
		return nil, context.Cause(s.ctx)
	}
}

func retryInterval(v uint64) time.Duration {
	if v == 0 {
		return 0
	}
	return time.Duration(v-1) * time.Millisecond
}

func authParams(p *wire.Params, token []byte) {
	if len(token) > 0 {
		p.AuthorizationTokens = []wire.Token{{AliasType: wire.AliasUseValue, Value: token}}
	}
}

// Subscribe subscribes to a track (draft-18 §5.1 {#subscriptions}). Objects
// arrive in the returned subscription's Track; read them with Track().Reader.
func (s *Session) Subscribe(ctx context.Context, name wire.FullTrackName, opts *SubscribeOptions) (*Subscription, error) {
	if opts == nil {
		opts = &SubscribeOptions{}
	}
	id, err := s.newRequestID()
	if err != nil {
		return nil, err
	}
	m := &wire.Subscribe{RequestID: id, Track: name}
	m.Params.SubscriberPriority = opts.Priority
	if opts.GroupOrder != 0 {
		m.Params.GroupOrder = &opts.GroupOrder
	}
	m.Params.SubscriptionFilter = opts.Filter
	if opts.ObjectTimeout > 0 {
		m.Params.ObjectDeliveryTimeout = wire.Ptr(uint64(opts.ObjectTimeout / time.Millisecond))
	}
	if opts.SubgroupTimeout > 0 {
		m.Params.SubgroupDeliveryTimeout = wire.Ptr(uint64(opts.SubgroupTimeout / time.Millisecond))
	}
	authParams(&m.Params, opts.AuthToken)

	tcfg := opts.Track
	if tcfg == nil {
		tcfg = &TrackConfig{}
	}
	if tcfg.MaxBytes == 0 || tcfg.MaxBytes > s.lim.MaxSubscriptionBytes {
		c := *tcfg
		c.MaxBytes = s.lim.MaxSubscriptionBytes
		tcfg = &c
	}
	track, writer := NewTrack(name, tcfg)
	sub := &Subscription{s: s, requestID: id, track: track, writer: writer, subgroup: make(map[uint64]int), streamsCh: make(chan struct{}), updates: make(chan error, 1)}
	if opts.JoinGroup {
		sub.joinDone = make(chan struct{})
	}

	rs, err := s.openRequest(ctx, m)
	if err != nil {
		return nil, err
	}
	sub.rs = rs
	resp, err := s.response(ctx, rs)
	if err != nil {
		return nil, err
	}
	ok, isOK := resp.(*wire.SubscribeOK)
	if !isOK {
		err := &wire.Error{Code: wire.ErrProtocolViolation, Reason: fmt.Sprintf("SUBSCRIBE answered with message 0x%x", resp.Type())}
		s.fail(err, "subscribe")
		return nil, err
	}
	sub.alias = ok.TrackAlias
	sub.largest = ok.Params.LargestObject
	sub.props = ok.Properties
	if sub.largest != nil {
		sub.firstGroup = sub.largest.Group
		if opts.Filter != nil && opts.Filter.Type == wire.FilterNextGroupStart {
			sub.firstGroup++
		}
	}
	if opts.Filter != nil && (opts.Filter.Type == wire.FilterAbsoluteStart || opts.Filter.Type == wire.FilterAbsoluteRange) {
		sub.firstGroup = opts.Filter.Start.Group
	}
	if sub.largest != nil {
		sub.joinGrp = sub.largest.Group
	} else if sub.joinDone != nil {
		close(sub.joinDone)
		sub.joinDone = nil
	}
	if err := s.registerAlias(sub); err != nil {
		return nil, err
	}
	go sub.readDone()
	if sub.joinDone != nil {
		go sub.joinFetch(ctx)
	}
	return sub, nil
}

func (s *Session) registerAlias(sub *Subscription) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.incoming[sub.alias]; dup {
		err := &wire.Error{Code: wire.ErrDuplicateTrackAlias, Reason: fmt.Sprintf("track alias %d already in use", sub.alias)}
		go s.fail(err, "track alias")
		return err
	}
	s.incoming[sub.alias] = &subscription{sub: sub}
	close(s.aliasWait)
	s.aliasWait = make(chan struct{})
	return nil
}

// joinFetch fetches the current group's objects before the largest one.
func (sub *Subscription) joinFetch(ctx context.Context) {
	defer close(sub.joinDone)
	fctx, cancel := context.WithTimeout(sub.s.ctx, sub.s.lim.RequestTimeout)
	defer cancel()
	f, err := sub.s.Fetch(fctx, &FetchRequest{Joining: sub, JoiningStart: 0})
	if err != nil {
		sub.s.log.Debug("moq: joining fetch failed", "err", err)
		return
	}
	defer f.Close()
	gw, err := sub.writer.OpenGroup(sub.joinGrp)
	if err != nil || gw == nil {
		return
	}
	for {
		o, err := f.ReadObject(fctx)
		if err != nil {
			return
		}
		if o.Group != sub.joinGrp {
			continue
		}
		gw.Write(o)
	}
}

// readDone waits for PUBLISH_DONE or the end of the request stream.
func (sub *Subscription) readDone() {
	goaway := false
	for {
		m, err := sub.rs.read()
		if err != nil {
			sub.mu.Lock()
			closed := sub.closed
			sub.mu.Unlock()
			if !closed {
				if errors.Is(err, io.EOF) {
					sub.waitJoin(2 * time.Second)
					sub.writer.Close(nil)
				} else {
					sub.writer.Close(fmt.Errorf("moq: subscription lost: %w", err))
				}
				sub.remove()
			}
			return
		}
		switch m := m.(type) {
		case *wire.PublishDone:
			sub.mu.Lock()
			sub.done = m
			sub.mu.Unlock()
			// Objects may still be in flight on data streams: the track
			// ends once the Stream Count streams have arrived and ended,
			// or after a bounded wait (§10.11).
			sub.waitStreams(m.StreamCount, 2*time.Second)
			// The joining FETCH may still be writing the joined group: a
			// track that ends at once (PUBLISH_DONE right after
			// SUBSCRIBE_OK) must not lose it.
			sub.waitJoin(2 * time.Second)
			if m.Status == wire.DoneTrackEnded || m.Status == wire.DoneSubscriptionEnded {
				sub.writer.Close(nil)
			} else {
				sub.writer.Close(fmt.Errorf("moq: publisher ended the subscription: %v %s", m.Status, m.Reason))
			}
			sub.remove()
			return
		case *wire.RequestOK:
			select { // answer to a REQUEST_UPDATE
			case sub.updates <- nil:
			default:
			}
		case *wire.RequestError:
			// A failed REQUEST_UPDATE; PUBLISH_DONE follows (§10.9.1).
			select {
			case sub.updates <- &RequestError{Code: m.Code, Reason: m.Reason}:
			default:
			}
		case *wire.GoAway:
			if err := sub.s.onRequestGoAway(m, &goaway); err != nil {
				sub.s.fail(err, "subscription")
				return
			}
		default:
			sub.s.fail(&wire.Error{Code: wire.ErrProtocolViolation, Reason: fmt.Sprintf("unexpected message 0x%x on a subscription", m.Type())}, "subscription")
			return
		}
	}
}

// waitJoin waits at most d for the joining fetch, if any, to have written
// its objects into the track.
func (sub *Subscription) waitJoin(d time.Duration) {
	if sub.joinDone == nil {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-sub.joinDone:
	case <-t.C:
	case <-sub.s.ctx.Done():
	}
}

// lookupAlias finds the subscription for a track alias, waiting a bounded
// time for a SUBSCRIBE_OK that is still on its way (§11.1).
func (s *Session) lookupAlias(alias uint64) *Subscription {
	deadline := time.NewTimer(s.lim.UnknownAliasWait)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		sub, ok := s.incoming[alias]
		wait := s.aliasWait
		s.mu.Unlock()
		if ok {
			return sub.sub
		}
		select {
		case <-wait:
		case <-deadline.C:
			return nil
		case <-s.ctx.Done():
			return nil
		}
	}
}

// readSubgroup reads one subgroup stream into its subscription's track.
func (s *Session) readSubgroup(str ReceiveStream, r *bufio.Reader, typ uint64, hw *headerWait) {
	hdr, err := wire.ReadSubgroupHeader(r, typ, s.lim.Wire)
	if err != nil {
		if !hw.timedOut(err) {
			s.fail(err, "subgroup header")
		}
		return
	}
	hw.arrived()
	sub := s.lookupAlias(hdr.TrackAlias)
	if sub == nil {
		str.CancelRead(uint64(wire.ResetCancelled))
		return
	}
	sub.streamEvent(1)
	defer sub.streamEvent(-1)
	if sub.joinDone != nil && hdr.Group == sub.joinGrp {
		// Hold the current group's later objects until the joining fetch
		// wrote its start, so readers see the group in order.
		select {
		case <-sub.joinDone:
		case <-s.ctx.Done():
			return
		}
	}
	// Streams of consecutive groups can be accepted out of order (every
	// stream is handled on its own, and WebTransport reorders stream
	// arrival): wait briefly for the groups before this one, so readers do
	// not skip a group that is a few microseconds late.
	sub.track.waitForPredecessor(s.ctx, hdr.Group, sub.firstGroup, reorderWait)
	// Count the stream before its group exists: a newer group's stream
	// calling CloseGroupsBefore in between must not end this group as empty.
	sub.mu.Lock()
	sub.subgroup[hdr.Group]++
	sub.mu.Unlock()
	gw, err := sub.writer.OpenGroup(hdr.Group)
	if err != nil || gw == nil {
		sub.mu.Lock()
		if sub.subgroup[hdr.Group]--; sub.subgroup[hdr.Group] <= 0 {
			delete(sub.subgroup, hdr.Group)
		}
		sub.mu.Unlock()
		str.CancelRead(uint64(wire.ResetCancelled))
		return
	}
	sub.writer.CloseGroupsBefore(hdr.Group, func(id uint64) bool {
		sub.mu.Lock()
		defer sub.mu.Unlock()
		return sub.subgroup[id] > 0
	})
	clean := false
	defer func() {
		sub.mu.Lock()
		sub.subgroup[hdr.Group]--
		last := sub.subgroup[hdr.Group] == 0
		if last {
			delete(sub.subgroup, hdr.Group)
		}
		sub.mu.Unlock()
		switch {
		case last && clean:
			gw.Close()
		case last:
			// The publisher reset the group's stream (delivery timeout,
			// a slow viewer's dropped group): the group is incomplete,
			// and readers, a relay's downstream streams among them, must
			// see it end with an error, not as whole.
			gw.Abort(ErrGroupIncomplete)
		}
	}()
	sr := wire.NewSubgroupReader(r, hdr, s.lim.Wire)
	// Payloads are read into pooled buffers (payload.go).
	var alloc payloadAlloc
	defer alloc.close()
	sr.Alloc = alloc.Alloc
	for {
		var o wire.Object
		err := sr.Next(&o)
		if err != nil {
			if errors.Is(err, io.EOF) {
				clean = true
				return
			}
			if _, reset := streamResetCode(err); reset || s.ctx.Err() != nil {
				return
			}
			s.fail(err, "subgroup stream")
			return
		}
		obj := Object{Group: hdr.Group, Subgroup: hdr.Subgroup, ID: o.ID, Priority: hdr.Priority,
			Status: o.Status, Properties: o.Properties, Payload: o.Payload, Received: time.Now(),
			buf: alloc.take()}
		err = gw.Write(obj)
		obj.buf.release() // the group holds its own reference now, if it took the object
		if err != nil {
			if errors.Is(err, ErrObjectOrder) {
				continue
			}
			str.CancelRead(uint64(wire.ResetCancelled))
			return
		}
		s.countIn(len(o.Payload))
	}
}

func (s *Session) handleDatagram(b []byte) {
	d, err := wire.ParseDatagram(b, s.lim.Wire)
	if err != nil {
		s.fail(err, "datagram")
		return
	}
	s.mu.Lock()
	in, ok := s.incoming[d.TrackAlias]
	s.mu.Unlock()
	if !ok {
		return // unknown or cancelled subscription: drop (§11.1)
	}
	gw, err := in.sub.writer.OpenGroup(d.Group)
	if err != nil || gw == nil {
		return
	}
	if gw.Write(Object{Group: d.Group, ID: d.Object, Priority: d.Priority, Status: d.Status,
		Properties: d.Properties, Payload: d.Payload, Datagram: true, Received: time.Now()}) == nil {
		s.countIn(len(d.Payload))
	}
}
