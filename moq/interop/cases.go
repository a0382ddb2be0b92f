package interop

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// The cases of moq-interop-test-cases.md. Section numbers are those of
// draft-ietf-moq-transport-18, which the test-case document cites.

// setupOnly: connect, exchange SETUP (§3.3, §10.3), close gracefully.
func setupOnly(ctx context.Context, e *env) error {
	s, err := e.connect(ctx, "", nil)
	if err != nil {
		return err
	}
	return closeClean(s)
}

// announceOnly: PUBLISH_NAMESPACE moq-test/interop and wait for REQUEST_OK
// (§6.2, §10.15, §10.5).
func announceOnly(ctx context.Context, e *env) error {
	s, err := e.connect(ctx, "", nil)
	if err != nil {
		return err
	}
	sctx, cancel := e.steps(ctx)
	defer cancel()
	ann, err := s.PublishNamespace(sctx, testNamespace, nil)
	if err != nil {
		return fail("PUBLISH_NAMESPACE_OK", received(err), "PUBLISH_NAMESPACE %s: %v", testNamespace, err)
	}
	_ = ann
	return closeClean(s)
}

// publishNamespaceDone: announce, then withdraw the namespace by cancelling
// the request stream (§3.3.2), then close.
func publishNamespaceDone(ctx context.Context, e *env) error {
	s, err := e.connect(ctx, "", nil)
	if err != nil {
		return err
	}
	sctx, cancel := e.steps(ctx)
	defer cancel()
	ann, err := s.PublishNamespace(sctx, testNamespace, nil)
	if err != nil {
		return fail("PUBLISH_NAMESPACE_OK", received(err), "PUBLISH_NAMESPACE %s: %v", testNamespace, err)
	}
	ann.Close()
	select {
	case <-ann.Done():
	case <-sctx.Done():
		return fail("request stream closed", "timeout", "the withdrawn namespace's request stream did not end")
	}
	return closeClean(s)
}

// subscribeError: SUBSCRIBE to a track nobody publishes and expect
// REQUEST_ERROR (§5.1, §10.7, §10.6).
func subscribeError(ctx context.Context, e *env) error {
	s, err := e.connect(ctx, "", nil)
	if err != nil {
		return err
	}
	sctx, cancel := e.steps(ctx)
	defer cancel()
	sub, err := s.Subscribe(sctx, wire.FullTrackName{Namespace: missingNamespace, Name: testTrack}, nil)
	if err == nil {
		sub.Close()
		return fail("REQUEST_ERROR", "SUBSCRIBE_OK", "unexpected success")
	}
	var re *moq.RequestError
	if !errors.As(err, &re) {
		return fail("REQUEST_ERROR", received(err), "SUBSCRIBE %s: %v", missingNamespace, err)
	}
	e.diag["error_code"] = re.Code.String()
	return closeClean(s)
}

// publisher serves test-track under the test namespace as an open, empty
// track, and reports the first SUBSCRIBE that reaches it.
type publisher struct {
	track      *moq.Track
	writer     *moq.TrackWriter
	subscribed chan struct{}
}

func newPublisher() *publisher {
	t, w := moq.NewTrack(wire.FullTrackName{Namespace: testNamespace, Name: testTrack}, nil)
	return &publisher{track: t, writer: w, subscribed: make(chan struct{}, 1)}
}

func (p *publisher) handlers() *moq.Config {
	return &moq.Config{Tracks: moq.TrackSourceFunc(func(ctx context.Context, s *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
		if req.Name.Namespace.String() != testNamespace.String() || !bytes.Equal(req.Name.Name, testTrack) {
			return nil, &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: "no such track"}
		}
		if req.Kind == "subscribe" {
			select {
			case p.subscribed <- struct{}{}:
			default:
			}
		}
		return p.track, nil
	})}
}

func (p *publisher) close() { p.writer.Close(nil) }

// announceSubscribe: a publisher announces the test namespace, a subscriber
// on a second connection subscribes to test-track, and the relay routes the
// SUBSCRIBE to the publisher (§5.1, §6.2, §10.7-10.8, §10.15).
func announceSubscribe(ctx context.Context, e *env) error {
	p := newPublisher()
	defer p.close()
	pub, err := e.connect(ctx, "publisher", p.handlers())
	if err != nil {
		return err
	}
	sub, err := e.connect(ctx, "subscriber", nil)
	if err != nil {
		return err
	}
	sctx, cancel := e.steps(ctx)
	defer cancel()
	if _, err := pub.PublishNamespace(sctx, testNamespace, nil); err != nil {
		return fail("PUBLISH_NAMESPACE_OK", received(err), "publisher: PUBLISH_NAMESPACE %s: %v", testNamespace, err)
	}
	s, err := sub.Subscribe(sctx, wire.FullTrackName{Namespace: testNamespace, Name: testTrack}, nil)
	if err != nil {
		return fail("SUBSCRIBE_OK", received(err), "subscriber: SUBSCRIBE %s/%s: %v", testNamespace, testTrack, err)
	}
	defer s.Close()
	select {
	case <-p.subscribed:
		e.diag["publisher_saw_subscribe"] = "true"
	default:
		e.diag["publisher_saw_subscribe"] = "false"
	}
	if err := closeClean(sub); err != nil {
		return err
	}
	return closeClean(pub)
}

// subscribeBeforeAnnounce: the subscriber subscribes first, the publisher
// announces 500 ms later; SUBSCRIBE_OK (the relay held the subscription) and
// REQUEST_ERROR (it did not) both pass, a hang does not (§5.1, §6.2).
func subscribeBeforeAnnounce(ctx context.Context, e *env) error {
	sub, err := e.connect(ctx, "subscriber", nil)
	if err != nil {
		return err
	}
	sctx, cancel := e.steps(ctx)
	defer cancel()
	type result struct {
		s   *moq.Subscription
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := sub.Subscribe(sctx, wire.FullTrackName{Namespace: testNamespace, Name: testTrack}, nil)
		done <- result{s, err}
	}()

	// The publisher starts 500 ms after the subscriber (the case's own
	// timing, whatever the subscriber got meanwhile).
	p := newPublisher()
	defer p.close()
	select {
	case <-time.After(500 * time.Millisecond):
	case <-sctx.Done():
		return fail("publisher start after 500 ms", "timeout", "the case ran out of time before the publisher started")
	}
	var got *result
	select {
	case r := <-done:
		got = &r
	default:
	}
	pub, err := e.connect(sctx, "publisher", p.handlers())
	if err != nil {
		return err
	}
	if _, err := pub.PublishNamespace(sctx, testNamespace, nil); err != nil {
		return fail("PUBLISH_NAMESPACE_OK", received(err), "publisher: PUBLISH_NAMESPACE %s: %v", testNamespace, err)
	}
	if got == nil {
		select {
		case r := <-done:
			got = &r
		case <-sctx.Done():
			return fail("SUBSCRIBE_OK or REQUEST_ERROR", "timeout", "the subscriber's SUBSCRIBE got no answer")
		}
	}
	var re *moq.RequestError
	switch {
	case got.err == nil:
		e.diag["subscriber_result"] = "SUBSCRIBE_OK"
		got.s.Close()
	case errors.As(got.err, &re):
		e.diag["subscriber_result"] = "REQUEST_ERROR"
		e.diag["error_code"] = re.Code.String()
	default:
		return fail("SUBSCRIBE_OK or REQUEST_ERROR", received(got.err), "subscriber: SUBSCRIBE: %v", got.err)
	}
	if err := closeClean(sub); err != nil {
		return err
	}
	return closeClean(pub)
}
