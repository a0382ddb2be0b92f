package moq

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/tributary-live/tributary/moq/wire"
)

// Announcement is a namespace this session published with PUBLISH_NAMESPACE
// (draft-18 §10.15 {#message-pub-ns}). Requests for its tracks arrive through
// Config.Tracks.
type Announcement struct {
	rs        *requestStream
	namespace wire.Namespace
	done      chan struct{}
	err       error
}

// Namespace returns the published namespace.
func (a *Announcement) Namespace() wire.Namespace { return a.namespace }

// Done is closed when the peer ends the publication or the session ends.
func (a *Announcement) Done() <-chan struct{} { return a.done }

// Err returns why the publication ended.
func (a *Announcement) Err() error {
	select {
	case <-a.done:
		return a.err
	default:
		return nil
	}
}

// Close withdraws the namespace by ending its request stream (§3.3.1).
func (a *Announcement) Close() {
	a.rs.str.Close()
	a.rs.str.CancelRead(uint64(wire.ResetCancelled))
}

// PublishNamespace tells the peer this session publishes tracks under ns
// (draft-18 §6.2). The peer then sends SUBSCRIBE and FETCH requests for them,
// answered from Config.Tracks.
func (s *Session) PublishNamespace(ctx context.Context, ns wire.Namespace, authToken []byte) (*Announcement, error) {
	_, rs, err := roundTrip[*wire.RequestOK](ctx, s, func(id uint64) wire.Message {
		m := &wire.PublishNamespace{RequestID: id, Namespace: ns}
		authParams(&m.Params, authToken)
		return m
	})
	if err != nil {
		return nil, err
	}
	a := &Announcement{rs: rs, namespace: ns, done: make(chan struct{})}
	release := s.hold() // a publication keeps the session from idling
	go func() {
		defer close(a.done)
		defer release()
		for {
			if _, err := rs.read(); err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				a.err = err
				return
			}
		}
	}()
	return a, nil
}

// PublishOptions shape a PUBLISH.
type PublishOptions struct {
	// AuthToken is sent as an AUTHORIZATION TOKEN parameter.
	AuthToken []byte
}

// Publication is a track pushed to the peer with PUBLISH (draft-18 §10.10).
type Publication struct {
	sub  *servedSub
	done chan struct{}
}

// Done is closed when the publication ended: the track ended and
// PUBLISH_DONE was sent, or the peer cancelled.
func (p *Publication) Done() <-chan struct{} { return p.done }

// Close stops the publication.
func (p *Publication) Close() { p.sub.cancel(errors.New("moq: publication closed")) }

// Publish pushes track t to the peer without waiting for a SUBSCRIBE
// (draft-18 §10.10 {#message-publish}). Objects flow from the track's current
// group once the peer accepts with PUBLISH_OK, until the track ends.
func (s *Session) Publish(ctx context.Context, t *Track, opts *PublishOptions) (*Publication, error) {
	if opts == nil {
		opts = &PublishOptions{}
	}
	s.mu.Lock()
	alias := s.nextAlias
	s.nextAlias++
	s.mu.Unlock()
	largest, has := t.Largest()
	var id uint64
	ok, rs, err := roundTrip[*wire.RequestOK](ctx, s, func(reqID uint64) wire.Message {
		id = reqID
		m := &wire.Publish{RequestID: id, Track: t.Name(), TrackAlias: alias, Properties: t.cfg.Properties}
		if has {
			m.Params.LargestObject = s.largestParam(largest)
		}
		authParams(&m.Params, opts.AuthToken)
		return m
	})
	if err != nil {
		return nil, err
	}
	sub := &servedSub{
		s: s, rs: rs, requestID: id, alias: alias, track: t,
		priority: 128, order: t.cfg.GroupOrder, forward: true,
		// Start at the current group: a viewer joins at its keyframe.
		filter: wire.SubscriptionFilter{Type: wire.FilterAbsoluteStart},
		wake:   make(chan struct{}, 1),
	}
	if has {
		sub.filter.Start = wire.Location{Group: largest.Group}
		sub.joining = largest
	}
	sub.applyParams(&ok.Params)
	sub.ctx, sub.cancel = context.WithCancelCause(s.ctx)
	s.mu.Lock()
	s.served[id] = sub
	s.mu.Unlock()
	p := &Publication{sub: sub, done: make(chan struct{})}
	start, _ := sub.startLocation(largest, has)
	go sub.readUpdates()
	go func() {
		defer close(p.done)
		sub.run(start)
	}()
	return p, nil
}

