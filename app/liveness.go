package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tributary-live/tributary/fedi"
	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/msf"
	"github.com/tributary-live/tributary/moq/netguard"
	"github.com/tributary-live/tributary/moq/wire"
	"github.com/tributary-live/tributary/player"
)

// hangCatalog is the catalog track of hang broadcasts (draft-lcurley-moq-hang).
const hangCatalog = "catalog.json"

// The bounds of the sessions liveness checks keep: a relay's session is
// closed once unused for livenessIdle (longer than fedi's recheck
// interval, so that the rechecks of a relay's streams share one session),
// and at most maxLivenessSessions relays are held at once.
const (
	livenessIdle        = 2 * time.Minute
	maxLivenessSessions = 8
)

// liveness confirms a discovered stream on its relay with TRACK_STATUS for
// the broadcast's catalog (draft-ietf-moq-transport-18 §9.18): the relay
// answering DOES_NOT_EXIST for both the MSF and the hang catalog means the
// broadcast ended; any other failure leaves the stream listed, unconfirmed.
//
// The relay is named by a post, so the dial goes through the address guard
// (moq/netguard): no private or internal addresses (loopback only when
// allowLoopback, for tests). The checks of one relay share a session
// (relaySessions).
type liveness struct {
	roots         *x509.CertPool
	allowLoopback bool
	log           *slog.Logger
	sessions      *relaySessions
}

// moqLiveness returns the app's fedi.LivenessChecker.
func moqLiveness(roots *x509.CertPool, allowLoopback bool, log *slog.Logger) *liveness {
	return &liveness{roots: roots, allowLoopback: allowLoopback, log: log, sessions: newRelaySessions(livenessIdle, maxLivenessSessions)}
}

// CheckLive implements fedi.LivenessChecker.
func (l *liveness) CheckLive(ctx context.Context, s fedi.LiveStream) (fedi.Liveness, error) {
	if len(s.RelayURLs) == 0 {
		return fedi.LivenessUnknown, nil
	}
	dialURL, ns, err := player.ParseURL(s.RelayURLs[0])
	if err != nil {
		return fedi.LivenessUnknown, err
	}
	opts := &moq.DialOptions{Resolve: netguard.Guard{AllowLoopback: l.allowLoopback}.ResolveAddr}
	if l.roots != nil {
		opts.TLS = &tls.Config{RootCAs: l.roots}
	}
	var hashes []string
	if s.Relay != nil {
		for _, h := range s.Relay.CertHashes {
			if b, err := moq.ParseCertHash(h); err == nil {
				opts.CertHashes = append(opts.CertHashes, b)
				hashes = append(hashes, h)
			}
		}
	}
	sess, release, err := l.sessions.get(ctx, sessionKey(dialURL, hashes), func(ctx context.Context) (*moq.Session, error) {
		return moq.Dial(ctx, dialURL, &moq.Config{Logger: l.log, Implementation: "tributary-app"}, opts)
	})
	if err != nil {
		return fedi.LivenessUnknown, err
	}
	defer release()
	missing := 0
	for _, name := range []string{msf.TrackName, hangCatalog} {
		_, err := sess.TrackStatus(ctx, wire.FullTrackName{Namespace: ns, Name: []byte(name)}, nil)
		if err == nil {
			return fedi.LivenessLive, nil
		}
		var re *moq.RequestError
		if !errors.As(err, &re) || re.Code != wire.RequestDoesNotExist {
			return fedi.LivenessUnknown, err
		}
		missing++
	}
	if missing == 2 {
		return fedi.LivenessEnded, nil
	}
	return fedi.LivenessUnknown, nil
}

// Close closes the sessions it keeps.
func (l *liveness) Close() { l.sessions.close() }

// sessionKey names a relay's session: the scheme and host of the URL
// dialled (the relay, not the broadcast: the session is dialled with the
// path of the first check, and later checks name their broadcasts in
// TRACK_STATUS) and the certificate hashes it was pinned to.
func sessionKey(dialURL string, hashes []string) string {
	u, err := url.Parse(dialURL)
	if err != nil {
		return dialURL
	}
	return u.Scheme + "://" + u.Host + " " + strings.Join(hashes, ",")
}

// relaySessions keeps one MoQ session per relay for checks that come and
// go, so that checking the streams of a relay again and again dials it
// once. A session unused for idle is closed, as is one that ends or whose
// relay sends GOAWAY (the next check dials anew); at most max are kept,
// and when all are in use a check gets a session of its own, closed after
// it.
type relaySessions struct {
	idle time.Duration
	max  int

	mu     sync.Mutex
	m      map[string]*relaySession
	closed bool
	wg     sync.WaitGroup // the watchers of the kept sessions
}

