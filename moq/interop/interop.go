// Package interop is Tributary's MoQ interop test client: it runs the cases of
// the moq-interop-runner (shared/specs/moq-interop-test-cases.md) against any
// relay URL, native QUIC (moqt://) or WebTransport (https://), and reports
// them as TAP version 14 following the runner's test-client interface
// (shared/specs/moq-interop-test-client-interface.md). `tributary interop`
// is its command.
package interop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// Version is the client version printed in the TAP header.
const Version = "0.1.0"

// Exit codes of the test-client interface.
const (
	ExitPass        = 0   // every requested test passed
	ExitFail        = 1   // one or more tests failed
	ExitUnsupported = 127 // a requested test is not supported by this client
)

// Options configure a run.
type Options struct {
	// Relay is the relay URL: moqt://host:port/path or https://host:port/path.
	Relay string
	// Test names the one case to run; empty runs every case.
	Test string
	// TLSDisableVerify accepts any relay certificate.
	TLSDisableVerify bool
	// CertHash, if set, pins the relay certificate by its hex SHA-256
	// (a development certificate, as WebTransport's serverCertificateHashes).
	CertHash string
	// Draft restricts the offered MoQ version: "18", "19" or "" for both.
	Draft string
	// Verbose logs session activity to Stderr.
	Verbose bool
	// Stdout receives the TAP report; Stderr logs. Nil discards.
	Stdout, Stderr io.Writer
	// ConnectTimeout bounds each connection attempt (default 5s).
	ConnectTimeout time.Duration
}

// testCase is one interop case.
type testCase struct {
	name string
	// timeout bounds the case after its connections are up, as the test-case
	// document gives it.
	timeout time.Duration
	run     func(ctx context.Context, e *env) error
}

// cases lists every case of moq-interop-test-cases.md, in its order.
var cases = []testCase{
	{"setup-only", 2 * time.Second, setupOnly},
	{"announce-only", 2 * time.Second, announceOnly},
	{"publish-namespace-done", 2 * time.Second, publishNamespaceDone},
	{"subscribe-error", 2 * time.Second, subscribeError},
	{"announce-subscribe", 3 * time.Second, announceSubscribe},
	{"subscribe-before-announce", 3500 * time.Millisecond, subscribeBeforeAnnounce},
}

// CaseNames returns the identifiers of the cases this client runs, for --list.
func CaseNames() []string {
	names := make([]string, len(cases))
	for i, c := range cases {
		names[i] = c.name
	}
	return names
}

// Test namespaces and track of moq-interop-test-cases.md.
var (
	testNamespace    = wire.NewNamespace("moq-test", "interop")
	missingNamespace = wire.NewNamespace("nonexistent", "namespace")
	testTrack        = []byte("test-track")
)

// Run runs the requested cases and returns the exit code of the test-client
// interface.
func Run(ctx context.Context, o Options) int {
	stdout, stderr := o.Stdout, o.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	selected := cases
	if o.Test != "" {
		selected = nil
		for _, c := range cases {
			if c.name == o.Test {
				selected = append(selected, c)
			}
		}
		if len(selected) == 0 {
			fmt.Fprintf(stderr, "tributary interop: test %q is not supported (supported: %s)\n", o.Test, strings.Join(CaseNames(), ", "))
			return ExitUnsupported
		}
	}
	e, err := newEnv(o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "tributary interop: %v\n", err)
		return ExitFail
	}
	t := &tap{w: stdout}
	t.header("tributary interop v"+Version, "Relay: "+o.Relay, "Draft: "+e.draftName())
	t.plan(len(selected))
	failed := false
	for i, c := range selected {
		start := time.Now()
		diag := map[string]string{}
		e.diag = diag
		err := runCase(ctx, e, c)
		diag["duration_ms"] = fmt.Sprint(time.Since(start).Milliseconds())
		if err != nil {
			failed = true
			var f *failure
			if errors.As(err, &f) {
				diag["expected"] = f.expected
				diag["received"] = f.received
			}
			diag["message"] = err.Error()
		}
		t.point(err == nil, c.name, "", diag)
		// An unreachable relay makes every other case pointless.
		var de *dialError
		if i == 0 && len(selected) > 1 && errors.As(err, &de) {
			t.bail("relay unreachable: " + de.Error())
			return ExitFail
		}
		if ctx.Err() != nil {
			t.bail("interrupted")
			return ExitFail
		}
	}
	if failed {
		return ExitFail
	}
	return ExitPass
}

func runCase(ctx context.Context, e *env, c testCase) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("case panicked: %v", r)
		}
	}()
	// The connections' set-up gets its own bound; the case's timeout starts
	// with the first protocol step after it (e.connect takes from both).
	ctx, cancel := context.WithTimeout(ctx, c.timeout+2*e.connectTimeout)
	defer cancel()
	e.timeout = c.timeout
	defer e.closeAll()
	return c.run(ctx, e)
}

