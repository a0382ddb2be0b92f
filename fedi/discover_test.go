package fedi

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"

	"github.com/tributary-live/tributary/fedi/livepost"
)

func loadStatus(t *testing.T, name string, replace ...string) *mastodon.Status {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(replace...).Replace(string(b))
	var st mastodon.Status
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &st
}

func TestClassifyRecordedStatuses(t *testing.T) {
	const local = "mastodon.example"
	live := loadStatus(t, "status_gotosocial_live.json")
	cd, ok := classify(live, "gts.example.org", "gts.example.org")
	if !ok || cd.ended || cd.fetchAP || cd.stream.Source != SourceTributary || cd.stream.Title != "Friday night synths" ||
		cd.stream.Account != "alice@gts.example.org" || cd.stream.WatchURL != "https://relay.example.net/watch/alice/synths" ||
		cd.stream.Broadcast != "alice/synths" || cd.stream.PostURL == "" || cd.stream.Avatar == "" {
		t.Fatalf("live: %+v %v", cd, ok)
	}
	ended := loadStatus(t, "status_gotosocial_ended.json")
	if cd, ok := classify(ended, "gts.example.org", "gts.example.org"); !ok || !cd.ended {
		t.Fatalf("ended: %+v %v", cd, ok)
	}
	// Seen from another server, a Tributary post may carry FEP-e232 links.
	if cd, ok := classify(live, local, local); !ok || !cd.fetchAP {
		t.Fatalf("remote live: %+v", cd)
	}
	// A reblog is found through its original.
	rb := &mastodon.Status{ID: "500", Reblog: live, Account: mastodon.Account{Acct: "carol"}}
	if cd, ok := classify(rb, "gts.example.org", "gts.example.org"); !ok || cd.outerID != "500" || cd.innerID != string(live.ID) {
		t.Fatalf("reblog: %+v", cd)
	}

	pt := loadStatus(t, "status_mastodon_peertube_live.json")
	cd, ok = classify(pt, local, local)
	if !ok || cd.stream.Source != SourcePeerTube || !cd.fetchAP || cd.stream.Account != "chocobozzz@peertube.example.com" ||
		cd.stream.Title != "Friday night live coding: a MoQ relay in Go" || !strings.HasSuffix(cd.stream.Thumbnail, "/8f2b.jpg") {
		t.Fatalf("peertube: %+v %v", cd, ok)
	}

	oc := loadStatus(t, "status_mastodon_owncast.json")
	cd, ok = classify(oc, local, local)
	if !ok || cd.stream.Source != SourceOwncast || cd.stream.Title != "Late night chiptune jam" || cd.owncast != "https://owncast.example.net/" ||
		cd.stream.Thumbnail != "https://owncast.example.net/thumbnail.jpg" || cd.stream.DisplayName != "Chip Jams" {
		t.Fatalf("owncast: %+v %v", cd, ok)
	}

	fep := loadStatus(t, "status_mastodon_fep_e232.json")
	cd, ok = classify(fep, local, local)
	if !ok || cd.stream.Source != SourceFEPe232 || !cd.fetchAP || cd.stream.DisplayName != "Dana evil" {
		t.Fatalf("fep-e232: %+v %v", cd, ok)
	}

	plain := loadStatus(t, "status_mastodon_plain.json")
	if cd, ok := classify(plain, local, local); ok {
		t.Fatalf("plain post classified: %+v", cd)
	}
	if _, ok := classify(nil, local, local); ok {
		t.Fatal("nil status classified")
	}
}

// remoteFixtures serves the recorded ActivityPub and Owncast documents as
// if from their origin servers, all on one TLS test server.
type remoteFixtures struct {
	srv  *httptest.Server
	host string
	pool *x509.CertPool
	docs map[string]string // path -> fixture file
	wk   string
}

