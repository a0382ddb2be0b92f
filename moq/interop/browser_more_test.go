package interop_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// TestBrowserDiscoversNamespaces: @moq/net asks for the broadcasts under a
// prefix (SUBSCRIBE_NAMESPACE, draft-18 §9.16) and our server answers with
// NAMESPACE and NAMESPACE_DONE (§9.17-9.18), which is how @moq/watch finds
// streams.
func TestBrowserDiscoversNamespaces(t *testing.T) {
	for _, d := range browserDrafts {
		t.Run(d.alpn, func(t *testing.T) {
			prefix := wire.NewNamespace("tributary", "interop")
			asked := make(chan string, 1)
			port, hash, _ := startServer(t, &moq.Config{
				OnSubscribeNamespace: func(ctx context.Context, s *moq.Session, p wire.Namespace) (<-chan moq.NamespaceEvent, error) {
					select {
					case asked <- p.String():
					default:
					}
					ev := make(chan moq.NamespaceEvent, 3)
					ev <- moq.NamespaceEvent{Namespace: wire.NewNamespace("tributary", "interop", "alice"), Active: true}
					ev <- moq.NamespaceEvent{Namespace: wire.NewNamespace("tributary", "interop", "bob", "live"), Active: true}
					ev <- moq.NamespaceEvent{Namespace: wire.NewNamespace("tributary", "interop", "alice"), Active: false}
					return ev, nil
				},
			})
			peer := startBrowser(t, url.Values{
				"url":     {fmt.Sprintf("https://127.0.0.1:%d/interop", port)},
				"hash":    {hash},
				"alpn":    {d.alpn},
				"mode":    {"announced"},
				"prefix":  {"tributary/interop"},
				"count":   {"3"},
				"timeout": {"15000"},
			})
			res := peer.waitPhase("done", 20*time.Second)
			if !res.OK {
				res.logTo(t)
				t.Fatalf("browser discovery failed: %s", res.Error)
			}
			select {
			case p := <-asked:
				if p != prefix.String() {
					t.Errorf("SUBSCRIBE_NAMESPACE prefix %s, want %s", p, prefix)
				}
			default:
				t.Error("the server saw no SUBSCRIBE_NAMESPACE")
			}
			var got []string
			for _, e := range res.Announced {
				got = append(got, fmt.Sprintf("%s=%v", e.Path, e.Active))
			}
			if want := "alice=true bob/live=true alice=false"; strings.Join(got, " ") != want {
				res.logTo(t)
				t.Errorf("browser saw %q, want %q", strings.Join(got, " "), want)
			}
		})
	}
}

// TestBrowserSubscribeRefused: a SUBSCRIBE for a track the server does not
// have gets REQUEST_ERROR (draft-18 §9.6), which @moq/net turns into an error
// on the track; the session stays up.
func TestBrowserSubscribeRefused(t *testing.T) {
	for _, d := range browserDrafts {
		t.Run(d.alpn, func(t *testing.T) {
			refused := make(chan *moq.Session, 1)
			port, hash, _ := startServer(t, &moq.Config{
				Tracks: moq.TrackSourceFunc(func(ctx context.Context, s *moq.Session, req *moq.TrackRequest) (*moq.Track, error) {
					select {
					case refused <- s:
					default:
					}
					return nil, &moq.RequestError{Code: wire.RequestDoesNotExist, Reason: "no such track"}
				}),
			})
			peer := startBrowser(t, url.Values{
				"url":     {fmt.Sprintf("https://127.0.0.1:%d/interop", port)},
				"hash":    {hash},
				"alpn":    {d.alpn},
				"mode":    {"subscribe"},
				"ns":      {"tributary/interop/nobody"},
				"track":   {"data"},
				"groups":  {"1"},
				"objects": {"1"},
				"timeout": {"15000"},
			})
			res := peer.waitPhase("done", 20*time.Second)
			var s *moq.Session
			select {
			case s = <-refused:
			default:
				res.logTo(t)
				t.Fatal("the server saw no SUBSCRIBE")
			}
			// @moq/net surfaces the REQUEST_ERROR as the track's error, with
			// its code and reason decoded.
			want := fmt.Sprintf("code=%d reason=no such track", uint64(wire.RequestDoesNotExist))
			if res.OK || !strings.Contains(res.Error, want) || len(res.Received) != 0 {
				res.logTo(t)
				t.Fatalf("browser: ok=%v error=%q, %d objects; want an error with %q and none", res.OK, res.Error, len(res.Received), want)
			}
			// (How the server session ends when the browser then closes is
			// TestPeerGracefulCloseSeenAsNoError's business.)
			_ = s
		})
	}
}
