package livepost

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// addFixtures seeds a fuzz target with the recorded documents.
func addFixtures(f *testing.F, names ...string) {
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("..", "testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzHTMLToText checks the post HTML parser and the post-content parsers
// built on it: no panic, bounded output, no markup or control characters
// in the text, and round-trip of well-formed announcements.
func FuzzHTMLToText(f *testing.F) {
	f.Add(`<p>🔴 LIVE: Friday night synths <a href="https://relay.example.net/watch/alice/synths" rel="nofollow noreferrer noopener" target="_blank">https://relay.example.net/watch/alice/synths</a> <a href="https://gts.example.org/tags/live" class="mention hashtag" rel="tag">#<span>live</span></a> <a href="https://gts.example.org/tags/moqlive" class="mention hashtag" rel="tag">#<span>moqlive</span></a></p>`)
	f.Add(`<p>I've gone live!</p><p>Late night</p><a href="https://owncast.example.net">owncast.example.net</a> #owncast`)
	f.Add("<p>a<br>b\u202e<script>x</script></p>")
	f.Add(`<a href="`)
	f.Fuzz(func(t *testing.T, s string) {
		c := HTMLToText(s)
		if utf8.RuneCountInString(c.Text) > MaxTextRunes {
			t.Fatalf("text too long: %d runes", utf8.RuneCountInString(c.Text))
		}
		if len(c.Links) > MaxLinks {
			t.Fatalf("%d links", len(c.Links))
		}
		for _, r := range c.Text {
			if r != '\n' && !Printable(r) {
				t.Fatalf("unprintable %U in text", r)
			}
		}
		for _, l := range c.Links {
			if len(l.Href) > MaxURLBytes {
				t.Fatal("oversized href kept")
			}
		}
		if a, ok := ParseAnnouncement(c, nil); ok {
			if _, _, err := ParseWatchURL(a.WatchURL); err != nil {
				t.Fatalf("announcement with bad watch URL %q: %v", a.WatchURL, err)
			}
			if utf8.RuneCountInString(a.Title) > MaxTitleRunes {
				t.Fatal("title too long")
			}
			if strings.ContainsAny(a.Title, "\n\r") {
				t.Fatal("multi-line title")
			}
		}
		if p, ok := ParseOwncast(c, []string{"owncast"}, "owncast.example.net"); ok && !strings.HasPrefix(p.WatchURL, "https://owncast.example.net") {
			t.Fatalf("owncast watch URL %q", p.WatchURL)
		}
	})
}

// FuzzParseWatchURL checks watch-link parsing against building.
func FuzzParseWatchURL(f *testing.F) {
	f.Add("https://relay.example.net:4443/watch/alice/show")
	f.Add("https://[::1]/watch/a%2Fb")
	f.Add("https://r/watch/../x")
	f.Fuzz(func(t *testing.T, s string) {
		relay, b, err := ParseWatchURL(s)
		if err != nil {
			return
		}
		if relay == "" || b == "" {
			t.Fatalf("empty relay or broadcast from %q", s)
		}
		w, err := BuildWatchURL(relay, b)
		if err != nil {
			return // paths with escaped slashes cannot be rebuilt
		}
		r2, b2, err := ParseWatchURL(w)
		if err != nil || r2 != relay || b2 != b {
			t.Fatalf("%q -> %q %q -> %q -> %q %q %v", s, relay, b, w, r2, b2, err)
		}
	})
}

// FuzzParseObject checks the ActivityPub object parser (PeerTube Video,
// FEP-e232 links).
func FuzzParseObject(f *testing.F) {
	addFixtures(f, "peertube_video_live.json", "peertube_video_live_moq.json", "note_fep_e232_moq.json")
	f.Add([]byte(`{"type":"Note","tag":[{"type":"Link","mediaType":"application/moq","href":"moqt://h:1/x"}],"icon":"https://i/x.png"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := ParseObject(b)
		if err != nil {
			return
		}
		for _, m := range o.MoQ {
			if _, ok := EndpointURL(m.Href, "moqt", "https"); !ok {
				t.Fatalf("bad MoQ link %q", m.Href)
			}
		}
		if utf8.RuneCountInString(o.Name) > MaxTitleRunes {
			t.Fatal("name too long")
		}
	})
}

// FuzzParseWellKnown checks the /.well-known/moq and Owncast status parsers.
func FuzzParseWellKnown(f *testing.F) {
	addFixtures(f, "wellknown_moq.json", "owncast_api_status_online.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		if w, err := ParseWellKnown(b); err == nil {
			if len(w.MoQT)+len(w.WebTransport) == 0 {
				t.Fatal("document without endpoints accepted")
			}
			for _, l := range [][]string{w.MoQT, w.WebTransport, w.ALPN, w.Relays, w.CertHashes} {
				if len(l) > MaxWellKnownEntries {
					t.Fatal("too many entries")
				}
			}
			for _, h := range w.CertHashes {
				if len(h) != 64 {
					t.Fatalf("hash %q", h)
				}
			}
		}
		_, _ = ParseOwncastStatus(b)
	})
}

// FuzzStreamMessage checks the streaming API message parser.
func FuzzStreamMessage(f *testing.F) {
	f.Add([]byte(`{"stream":["user"],"event":"update","payload":"{\"id\":\"1\",\"content\":\"<p>🔴 LIVE: x https://r/watch/a #moqlive</p>\"}"}`))
	f.Add([]byte(`{"event":"status.update","payload":"{\"id\":\"1\",\"reblog\":{\"id\":\"2\"}}"}`))
	f.Add([]byte(`{"event":"delete","payload":12}`))
	f.Add([]byte(`{"event":"delete","payload":"01M84ZKDMYQTBPVF59QD5916XN"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, ok, err := ParseStreamMessage(b)
		if err != nil || !ok {
			return
		}
		switch ev.Event {
		case "delete":
			if ev.ID == "" || len(ev.ID) > 128 {
				t.Fatalf("bad delete id %q", ev.ID)
			}
		case "update", "status.update":
			if len(ev.Status) == 0 || len(ev.Status) > len(b) {
				t.Fatalf("status of %d bytes from a %d-byte message", len(ev.Status), len(b))
			}
		default:
			t.Fatalf("event %q", ev.Event)
		}
	})
}

// BenchmarkHTMLToText measures turning a recorded announcement's HTML into
// text and links and finding the announcement in it.
func BenchmarkHTMLToText(b *testing.B) {
	const post = `<p>🔴 LIVE: Friday night synths <a href="https://relay.example.net/watch/alice/synths" rel="nofollow noreferrer noopener" target="_blank">https://relay.example.net/watch/alice/synths</a> <a href="https://gts.example.org/tags/live" class="mention hashtag" rel="tag nofollow noreferrer noopener" target="_blank">#<span>live</span></a> <a href="https://gts.example.org/tags/moqlive" class="mention hashtag" rel="tag nofollow noreferrer noopener" target="_blank">#<span>moqlive</span></a></p>`
	b.SetBytes(int64(len(post)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := ParseAnnouncement(HTMLToText(post), []string{"live", "moqlive"}); !ok {
			b.Fatal("not found")
		}
	}
}
