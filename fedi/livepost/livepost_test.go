package livepost

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHTMLToText(t *testing.T) {
	for _, tc := range []struct {
		name, in, text string
		links          []string
	}{
		{"mastodon link with invisible spans",
			`<p>Watch <a href="https://relay.example/watch/a/b" rel="nofollow noopener noreferrer" target="_blank"><span class="invisible">https://</span><span class="ellipsis">relay.example/watch/a</span><span class="invisible">/b</span></a> now</p>`,
			"Watch https://relay.example/watch/a/b now", []string{"https://relay.example/watch/a/b"}},
		{"paragraphs and breaks", `<p>one<br>two</p><p>three</p>`, "one\ntwo\n\nthree", nil},
		{"script and style dropped", `<p>hi<script>alert("x")</script><style>p{}</style> there</p>`, "hi there", nil},
		{"entities decoded, no markup out", `<p>&lt;b&gt;bold&lt;/b&gt; &amp; more</p>`, "<b>bold</b> & more", nil},
		{"bidi override and controls removed", "<p>abc\u202edef\u0007ghi</p>", "abcdefghi", nil},
		{"unclosed tags", `<p>open <a href="https://x.example/">link`, "open link", []string{"https://x.example/"}},
		{"hashtag", `<a href="https://s.example/tags/live" class="mention hashtag" rel="tag">#<span>live</span></a>`, "#live", []string{"https://s.example/tags/live"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := HTMLToText(tc.in)
			if c.Text != tc.text {
				t.Errorf("text %q, want %q", c.Text, tc.text)
			}
			var hrefs []string
			for _, l := range c.Links {
				hrefs = append(hrefs, l.Href)
			}
			if !reflect.DeepEqual(hrefs, tc.links) {
				t.Errorf("links %q, want %q", hrefs, tc.links)
			}
		})
	}
}

func TestHTMLToTextBounds(t *testing.T) {
	big := strings.Repeat("<p><a href=\"https://x.example/\">word</a></p>", 10000)
	c := HTMLToText(big)
	if n := len([]rune(c.Text)); n > MaxTextRunes {
		t.Fatalf("text has %d runes", n)
	}
	if len(c.Links) > MaxLinks {
		t.Fatalf("%d links", len(c.Links))
	}
}

func TestSanitize(t *testing.T) {
	if got := Sanitize("  a \n\t b\u202e c  ", 100); got != "a b c" {
		t.Fatalf("%q", got)
	}
	if got := Sanitize(strings.Repeat("x", 300), 10); got != "xxxxxxxxx…" {
		t.Fatalf("%q", got)
	}
	if got := Sanitize("🔴 ok", 10); got != "🔴 ok" {
		t.Fatalf("%q", got)
	}
}