func newRemoteFixtures(t *testing.T) *remoteFixtures {
	r := &remoteFixtures{docs: map[string]string{}}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == livepost.WellKnownPath && r.wk != "" {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(r.wk))
			return
		}
		name, ok := r.docs[req.URL.Path]
		if !ok {
			http.NotFound(w, req)
			return
		}
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		if strings.Contains(req.Header.Get("Accept"), "activity+json") {
			w.Header().Set("Content-Type", "application/activity+json")
		}
		w.Write([]byte(strings.NewReplacer("peertube.example.com", r.host, "social.example.org", r.host, "relay.example.org:4443", r.host).Replace(string(b))))
	}))
	t.Cleanup(r.srv.Close)
	r.host = r.srv.Listener.Addr().String()
	r.pool = x509.NewCertPool()
	r.pool.AddCert(r.srv.Certificate())
	return r
}

func TestResolve(t *testing.T) {
	rf := newRemoteFixtures(t)
	ctx := context.Background()
	ended := map[string]bool{}
	c, err := New(Config{Dir: t.TempDir(), Secrets: &FileStore{Path: filepath.Join(t.TempDir(), "s.json")}, AllowLoopbackHTTP: true, RootCAs: rf.pool,
		Liveness: LivenessFunc(func(ctx context.Context, s LiveStream) (Liveness, error) {
			if ended[s.Broadcast] {
				return LivenessEnded, nil
			}
			return LivenessLive, nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	const local = "mastodon.example"

	// PeerTube: live, waiting, ended, not a live video.
	for file, want := range map[string]State{
		"peertube_video_live.json": StateLive, "peertube_video_waiting.json": StateUpcoming,
		"peertube_video_ended.json": StateEnded, "peertube_video_vod.json": StateEnded,
	} {
		rf.docs["/videos/watch/9c9de5e8-0a1e-484a-b099-e80766180a6d"] = file
		st := loadStatus(t, "status_mastodon_peertube_live.json", "peertube.example.com", rf.host)
		cd, ok := classify(st, local, local)
		if !ok {
			t.Fatal("not classified")
		}
		s := c.resolve(ctx, cd)
		if s.State != want {
			t.Errorf("%s: state %s, want %s", file, s.State, want)
		}
		if file == "peertube_video_live.json" && (s.Title != "Friday night live coding: a MoQ relay in Go" || !strings.HasSuffix(s.Thumbnail, "/lazy-static/previews/0a7e1c55-1b2d-4f3e-8c9d-4e5f6a7b8c9d.jpg") ||
			s.WatchURL != "https://"+rf.host+"/videos/watch/9c9de5e8-0a1e-484a-b099-e80766180a6d" || len(s.RelayURLs) != 0) {
			t.Errorf("peertube stream %+v", s)
		}
	}

	// FEP-e232: the note's MoQ links become the relay URLs.
	rf.docs["/users/dana/statuses/01JCZ3A4M0Q8V6X3F7WZ1T2B9K"] = "note_fep_e232_moq.json"
	cd, _ := classify(loadStatus(t, "status_mastodon_fep_e232.json", "social.example.org", rf.host), local, local)
	s := c.resolve(ctx, cd)
	if s.State != StateLive || len(s.RelayURLs) != 2 || s.RelayURLs[0] != "moqt://"+rf.host+"/dana/patching" || s.RelayURLs[1] != "https://"+rf.host+"/dana/patching" {
		t.Errorf("fep-e232: %+v", s)
	}

	// Owncast: /api/status online or offline.
	for file, want := range map[string]State{"owncast_api_status_online.json": StateLive, "owncast_api_status_offline.json": StateEnded} {
		rf.docs["/api/status"] = file
		cd, _ := classify(loadStatus(t, "status_mastodon_owncast.json", "owncast.example.net", rf.host), local, local)
		s := c.resolve(ctx, cd)
		if s.State != want {
			t.Errorf("%s: %s", file, s.State)
		}
		if want == StateLive && !s.StartedAt.Equal(time.Date(2026, 11, 20, 21, 15, 2, 413e6, time.UTC)) {
			t.Errorf("owncast started at %s", s.StartedAt)
		}
	}

	// Tributary: relay confirmed through /.well-known/moq, then the checker.
	rf.wk = `{"moqt":["moqt://` + rf.host + `"],"webtransport":["https://` + rf.host + `/moq/"],"alpn":["moqt-18"]}`
	live := loadStatus(t, "status_gotosocial_live.json", "relay.example.net", rf.host)
	cd, _ = classify(live, "gts.example.org", "gts.example.org")
	s = c.resolve(ctx, cd)
	if s.State != StateLive || len(s.RelayURLs) != 2 || s.RelayURLs[0] != "moqt://"+rf.host+"/alice/synths" || s.RelayURLs[1] != "https://"+rf.host+"/moq/alice/synths" || s.Relay == nil {
		t.Errorf("tributary: %+v", s)
	}
	ended["alice/synths"] = true
	if s := c.resolve(ctx, cd); s.State != StateEnded {
		t.Errorf("checker said ended: %s", s.State)
	}
	// A relay that does not answer leaves the stream unconfirmed, not dropped.
	live = loadStatus(t, "status_gotosocial_live.json", "relay.example.net", "127.0.0.1:1")
	cd, _ = classify(live, "gts.example.org", "gts.example.org")
	if s := c.resolve(ctx, cd); s.State != StateUnconfirmed || len(s.RelayURLs) != 0 {
		t.Errorf("unreachable relay: %+v", s)
	}
}

// TestResolveGuard checks that post-named URLs pointing at loopback are not
// fetched when loopback is not explicitly allowed.
func TestResolveGuard(t *testing.T) {
	rf := newRemoteFixtures(t)
	rf.wk = `{"moqt":["moqt://` + rf.host + `"]}`
	c, err := New(Config{Dir: t.TempDir(), Secrets: &FileStore{Path: filepath.Join(t.TempDir(), "s.json")}, RootCAs: rf.pool})
	if err != nil {
		t.Fatal(err)
	}
	relay := strings.Replace(rf.host, "127.0.0.1", "localhost", 1)
	_, err = c.RelayInfo(context.Background(), relay)
	if KindOf(err) != KindBlocked || !strings.Contains(UserMessage(err), "private network address") {
		t.Fatalf("guard: %v", err)
	}
}

func TestParseStreamMessage(t *testing.T) {
	live, _ := os.ReadFile(filepath.Join("testdata", "status_gotosocial_live.json"))
	payload, _ := json.Marshal(string(live))
	ev, ok, err := parseStreamMessage([]byte(`{"stream":["user"],"event":"update","payload":` + string(payload) + `}`))
	if err != nil || !ok || ev.kind != "update" || ev.status == nil || ev.status.ID != "01M84ZKDMYQTBPVF59QD5916XN" {
		t.Fatalf("update: %+v %v %v", ev, ok, err)
	}
	for msg, want := range map[string]string{
		`{"event":"delete","payload":"01M84ZKDMYQTBPVF59QD5916XN"}`: "01M84ZKDMYQTBPVF59QD5916XN",
		`{"event":"delete","payload":113526001842277310}`:           "113526001842277310",
	} {
		ev, ok, err := parseStreamMessage([]byte(msg))
		if err != nil || !ok || ev.id != want {
			t.Errorf("%s: %+v %v", msg, ev, err)
		}
	}
	for _, bad := range []string{`{"event":"update","payload":{"id":1}}`, `{"event":"update","payload":"{"}`, `{"event":"delete","payload":""}`, `[`} {
		if _, ok, err := parseStreamMessage([]byte(bad)); err == nil || ok {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, ok, err := parseStreamMessage([]byte(`{"event":"notification","payload":"{}"}`)); ok || err != nil {
		t.Error("notification not ignored")
	}
}
