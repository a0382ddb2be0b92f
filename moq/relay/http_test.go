package relay

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/wire"
)

// httpsClient trusts r's development certificate by its hash.
func httpsClient(r *Relay) *http.Client {
	want := hexHash(r.CertHash())
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if hexHash(moq.CertHash(cs.PeerCertificates[0].Raw)) != want {
				return io.ErrUnexpectedEOF
			}
			return nil
		},
	}}}
}

func get(t *testing.T, r *Relay, path string) (*http.Response, string) {
	t.Helper()
	resp, err := httpsClient(r).Get("https://" + r.Addr().String() + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, string(b)
}

// TestHTTPSEndpoints: /.well-known/moq, /watch/..., /metrics and
// /status.json over HTTPS on the TCP side of the MoQ port.
func TestHTTPSEndpoints(t *testing.T) {
	r := startRelay(t, "127.0.0.1", func(c *Config) {
		c.LocalOrigins = []string{origin}
		c.AdvertiseRelays = []string{"https://cdn.example/"}
	})
	name := testName(origin)
	p := startPublisher(t, name, 10, 100, 5*time.Millisecond)
	r.Publish(p.track)
	r.SetBroadcastInfo(name.Namespace, BroadcastInfo{Title: `<script>alert("x")</script> & live`, Thumbnail: "https://img.example/a.jpg?x=1&y=\"2\""})

	resp, body := get(t, r, "/.well-known/moq")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("well-known: %d %v", resp.StatusCode, resp.Header)
	}
	var wk WellKnown
	if err := json.Unmarshal([]byte(body), &wk); err != nil {
		t.Fatalf("well-known JSON: %v\n%s", err, body)
	}
	addr := r.Addr().String()
	if len(wk.MoQT) != 1 || wk.MoQT[0] != "moqt://"+addr || len(wk.WebTransport) != 1 || wk.WebTransport[0] != "https://"+addr+"/" {
		t.Errorf("endpoints %v %v", wk.MoQT, wk.WebTransport)
	}
	if strings.Join(wk.ALPN, ",") != "moqt-19,moqt-18" || len(wk.CertHashes) != 1 || wk.CertHashes[0] != pin(r) || len(wk.Relays) != 1 {
		t.Errorf("well-known %+v", wk)
	}

	// A viewer, so the page says live with one viewer.
	s := dialRelay(t, r, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := s.Subscribe(ctx, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if _, err := readN(ctx, sub, 3); err != nil {
		t.Fatal(err)
	}
	resp, body = get(t, r, "/watch/origin.test/alice/live")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("watch page: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{
		`<meta property="og:title" content="&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; live">`,
		`<meta property="og:image" content="https://img.example/a.jpg?x=1&amp;y=&#34;2&#34;">`,
		"@alice@origin.test", "moqt://" + addr + "/origin.test/alice/live", "Live now, 1 watching",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("watch page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<script>") {
		t.Error("watch page contains an unescaped script tag")
	}
	if resp, _ := get(t, r, "/watch/"); resp.StatusCode != 404 {
		t.Errorf("empty watch path: %d", resp.StatusCode)
	}
	if _, body := get(t, r, "/watch/origin.test/nobody/live"); !strings.Contains(body, "Not live") {
		t.Errorf("watch page of a missing broadcast does not say it is not live")
	}

	_, body = get(t, r, "/metrics")
	for _, want := range []string{
		"# TYPE tributary_relay_local_bytes_total counter",
		`tributary_relay_broadcast_viewers{broadcast="origin.test/alice/live",source="local"} 1`,
		"tributary_relay_sessions 1",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	_, body = get(t, r, "/status.json")
	var st Stats
	if err := json.Unmarshal([]byte(body), &st); err != nil || len(st.Broadcasts) != 1 || st.Broadcasts[0].Viewers != 1 {
		t.Errorf("status.json: %v\n%s", err, body)
	}
}

// TestWellKnownFederation: a relay with no upstream configured finds the
// origin's endpoints in https://<origin>/.well-known/moq.
func TestWellKnownFederation(t *testing.T) {
	o := startRelay(t, "127.0.0.1", nil)
	originHost := o.Addr().String() // the namespace's first field: host:port
	name := wire.FullTrackName{Namespace: wire.NewNamespace(originHost, "alice", "live"), Name: []byte("video")}
	p := startPublisher(t, name, 10, 100, 5*time.Millisecond)
	o.Publish(p.track)
	b := startRelay(t, "127.0.0.2", func(c *Config) { c.UpstreamCertHashes = []string{pin(o)} })
	s := dialRelay(t, b, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := s.Subscribe(ctx, name, &moq.SubscribeOptions{JoinGroup: true})
	if err != nil {
		t.Fatalf("subscribe through the well-known document: %v", err)
	}
	defer sub.Close()
	if _, err := readN(ctx, sub, 5); err != nil {
		t.Fatal(err)
	}
	if st := b.Stats(); len(st.Broadcasts) != 1 || st.Broadcasts[0].Upstream != "moqt://"+originHost {
		t.Errorf("broadcasts %+v", st.Broadcasts)
	}
	// Without AllowPrivateUpstreams the default client refuses loopback.
	c := startRelay(t, "127.0.0.3", func(c *Config) { c.AllowPrivateUpstreams = false })
	s2 := dialRelay(t, c, nil)
	_, err = s2.Subscribe(ctx, name, nil)
	if code, ok := requestCode(err); !ok || code != wire.RequestDoesNotExist || !strings.Contains(err.Error(), "internal address") {
		t.Errorf("loopback origin without AllowPrivateUpstreams: %v", err)
	}
}

// TestSubscribeNamespace: SUBSCRIBE_NAMESPACE lists what is published on
// the relay under the prefix, then reports namespaces coming and going.
func TestSubscribeNamespace(t *testing.T) {
	r := startRelay(t, "127.0.0.1", func(c *Config) { c.OpenPublish = true; c.LocalOrigins = []string{origin} })
	bob := wire.FullTrackName{Namespace: wire.NewNamespace(origin, "bob", "live"), Name: []byte("video")}
	p := startPublisher(t, bob, 10, 100, 5*time.Millisecond)
	unpublish := r.Publish(p.track)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	viewer := dialRelay(t, r, nil)
	nsSub, err := viewer.SubscribeNamespace(ctx, wire.NewNamespace(origin), nil)
	if err != nil {
		t.Fatalf("SUBSCRIBE_NAMESPACE: %v", err)
	}
	defer nsSub.Close()
	next := func() moq.NamespaceEvent {
		t.Helper()
		ev, err := nsSub.Next(ctx)
		if err != nil {
			t.Fatalf("next namespace event: %v", err)
		}
		return ev
	}
	if ev := next(); !ev.Active || namespacePath(ev.Namespace) != origin+"/bob/live" {
		t.Errorf("first event %v %s, want bob's broadcast active", ev.Active, namespacePath(ev.Namespace))
	}
	pub := dialRelay(t, r, nil)
	ann, err := pub.PublishNamespace(ctx, wire.NewNamespace(origin, "alice", "live"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(); !ev.Active || namespacePath(ev.Namespace) != origin+"/alice/live" {
		t.Errorf("event %v %s, want alice's broadcast active", ev.Active, namespacePath(ev.Namespace))
	}
	ann.Close()
	if ev := next(); ev.Active || namespacePath(ev.Namespace) != origin+"/alice/live" {
		t.Errorf("event %v %s, want alice's broadcast gone", ev.Active, namespacePath(ev.Namespace))
	}
	unpublish()
	if ev := next(); ev.Active || namespacePath(ev.Namespace) != origin+"/bob/live" {
		t.Errorf("event %v %s, want bob's broadcast gone", ev.Active, namespacePath(ev.Namespace))
	}
}