func TestAnnouncementRoundTrip(t *testing.T) {
	w, err := BuildWatchURL("relay.example.net:4443", "alice/my show")
	if err != nil {
		t.Fatal(err)
	}
	if w != "https://relay.example.net:4443/watch/alice/my%20show" {
		t.Fatalf("watch URL %q", w)
	}
	text := FormatAnnouncement("Friday\nnight  synths", w)
	if text != "🔴 LIVE: Friday night synths https://relay.example.net:4443/watch/alice/my%20show #live #moqlive" {
		t.Fatalf("text %q", text)
	}
	a, ok := ParseAnnouncement(Content{Text: text}, nil)
	if !ok || a.Title != "Friday night synths" || a.Relay != "relay.example.net:4443" || a.Broadcast != "alice/my show" || a.Ended || a.WatchURL != w {
		t.Fatalf("parsed %+v %v", a, ok)
	}
	// A title may itself contain a '#'.
	a, ok = ParseAnnouncement(Content{Text: FormatAnnouncement("Episode #3", w)}, nil)
	if !ok || a.Title != "Episode #3" {
		t.Fatalf("title with #: %+v %v", a, ok)
	}
	// Link on the next line (servers that reflow): the title stops at the tags.
	a, ok = ParseAnnouncement(Content{Text: "🔴 LIVE: Jam #live #moqlive\n" + w}, nil)
	if !ok || a.Title != "Jam" {
		t.Fatalf("link on next line: %+v %v", a, ok)
	}
	a, ok = ParseAnnouncement(Content{Text: FormatEnded("Friday night synths", w)}, nil)
	if !ok || !a.Ended || a.Title != "Friday night synths" {
		t.Fatalf("ended %+v %v", a, ok)
	}
	for _, bad := range [][2]string{{"", "a"}, {"relay", ""}, {"relay/x", "a"}, {"relay", "a/../b"}, {"u@relay", "a"}} {
		if _, err := BuildWatchURL(bad[0], bad[1]); err == nil {
			t.Errorf("BuildWatchURL(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

func TestParseAnnouncementRejects(t *testing.T) {
	for _, text := range []string{
		"🔴 LIVE: no tag https://relay.example/watch/a",
		"🔴 LIVE: http only http://relay.example/watch/a #moqlive",
		"🔴 LIVE: no watch path https://relay.example/a #moqlive",
		"I am LIVE: not a marker https://relay.example/watch/a #moqlive",
		"🔴 LIVE: tag is longer https://relay.example/watch/a #moqlivestream",
		"🔴 LIVE: userinfo https://u@relay.example/watch/a #moqlive",
	} {
		if a, ok := ParseAnnouncement(Content{Text: text}, nil); ok {
			t.Errorf("%q parsed as %+v", text, a)
		}
	}
}

func TestParseWatchURL(t *testing.T) {
	for _, bad := range []string{"", "https://r/watch/", "https://r:99999/watch/a", "https://r/watch/a//b", "ftp://r/watch/a", "https:///watch/a"} {
		if _, _, err := ParseWatchURL(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	r, b, err := ParseWatchURL("https://[::1]:8443/watch/x/y")
	if err != nil || r != "[::1]:8443" || b != "x/y" {
		t.Fatalf("%q %q %v", r, b, err)
	}
}

func TestParseOwncast(t *testing.T) {
	html := `<p>I've gone live!</p><p>Late night chiptune jam</p><p><a href="https://directory.owncast.online/tags/owncast" class="mention hashtag" rel="tag">#<span>owncast</span></a></p><a href="https://owncast.example.net" rel="nofollow noopener noreferrer">owncast.example.net</a>`
	p, ok := ParseOwncast(HTMLToText(html), []string{"owncast"}, "owncast.example.net")
	if !ok || p.Title != "Late night chiptune jam" || p.WatchURL != "https://owncast.example.net/" {
		t.Fatalf("%+v %v", p, ok)
	}
	// A link to another host is not the stream.
	if _, ok := ParseOwncast(HTMLToText(html), []string{"owncast"}, "evil.example"); ok {
		t.Fatal("accepted a post whose link is not the author's host")
	}
	if _, ok := ParseOwncast(HTMLToText(`<p>hello <a href="https://owncast.example.net">x</a></p>`), nil, "owncast.example.net"); ok {
		t.Fatal("accepted a post that is not a go-live post")
	}
}

func TestParseOwncastStatus(t *testing.T) {
	s, err := ParseOwncastStatus(fixture(t, "owncast_api_status_online.json"))
	if err != nil || !s.Online || s.StreamTitle != "Late night chiptune jam" || s.LastConnectTime == nil ||
		!s.LastConnectTime.Equal(time.Date(2026, 11, 20, 21, 15, 2, 413e6, time.UTC)) {
		t.Fatalf("%+v %v", s, err)
	}
	s, err = ParseOwncastStatus(fixture(t, "owncast_api_status_offline.json"))
	if err != nil || s.Online {
		t.Fatalf("%+v %v", s, err)
	}
	if _, err := ParseOwncastStatus([]byte(`{"online":"yes"}`)); err == nil {
		t.Fatal("bad type accepted")
	}
}

func TestParseWellKnown(t *testing.T) {
	w, err := ParseWellKnown(fixture(t, "wellknown_moq.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := &WellKnown{
		MoQT:         []string{"moqt://relay.example.net:4443", "moqt://relay-2.example.net:4443"},
		WebTransport: []string{"https://relay.example.net:4443/"},
		ALPN:         []string{"moqt-18", "moqt-19"},
		Relays:       []string{"https://relay-eu.example.net/"},
		CertHashes:   []string{"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
	}
	if !reflect.DeepEqual(w, want) {
		t.Fatalf("got %+v\nwant %+v", w, want)
	}
	for _, bad := range []string{`{}`, `{"moqt":["https://x/"]}`, `[`, `{"webtransport":["http://x/"]}`} {
		if _, err := ParseWellKnown([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestParseObjectPeerTube(t *testing.T) {
	o, err := ParseObject(fixture(t, "peertube_video_live.json"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Type != "Video" || !o.IsLiveBroadcast || o.PeerTubeState != PeerTubePublished ||
		o.Name != "Friday night live coding: a MoQ relay in Go" ||
		o.HTMLURL != "https://peertube.example.com/videos/watch/9c9de5e8-0a1e-484a-b099-e80766180a6d" ||
		o.Thumbnail != "https://peertube.example.com/lazy-static/previews/0a7e1c55-1b2d-4f3e-8c9d-4e5f6a7b8c9d.jpg" ||
		o.AttributedTo != "https://peertube.example.com/accounts/chocobozzz" ||
		!o.Published.Equal(time.Date(2026, 11, 20, 19, 0, 0, 512e6, time.UTC)) || len(o.MoQ) != 0 {
		t.Fatalf("%+v", o)
	}
	for name, state := range map[string]int{"peertube_video_waiting.json": PeerTubeWaitingForLive, "peertube_video_ended.json": PeerTubeLiveEnded} {
		o, err := ParseObject(fixture(t, name))
		if err != nil || o.PeerTubeState != state || !o.IsLiveBroadcast {
			t.Errorf("%s: %+v %v", name, o, err)
		}
	}
	o, err = ParseObject(fixture(t, "peertube_video_vod.json"))
	if err != nil || o.IsLiveBroadcast {
		t.Fatalf("vod: %+v %v", o, err)
	}
	o, err = ParseObject(fixture(t, "peertube_video_live_moq.json"))
	if err != nil || len(o.MoQ) != 1 || o.MoQ[0].Href != "moqt://relay.peertube.example.com:4443/chocobozzz/live" {
		t.Fatalf("moq: %+v %v", o, err)
	}
}

func TestParseObjectFEPe232(t *testing.T) {
	o, err := ParseObject(fixture(t, "note_fep_e232_moq.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []MoQLink{
		{Href: "moqt://relay.example.org:4443/dana/patching", MediaType: "application/moq", Name: "MoQ (QUIC)"},
		{Href: "https://relay.example.org:4443/dana/patching", MediaType: "application/moq", Name: "MoQ (WebTransport)"},
	}
	if !reflect.DeepEqual(o.MoQ, want) || o.Type != "Note" {
		t.Fatalf("%+v", o)
	}
	for _, bad := range []string{``, `null`, `[]`, `"x"`, `{"type":"Note","tag":{"type":"Link","href":"moqt://u@h/x"}}`} {
		o, err := ParseObject([]byte(bad))
		if err == nil && len(o.MoQ) != 0 {
			t.Errorf("%s: %+v", bad, o)
		}
	}
}

func TestIsMoQMediaType(t *testing.T) {
	for mt, want := range map[string]bool{
		"application/moq": true, "application/vnd.moq": true, "application/x-moqt+json": true, "Application/MOQ": true,
		"text/html": false, "application/x-mpegURL": false, "application/moqueue": false, "": false, "moq": false,
	} {
		if got := IsMoQMediaType(mt); got != want {
			t.Errorf("%q: %v", mt, got)
		}
	}
}
