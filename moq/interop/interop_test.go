package interop_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/interop"
	"github.com/tributary-live/tributary/moq/wire"
)

// miniRelay is the least a relay does for the interop cases, built from the
// moq package alone: it remembers which session announced which namespace
// and forwards a SUBSCRIBE for a track in it to that session.
type miniRelay struct {
	mu   sync.Mutex
	pubs map[string]*moq.Session
	// announced, if set, receives each namespace announced (without blocking).
	announced chan string
}

func (r *miniRelay) config() *moq.Config {
	r.pubs = make(map[string]*moq.Session)
	return &moq.Config{
		OnPublishNamespace: func(ctx context.Context, s *moq.Session, ns wire.Namespace) error {
			key := ns.String()
			r.mu.Lock()
			r.pubs[key] = s
			r.mu.Unlock()
			select {
			case r.announced <- key:
			default:
			}
			context.AfterFunc(ctx, func() {
				r.mu.Lock()
				if r.pubs[key] == s {
					delete(r.pubs, key)
				}
				r.mu.Unlock()
			})
			return nil
		},
		Tracks: moq.TrackSourceFunc(func(ctx context.Context, s *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
			r.mu.Lock()
			pub := r.pubs[req.Name.Namespace.String()]
			r.mu.Unlock()
			if pub == nil {
				return nil, &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: "nobody publishes " + req.Name.Namespace.String()}
			}
			sub, err := pub.Subscribe(ctx, req.Name, relaySubOpts)
			if err != nil {
				return nil, err
			}
			context.AfterFunc(s.Context(), sub.Close)
			return sub.Track(), nil
		}),
	}
}

// relaySubOpts are the relay's upstream subscription options: the defaults
// (a 2-group cache), which @moq/net's one-stream-per-group bursts used to
// break (TestEvictedGroupEndsWithError).
var relaySubOpts *moq.SubscribeOptions

var tapPoint = regexp.MustCompile(`^(ok|not ok) (\d+) - (\S+)`)

// checkTAP checks a TAP 14 report of every case, all passing.
func checkTAP(t *testing.T, out string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] != "TAP version 14" {
		t.Fatalf("report does not start with the TAP version line:\n%s", out)
	}
	names := interop.CaseNames()
	plan := fmt.Sprintf("1..%d", len(names))
	var seen []string
	planned := false
	for _, l := range lines[1:] {
		if l == plan {
			planned = true
			continue
		}
		if m := tapPoint.FindStringSubmatch(l); m != nil {
			if !planned {
				t.Errorf("test point before the plan: %q", l)
			}
			if m[1] != "ok" {
				t.Errorf("case %s failed", m[3])
			}
			if m[2] != fmt.Sprint(len(seen)+1) {
				t.Errorf("test point %q out of sequence", l)
			}
			seen = append(seen, m[3])
		}
	}
	if !planned {
		t.Errorf("no plan %q", plan)
	}
	if strings.Join(seen, ",") != strings.Join(names, ",") {
		t.Errorf("cases reported %v, want %v", seen, names)
	}
	if t.Failed() {
		t.Logf("report:\n%s", out)
	}
}

// TestInteropClientAgainstServer runs every interop case with `tributary
// interop`'s logic against a server built from the moq package, over native
// QUIC and WebTransport, for each draft.
func TestInteropClientAgainstServer(t *testing.T) {
	relay := &miniRelay{}
	port, hash, _ := startServer(t, relay.config())
	for _, scheme := range []string{"moqt", "https"} {
		for _, draft := range []string{"18", "19"} {
			t.Run(scheme+"/draft-"+draft, func(t *testing.T) {
				var out, errb bytes.Buffer
				code := interop.Run(context.Background(), interop.Options{
					Relay:    fmt.Sprintf("%s://127.0.0.1:%d/interop", scheme, port),
					CertHash: hash,
					Draft:    draft,
					Stdout:   &out,
					Stderr:   &errb,
				})
				if code != interop.ExitPass {
					t.Errorf("exit code %d, want %d; stderr:\n%s", code, interop.ExitPass, errb.String())
				}
				checkTAP(t, out.String())
				if want := "moqt-" + draft; !strings.Contains(out.String(), "version: "+want) {
					t.Errorf("report names no session of %s:\n%s", want, out.String())
				}
				transport := map[string]string{"moqt": "quic", "https": "webtransport"}[scheme]
				if !strings.Contains(out.String(), "transport: "+transport) {
					t.Errorf("report names no %s session:\n%s", transport, out.String())
				}
			})
		}
	}
}