// relaySession is one kept session.
type relaySession struct {
	key   string
	ready chan struct{} // closed once the dial is done: sess or err is set
	sess  *moq.Session
	err   error
	users int         // checks using it now
	used  time.Time   // when the last check was done with it
	gone  bool        // out of the map: close it once unused
	idle  *time.Timer // closes it once unused for relaySessions.idle
}

func newRelaySessions(idle time.Duration, max int) *relaySessions {
	return &relaySessions{idle: idle, max: max, m: map[string]*relaySession{}}
}

// get returns the session for key, dialled with dial if none is kept, and
// the function to call once the caller is done with it.
func (p *relaySessions) get(ctx context.Context, key string, dial func(context.Context) (*moq.Session, error)) (*moq.Session, func(), error) {
	p.mu.Lock()
	e := p.m[key]
	if e != nil && e.sess != nil && e.sess.Err() != nil {
		p.drop(e) // ended, and its watcher has not seen it yet
		e = nil
	}
	if e == nil && !p.closed && p.makeRoom() {
		e = &relaySession{key: key, ready: make(chan struct{})}
		p.m[key] = e
		e.users++
		p.mu.Unlock()
		sess, err := dial(ctx)
		p.dialled(e, sess, err)
		close(e.ready)
		if err != nil {
			return nil, nil, err
		}
		return sess, func() { p.release(e) }, nil
	}
	if e == nil {
		// Closed, or every kept session is in use: one of its own.
		p.mu.Unlock()
		sess, err := dial(ctx)
		if err != nil {
			return nil, nil, err
		}
		return sess, func() { sess.Close() }, nil
	}
	e.users++
	if e.idle != nil {
		e.idle.Stop()
	}
	p.mu.Unlock()
	select {
	case <-e.ready:
	case <-ctx.Done():
		p.release(e)
		return nil, nil, ctx.Err()
	}
	if e.err != nil {
		p.release(e)
		return nil, nil, e.err
	}
	return e.sess, func() { p.release(e) }, nil
}

// dialled files the outcome of e's dial: a failed dial is forgotten, a
// session is watched until it ends or its relay sends GOAWAY.
func (p *relaySessions) dialled(e *relaySession, sess *moq.Session, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e.sess, e.err = sess, err
	if err != nil {
		p.drop(e)
		return
	}
	if p.closed {
		e.gone = true // closed meanwhile: close it once unused
		return
	}
	p.wg.Go(func() {
		select {
		case <-e.sess.GoingAway():
		case <-e.sess.Context().Done():
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.drop(e)
		if e.users == 0 {
			e.sess.Close()
		}
	})
}

// release: a check is done with e.
func (p *relaySessions) release(e *relaySession) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e.users--
	if e.users > 0 || e.sess == nil {
		return
	}
	e.used = time.Now()
	if e.gone {
		e.sess.Close()
		return
	}
	if e.idle == nil {
		e.idle = time.AfterFunc(p.idle, func() { p.expire(e) })
	} else {
		e.idle.Reset(p.idle)
	}
}

// expire closes e if it is still unused.
func (p *relaySessions) expire(e *relaySession) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.users == 0 && !e.gone {
		p.drop(e)
		e.sess.Close()
	}
}

// makeRoom makes room for one more session if the cache is full, closing
// the one unused longest; it reports false when all are in use. p.mu is
// held.
func (p *relaySessions) makeRoom() bool {
	if len(p.m) < p.max {
		return true
	}
	var oldest *relaySession
	for _, e := range p.m {
		if e.users == 0 && e.sess != nil && (oldest == nil || e.used.Before(oldest.used)) {
			oldest = e
		}
	}
	if oldest == nil {
		return false
	}
	p.drop(oldest)
	oldest.sess.Close()
	return true
}

// drop takes e out of the map. p.mu is held.
func (p *relaySessions) drop(e *relaySession) {
	if p.m[e.key] == e {
		delete(p.m, e.key)
	}
	e.gone = true
	if e.idle != nil {
		e.idle.Stop()
	}
}

// close closes the sessions (a check using one fails) and keeps none from
// now on.
func (p *relaySessions) close() {
	p.mu.Lock()
	p.closed = true
	for _, e := range p.m {
		p.drop(e)
		if e.sess != nil {
			e.sess.Close()
		}
	}
	p.mu.Unlock()
	p.wg.Wait()
}