// failure is a case failure with what was expected and what arrived.
type failure struct {
	expected, received, msg string
}

func (f *failure) Error() string { return f.msg }

func fail(expected, received, format string, args ...any) error {
	return &failure{expected: expected, received: received, msg: fmt.Sprintf(format, args...)}
}

// received names what a request got instead of the expected answer.
func received(err error) string {
	var re *moq.RequestError
	var se *moq.SessionError
	switch {
	case errors.As(err, &re):
		return "REQUEST_ERROR"
	case errors.As(err, &se):
		return "session closed"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "error"
	}
}

// dialError is a failure to connect to the relay.
type dialError struct{ err error }

func (d *dialError) Error() string { return d.err.Error() }
func (d *dialError) Unwrap() error { return d.err }

// env holds what the cases share: how to connect, and the sessions a case
// opened (closed after it).
type env struct {
	url            string
	cfg            moq.Config
	dial           moq.DialOptions
	connectTimeout time.Duration
	timeout        time.Duration // the running case's own timeout
	log            *slog.Logger
	sessions       []*moq.Session
	diag           map[string]string
}

func newEnv(o Options, stderr io.Writer) (*env, error) {
	if o.Relay == "" {
		return nil, errors.New("no relay URL (--relay or RELAY_URL)")
	}
	if !strings.HasPrefix(o.Relay, "moqt://") && !strings.HasPrefix(o.Relay, "https://") {
		return nil, fmt.Errorf("relay URL %q: want moqt://host:port/path (native QUIC) or https://host:port/path (WebTransport)", o.Relay)
	}
	level := slog.LevelError
	if o.Verbose {
		level = slog.LevelDebug
	}
	e := &env{
		url:            o.Relay,
		connectTimeout: o.ConnectTimeout,
		log:            slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})),
	}
	if e.connectTimeout <= 0 {
		e.connectTimeout = 5 * time.Second
	}
	e.cfg = moq.Config{Implementation: "tributary-interop/" + Version, Logger: e.log}
	switch o.Draft {
	case "":
	case "18", "moqt-18":
		e.cfg.Versions = []wire.Version{wire.Draft18}
	case "19", "moqt-19":
		e.cfg.Versions = []wire.Version{wire.Draft19}
	default:
		return nil, fmt.Errorf("draft %q is not supported (18 or 19)", o.Draft)
	}
	e.dial.Insecure = o.TLSDisableVerify
	if o.CertHash != "" {
		h, err := moq.ParseCertHash(o.CertHash)
		if err != nil {
			return nil, err
		}
		e.dial.CertHashes = [][]byte{h}
	}
	return e, nil
}

func (e *env) draftName() string {
	if len(e.cfg.Versions) == 1 {
		return fmt.Sprintf("draft-%d", e.cfg.Versions[0])
	}
	return "draft-19, draft-18"
}

// connect opens a session in the given role; cfg adds handlers to the base
// configuration. The negotiated version lands in the diagnostics.
func (e *env) connect(ctx context.Context, role string, handlers *moq.Config) (*moq.Session, error) {
	cfg := e.cfg
	if handlers != nil {
		cfg.Tracks = handlers.Tracks
		cfg.OnPublishNamespace = handlers.OnPublishNamespace
	}
	dctx, cancel := context.WithTimeout(ctx, e.connectTimeout)
	defer cancel()
	s, err := moq.Dial(dctx, e.url, &cfg, &e.dial)
	if err != nil {
		who := role
		if who == "" {
			who = "client"
		}
		return nil, &dialError{fmt.Errorf("%s: connect: %w", who, err)}
	}
	e.sessions = append(e.sessions, s)
	prefix := ""
	if role != "" {
		prefix = role + "_"
	}
	e.diag[prefix+"version"] = s.Version().ALPN()
	e.diag[prefix+"transport"] = s.Transport()
	if impl := s.PeerImplementation(); impl != "" {
		e.diag["relay_implementation"] = impl
	}
	e.log.Debug("interop: connected", "role", role, "version", s.Version(), "transport", s.Transport())
	return s, nil
}

// closeAll closes every session the case left open.
func (e *env) closeAll() {
	for _, s := range e.sessions {
		s.Close()
	}
	e.sessions = nil
}

// closeClean closes a session with NO_ERROR after checking it is still up,
// i.e. the peer did not end it with an error first.
func closeClean(s *moq.Session) error {
	if err := s.Err(); err != nil {
		return fail("open session", "session closed", "session ended before the graceful close: %v", err)
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// steps returns a context bounded by the running case's own timeout, for the
// protocol steps after its connections are up.
func (e *env) steps(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.timeout)
}