// servePublish accepts a PUBLISH from the peer (draft-18 §10.10): the session
// feeds a local track from it and hands the track to Config.OnPublish.
func (s *Session) servePublish(rs *requestStream, m *wire.Publish) {
	if s.cfg.OnPublish == nil {
		rs.refuse(&RequestError{Code: wire.RequestNotSupported, Reason: "this endpoint takes no PUBLISH"})
		return
	}
	cfg := &TrackConfig{MaxBytes: s.lim.MaxSubscriptionBytes, Properties: m.Properties}
	if p, ok := m.Properties.DefaultPublisherPriority(); ok {
		cfg.Priority = p
	}
	if o, ok := m.Properties.DefaultGroupOrder(); ok {
		cfg.GroupOrder = o
	}
	track, writer := NewTrack(m.Track, cfg)
	sub := &Subscription{s: s, rs: rs, requestID: m.RequestID, alias: m.TrackAlias, track: track, writer: writer,
		largest: m.Params.LargestObject, props: m.Properties, subgroup: make(map[uint64]int), streamsCh: make(chan struct{}), updates: make(chan error, 1)}
	if m.Params.LargestObject != nil {
		sub.firstGroup = m.Params.LargestObject.Group
	}
	if err := s.registerAlias(sub); err != nil {
		return
	}
	ctx, cancel := context.WithCancelCause(context.WithValue(s.ctx, requestTokensKey{}, tokens(&m.Params)))
	sub.onEnd = func() { cancel(errors.New("moq: publication ended")) }
	if err := s.cfg.OnPublish(ctx, s, track); err != nil {
		cancel(err)
		sub.remove()
		writer.Close(err)
		rs.refuse(err)
		return
	}
	if err := rs.write(&wire.RequestOK{}); err != nil {
		sub.Close()
		return
	}
	sub.readDone()
}

// NamespaceSubscription receives NAMESPACE and NAMESPACE_DONE for a prefix
// (draft-18 §6.1, §10.16-9.16).
type NamespaceSubscription struct {
	rs     *requestStream
	prefix wire.Namespace
	// msgs carries what the reading goroutine read, one message at a time;
	// its last value has the error that ended the stream.
	msgs chan nsRead
	done chan struct{} // closed by Close
	once sync.Once
	end  error // the error that ended the stream, once read from msgs
}

var errNamespaceClosed = errors.New("moq: namespace subscription closed")

type nsRead struct {
	m   wire.Message
	err error
}

func newNamespaceSubscription(rs *requestStream, prefix wire.Namespace) *NamespaceSubscription {
	n := &NamespaceSubscription{rs: rs, prefix: prefix, msgs: make(chan nsRead), done: make(chan struct{})}
	go n.readLoop(rs.s.hold())
	return n
}

