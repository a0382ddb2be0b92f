package interop_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/interop"
	"github.com/tributary-live/tributary/moq/relay"
)

// The relay (moq/relay, `tributary relay`) against the interop client and
// against @moq/net in Chromium. Written by the relay's author; helpers
// prefixed tribRelay to stay clear of the interop package's own.

// tribRelayStart runs the relay on ip with a development certificate and
// open publishing (the interop cases publish without tokens).
func tribRelayStart(t *testing.T, ip string, mod func(*relay.Config)) *relay.Relay {
	t.Helper()
	cfg := relay.Config{Listen: ip + ":0", DevCert: true, OpenPublish: true, AllowPrivateUpstreams: true,
		Logger: slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil))}
	if mod != nil {
		mod(&cfg)
	}
	r, err := relay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestTributaryRelayInteropCases runs every interop case against the relay,
// over native QUIC and WebTransport, for each draft.
func TestTributaryRelayInteropCases(t *testing.T) {
	r := tribRelayStart(t, "127.0.0.1", nil)
	hash := fmt.Sprintf("%x", r.CertHash())
	for _, scheme := range []string{"moqt", "https"} {
		for _, draft := range []string{"18", "19"} {
			t.Run(scheme+"/draft-"+draft, func(t *testing.T) {
				var out, errb bytes.Buffer
				code := interop.Run(context.Background(), interop.Options{
					Relay:    fmt.Sprintf("%s://%s/interop", scheme, r.Addr()),
					CertHash: hash, Draft: draft, Stdout: &out, Stderr: &errb,
				})
				if code != interop.ExitPass {
					t.Errorf("exit code %d, want %d; stderr:\n%s", code, interop.ExitPass, errb.String())
				}
				checkTAP(t, out.String())
			})
		}
	}
}

// TestTributaryRelayBrowserChain: @moq/net in one Chromium publishes through
// relay A; relay B pulls the broadcast from A; @moq/net in a second
// Chromium subscribes through B and receives every object byte-exact.
func TestTributaryRelayBrowserChain(t *testing.T) {
	for _, d := range browserDrafts {
		t.Run(d.alpn, func(t *testing.T) {
			const groups, objects, seed = 3, 5, 777
			a := tribRelayStart(t, "127.0.0.2", func(c *relay.Config) { c.Name = "relay-a"; c.LocalOrigins = []string{"relay.test"} })
			b := tribRelayStart(t, "127.0.0.3", func(c *relay.Config) {
				c.Name = "relay-b"
				c.Upstreams = map[string][]string{"relay.test": {a.URL()}}
				c.UpstreamCertHashes = []string{fmt.Sprintf("%x", a.CertHash())}
			})
			common := func(r *relay.Relay, kv ...string) url.Values {
				v := url.Values{
					"url": {"https://" + r.Addr().String() + "/interop"}, "hash": {fmt.Sprintf("%x", r.CertHash())},
					"alpn": {d.alpn}, "ns": {"relay.test/interop/browser"}, "track": {"data"},
					"groups": {fmt.Sprint(groups)}, "objects": {fmt.Sprint(objects)}, "timeout": {"25000"},
				}
				for i := 0; i+1 < len(kv); i += 2 {
					v.Set(kv[i], kv[i+1])
				}
				return v
			}
			// goSizes: no zero-length objects towards a @moq/net
			// subscriber (see TestBrowserToBrowserThroughServer).
			pub := startBrowser(t, common(a, "mode", "publish", "gate", "1", "sizes", goSizes, "seed", fmt.Sprint(seed)))
			deadline := time.Now().Add(20 * time.Second)
			for !slices.Contains(a.Stats().Announced, "relay.test/interop/browser") {
				if time.Now().After(deadline) {
					t.Fatalf("relay A saw no PUBLISH_NAMESPACE from the browser within 20s; chromium:\n%s", pub.output())
				}
				select {
				case res := <-pub.results:
					res.logTo(t)
					t.Fatalf("publisher ended before announcing: %s", res.Error)
				case <-time.After(20 * time.Millisecond):
				}
			}
			sub := startBrowser(t, common(b, "mode", "subscribe"))
			if res := pub.waitPhase("subscribed", 20*time.Second); res.Phase != "subscribed" {
				res.logTo(t)
				t.Fatalf("publisher ended before relay A subscribed: %s", res.Error)
			}
			if res := sub.waitPhase("subscribed", 20*time.Second); res.Phase != "subscribed" {
				res.logTo(t)
				t.Fatalf("subscriber ended before SUBSCRIBE_OK from relay B: %s", res.Error)
			}
			pub.open()
			written := pub.waitPhase("written", 20*time.Second)
			if !written.OK {
				written.logTo(t)
				t.Fatalf("publisher failed: %s", written.Error)
			}
			res := sub.waitPhase("done", 25*time.Second)
			if !res.OK {
				res.logTo(t)
				t.Fatalf("subscriber failed: %s", res.Error)
			}
			got := make([]moq.Object, 0, len(res.Received))
			for _, o := range res.Received {
				got = append(got, moq.Object{Group: o.Group, ID: o.Object, Payload: o.Data})
			}
			if !checkObjects(t, got, written.Sent, seed) {
				res.logTo(t)
			}
			for _, r := range []*relay.Relay{a, b} {
				st := r.Stats()
				if len(st.Broadcasts) != 1 || st.Broadcasts[0].Tracks[0].UpstreamSubscriptions != 1 {
					t.Errorf("%s: broadcasts %+v", r.Name(), st.Broadcasts)
				}
			}
		})
	}
}
