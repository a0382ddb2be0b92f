package livepost

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// The announcement convention (docs/FEDIVERSE.md): a live post's plain text
// is "🔴 LIVE: <title> https://<relay>/watch/<path> #live #moqlive"; when the
// stream ends the post is edited to "⏹️ ENDED: <title> https://<relay>/watch/<path> #moqlive".
const (
	// LiveMarker starts the text of a live announcement.
	LiveMarker = "🔴 LIVE:"
	// EndedMarker starts the text of an announcement whose stream ended.
	EndedMarker = "⏹️ ENDED:"
	// Hashtag is the tag every announcement carries (without '#').
	Hashtag = "moqlive"
	// WatchPrefix is the path prefix of a watch URL on a relay.
	WatchPrefix = "/watch/"
	// MaxTitleRunes is the longest title kept from a post or an announcement.
	MaxTitleRunes = 200
)

// Announcement is a Tributary live announcement found in a post.
type Announcement struct {
	// Title is the stream title, sanitised to one line.
	Title string
	// WatchURL is the https watch link of the stream.
	WatchURL string
	// Relay is the host[:port] of the watch link; the relay's
	// /.well-known/moq document lives there.
	Relay string
	// Broadcast is the broadcast path after /watch/ (unescaped, no leading slash).
	Broadcast string
	// Ended is true when the post says the stream ended.
	Ended bool
}

// FormatAnnouncement is the text of a post that says a stream is live.
func FormatAnnouncement(title, watchURL string) string {
	return fmt.Sprintf("%s %s %s #live #%s", LiveMarker, Sanitize(title, MaxTitleRunes), watchURL, Hashtag)
}

// FormatEnded is the text an announcement is edited to when its stream ends.
func FormatEnded(title, watchURL string) string {
	return fmt.Sprintf("%s %s %s #%s", EndedMarker, Sanitize(title, MaxTitleRunes), watchURL, Hashtag)
}

// BuildWatchURL makes https://<relay>/watch/<broadcast>, escaping each path
// segment. relay is host or host:port.
func BuildWatchURL(relay, broadcast string) (string, error) {
	relay = strings.TrimSpace(relay)
	broadcast = strings.Trim(strings.TrimSpace(broadcast), "/")
	if relay == "" || strings.ContainsAny(relay, "/@?#\\ ") {
		return "", fmt.Errorf("relay %q is not a host or host:port", relay)
	}
	if broadcast == "" {
		return "", errors.New("broadcast path is empty")
	}
	if _, err := url.Parse("https://" + relay + "/"); err != nil {
		return "", fmt.Errorf("relay %q: %w", relay, err)
	}
	segs := strings.Split(broadcast, "/")
	for i, s := range segs {
		if s == "" || s == "." || s == ".." {
			return "", fmt.Errorf("broadcast path %q has an empty or dot segment", broadcast)
		}
		segs[i] = url.PathEscape(s)
	}
	return "https://" + relay + WatchPrefix + strings.Join(segs, "/"), nil
}

// ParseWatchURL checks that s is an https watch link and returns its
// relay (host[:port]) and broadcast path.
func ParseWatchURL(s string) (relay, broadcast string, err error) {
	if len(s) > MaxURLBytes {
		return "", "", errors.New("watch URL too long")
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] == 0x7f {
			return "", "", fmt.Errorf("watch URL %q contains white space or control characters", s)
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", "", fmt.Errorf("watch URL: %w", err)
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil {
		return "", "", fmt.Errorf("watch URL %q is not an https URL with a host", s)
	}
	if !strings.HasPrefix(u.Path, WatchPrefix) {
		return "", "", fmt.Errorf("watch URL %q has no %s path", s, WatchPrefix)
	}
	b := strings.Trim(strings.TrimPrefix(u.Path, WatchPrefix), "/")
	if b == "" {
		return "", "", fmt.Errorf("watch URL %q names no broadcast", s)
	}
	for _, seg := range strings.Split(b, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", "", fmt.Errorf("watch URL %q has an empty or dot segment", s)
		}
	}
	if h := u.Hostname(); h == "" || strings.ContainsAny(h, " %") {
		return "", "", fmt.Errorf("watch URL %q has a bad host", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", "", fmt.Errorf("watch URL %q has a bad port", s)
		}
	}
	return u.Host, b, nil
}

// HasTag reports whether the post carries hashtag tag: in the server's tag
// list or, for servers that send none, written in the text.
func HasTag(c Content, tags []string, tag string) bool {
	for _, t := range tags {
		if strings.EqualFold(strings.TrimPrefix(t, "#"), tag) {
			return true
		}
	}
	low := strings.ToLower(c.Text)
	needle := "#" + strings.ToLower(tag)
	for i := 0; i < len(low); {
		j := strings.Index(low[i:], needle)
		if j < 0 {
			return false
		}
		end := i + j + len(needle)
		if end == len(low) || !isTagChar(low[end]) {
			return true
		}
		i = end
	}
	return false
}

func isTagChar(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 0x80
}

// ParseAnnouncement finds a Tributary announcement in a post: the LIVE or
// ENDED marker, the #moqlive tag and an https watch link. tags are the
// hashtags the server listed for the post.
func ParseAnnouncement(c Content, tags []string) (Announcement, bool) {
	if !HasTag(c, tags, Hashtag) {
		return Announcement{}, false
	}
	text := c.Text
	ended := false
	idx, mlen := markerIndex(text, "LIVE:")
	if e, elen := markerIndex(text, "ENDED:"); e >= 0 && (idx < 0 || e < idx) {
		idx, mlen, ended = e, elen, true
	}
	if idx < 0 {
		return Announcement{}, false
	}
	var a Announcement
	// The watch link: an <a> first, else a URL written as text.
	for _, l := range c.Links {
		if relay, b, err := ParseWatchURL(l.Href); err == nil {
			a.WatchURL, a.Relay, a.Broadcast = l.Href, relay, b
			break
		}
	}
	if a.WatchURL == "" {
		for _, f := range strings.Fields(text) {
			f = strings.TrimRight(f, ".,;:!?)]}>\"'")
			if relay, b, err := ParseWatchURL(f); err == nil {
				a.WatchURL, a.Relay, a.Broadcast = f, relay, b
				break
			}
		}
	}
	if a.WatchURL == "" {
		return Announcement{}, false
	}
	rest := text[idx+mlen:]
	if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
		rest = rest[:nl]
	}
	// The title runs to the link; without a link on the line, to the tags.
	if cut := strings.Index(rest, "https://"); cut >= 0 {
		rest = rest[:cut]
	} else if cut := strings.Index(rest, "http://"); cut >= 0 {
		rest = rest[:cut]
	} else if cut := strings.Index(rest, " #"); cut >= 0 {
		rest = rest[:cut]
	}
	a.Title = Sanitize(rest, MaxTitleRunes)
	a.Ended = ended
	return a, true
}

// markerIndex finds an upper-case marker word ("LIVE:") at the start of the
// text or of a line, optionally after an emoji, and returns its index and
// length.
func markerIndex(text, word string) (int, int) {
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], word)
		if j < 0 {
			return -1, 0
		}
		at := i + j
		lineStart := strings.LastIndexByte(text[:at], '\n') + 1
		prefix := strings.TrimSpace(text[lineStart:at])
		if len([]rune(prefix)) <= 3 && !strings.ContainsAny(prefix, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") {
			return at, len(word)
		}
		i = at + len(word)
	}
	return -1, 0
}