// readLoop reads the request stream until it ends; one goroutine, so that a
// Next given up on (its context ended) loses no message. release ends the
// subscription's hold on the session (IdleTimeout).
func (n *NamespaceSubscription) readLoop(release func()) {
	defer release()
	for {
		m, err := n.rs.read()
		select {
		case n.msgs <- nsRead{m, err}:
		case <-n.done:
			return
		case <-n.rs.s.ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

// Next returns the next namespace event, with the full namespace. When ctx
// ends first it returns ctx's cause and the subscription stays open: a
// later Next gets the event.
func (n *NamespaceSubscription) Next(ctx context.Context) (NamespaceEvent, error) {
	if n.end != nil {
		return NamespaceEvent{}, n.end
	}
	var r nsRead
	select {
	case r = <-n.msgs:
	case <-n.done:
		return NamespaceEvent{}, errNamespaceClosed
	case <-n.rs.s.ctx.Done():
		return NamespaceEvent{}, context.Cause(n.rs.s.ctx)
	case <-ctx.Done():
		return NamespaceEvent{}, context.Cause(ctx)
	}
	if r.err != nil {
		n.end = r.err
		return NamespaceEvent{}, r.err
	}
	full := func(suffix wire.Namespace) wire.Namespace {
		out := make(wire.Namespace, 0, len(n.prefix)+len(suffix))
		return append(append(out, n.prefix...), suffix...)
	}
	switch m := r.m.(type) {
	case *wire.NamespaceMsg:
		return NamespaceEvent{Namespace: full(m.Suffix), Active: true}, nil
	case *wire.NamespaceDone:
		return NamespaceEvent{Namespace: full(m.Suffix)}, nil
	default:
		return NamespaceEvent{}, fmt.Errorf("moq: unexpected message 0x%x on a namespace subscription", r.m.Type())
	}
}

// Close ends the namespace subscription.
func (n *NamespaceSubscription) Close() {
	n.once.Do(func() {
		close(n.done)
		n.rs.str.CancelRead(uint64(wire.ResetCancelled))
		n.rs.str.CancelWrite(uint64(wire.ResetCancelled))
	})
}

// SubscribeNamespace asks the peer for the namespaces under prefix
// (draft-18 §10.18 {#message-subscribe-ns}).
func (s *Session) SubscribeNamespace(ctx context.Context, prefix wire.Namespace, authToken []byte) (*NamespaceSubscription, error) {
	_, rs, err := roundTrip[*wire.RequestOK](ctx, s, func(id uint64) wire.Message {
		m := &wire.SubscribeNamespace{RequestID: id, Prefix: prefix}
		authParams(&m.Params, authToken)
		return m
	})
	if err != nil {
		return nil, err
	}
	return newNamespaceSubscription(rs, prefix), nil
}

// TrackStatusResult is the answer to TRACK_STATUS (draft-18 §10.14).
type TrackStatusResult struct {
	// Largest is the track's largest location, when objects were published.
	Largest    *wire.Location
	Properties wire.Properties
}

// TrackStatus asks the peer for a track's status without subscribing.
func (s *Session) TrackStatus(ctx context.Context, name wire.FullTrackName, authToken []byte) (*TrackStatusResult, error) {
	ok, rs, err := roundTrip[*wire.RequestOK](ctx, s, func(id uint64) wire.Message {
		m := &wire.TrackStatus{RequestID: id, Track: name}
		authParams(&m.Params, authToken)
		return m
	})
	if rs != nil {
		defer rs.str.CancelRead(uint64(wire.ResetCancelled))
	}
	if err != nil {
		return nil, err
	}
	rs.str.Close()
	return &TrackStatusResult{Largest: ok.Params.LargestObject, Properties: ok.Properties}, nil
}

// roundTrip sends a request built with a fresh request ID on its own request
// stream and waits for the answer of type T (draft-18 §3.3); a REQUEST_ERROR
// is a *RequestError, any other answer a PROTOCOL_VIOLATION. The stream is
// returned whenever it was opened, for the caller to keep or end.
func roundTrip[T wire.Message](ctx context.Context, s *Session, build func(id uint64) wire.Message) (T, *requestStream, error) {
	var zero T
	id, err := s.newRequestID()
	if err != nil {
		return zero, nil, err
	}
	m := build(id)
	rs, err := s.openRequest(ctx, m)
	if err != nil {
		return zero, nil, err
	}
	resp, err := s.response(ctx, rs)
	if err != nil {
		return zero, rs, err
	}
	ok, isOK := resp.(T)
	if !isOK {
		err := &wire.Error{Code: wire.ErrProtocolViolation, Reason: fmt.Sprintf("%s answered with %s",
			wire.MessageName(s.version, m.Type()), wire.MessageName(s.version, resp.Type()))}
		s.fail(err, wire.MessageName(s.version, m.Type()))
		return zero, rs, err
	}
	return ok, rs, nil
}
