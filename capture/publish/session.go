package publish

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tributary-live/tributary/moq"
)

// Serve offers the broadcast on one session, in the given mode, and returns
// when the session ends or ctx is done (then it closes the session). The
// session must have been set up with the publisher as its track source (see
// Connect), so that the peer's SUBSCRIBEs find the tracks.
func (p *Publisher) Serve(ctx context.Context, sess *moq.Session, mode Mode) error {
	select {
	case <-p.ready:
	case <-p.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	case <-sess.Context().Done():
		return sess.Err()
	}
	p.mu.Lock()
	p.sessions = append(p.sessions, sess)
	p.stats.Sessions++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		for i, s := range p.sessions {
			if s == sess {
				p.sessions = append(p.sessions[:i], p.sessions[i+1:]...)
				break
			}
		}
		p.mu.Unlock()
	}()

	var pubs []*moq.Publication
	defer func() {
		for _, pub := range pubs {
			pub.Close()
		}
	}()
	publishAll := func() error {
		for _, t := range p.Tracks() { // the catalog first (MSF §11.2)
			pub, err := sess.Publish(ctx, t, nil)
			if err != nil {
				return fmt.Errorf("publish: PUBLISH %s: %w", t.Name(), err)
			}
			pubs = append(pubs, pub)
		}
		return nil
	}
	switch mode {
	case ModePublish:
		if err := publishAll(); err != nil {
			return err
		}
	case ModeNamespace, ModeAuto:
		ann, err := sess.PublishNamespace(ctx, p.cfg.Namespace, nil)
		var reqErr *moq.RequestError
		switch {
		case err == nil:
			defer ann.Close()
			p.log.Info("publish: namespace published", "namespace", p.cfg.Namespace.String())
		case mode == ModeAuto && errors.As(err, &reqErr):
			p.log.Info("publish: PUBLISH_NAMESPACE refused, pushing tracks with PUBLISH", "reason", reqErr.Reason)
			if err := publishAll(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("publish: PUBLISH_NAMESPACE: %w", err)
		}
	}
	p.airOnce.Do(func() { close(p.onAir) })
	select {
	case <-ctx.Done():
		sess.Close()
		return ctx.Err()
	case <-p.done:
		sess.Close()
		return ErrStopped
	case <-sess.Context().Done():
		return sess.Err()
	case <-sess.GoingAway():
		// GOAWAY (draft-18 §10.4): finish here; Connect dials the new URI.
		return errGoingAway
	}
}

var errGoingAway = errors.New("publish: relay is going away")

// ErrStopped reports that the publisher's Run has ended: there is nothing more to send.
var ErrStopped = errors.New("publish: publisher stopped")

// ConnectOptions configure Connect.
type ConnectOptions struct {
	// Mode is how each session offers the broadcast.
	Mode Mode
	// Config is the base session configuration; its Tracks is replaced by the publisher.
	Config moq.Config
	// Dial are the dial options (certificate pinning, insecure).
	Dial moq.DialOptions
	// MinBackoff and MaxBackoff bound the wait between attempts (default 250 ms and 5 s).
	MinBackoff, MaxBackoff time.Duration
	// OnSession is called with each new session, and with nil and the error when one ends.
	OnSession func(s *moq.Session, err error)
	// AuthToken, if set, is asked before each dial for the SETUP token
	// (replacing Config.AuthToken): a short-lived relay grant is renewed
	// across reconnections this way.
	AuthToken func(ctx context.Context) ([]byte, error)
}

// Connect keeps the broadcast offered to the relay at url until ctx ends or
// Run ends (then it returns ErrStopped): it dials, serves, and when the
// session drops (or the relay sends GOAWAY) dials again with backoff, while
// capture and encoding go on.
func (p *Publisher) Connect(ctx context.Context, url string, opts *ConnectOptions) error {
	return p.connect(ctx, url, opts, nil)
}

// connect is Connect that, after each attempt that fails while ctx and Run
// go on, tells failed (when set) the error and whether the attempt was
// answered: the token source failed, or the relay set up a session or
// refused one, so that the same attempt would likely fail the same way.
func (p *Publisher) connect(ctx context.Context, url string, opts *ConnectOptions, failed func(err error, answered bool)) error {
	if opts == nil {
		opts = &ConnectOptions{}
	}
	minB, maxB := opts.MinBackoff, opts.MaxBackoff
	if minB <= 0 {
		minB = 250 * time.Millisecond
	}
	if maxB < minB {
		maxB = max(5*time.Second, minB)
	}
	backoff := minB
	for ctx.Err() == nil {
		cfg := opts.Config
		cfg.Tracks = moq.TrackSourceFunc(p.Track)
		dial := opts.Dial
		started := time.Now()
		var sess *moq.Session
		var err error
		answered := false
		if opts.AuthToken != nil {
			var tok []byte
			if tok, err = opts.AuthToken(ctx); err == nil {
				cfg.AuthToken = tok
			}
			answered = err != nil
		}
		if err == nil {
			sess, err = moq.Dial(ctx, url, &cfg, &dial)
			var se *moq.SessionError
			answered = err == nil || (errors.As(err, &se) && se.Remote)
		}
		if err == nil {
			p.log.Info("publish: connected", "url", url, "version", sess.Version(), "transport", sess.Transport())
			if opts.OnSession != nil {
				opts.OnSession(sess, nil)
			}
			err = p.Serve(ctx, sess, opts.Mode)
			if errors.Is(err, errGoingAway) {
				if uri, ok := sess.GoAwayURI(); ok && uri != "" {
					url = uri
				}
				sess.Close()
			}
			if opts.OnSession != nil {
				opts.OnSession(nil, err)
			}
			if time.Since(started) > 10*time.Second {
				backoff = minB
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case <-p.done:
			return ErrStopped
		default:
		}
		if failed != nil {
			failed(err, answered)
		}
		p.log.Warn("publish: relay session ended, reconnecting", "url", url, "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-p.done:
			t.Stop()
			return ErrStopped
		case <-t.C:
		}
		backoff = min(2*backoff, maxB)
	}
	return ctx.Err()
}
