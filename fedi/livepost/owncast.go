package livepost

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// OwncastPost is an Owncast go-live post.
type OwncastPost struct {
	// Title is the stream title if the post names one, else empty.
	Title string
	// WatchURL is the Owncast instance's web page (the post's own link).
	WatchURL string
}

// ParseOwncast recognises the go-live post an Owncast server federates when
// its stream starts: "<go-live message> <title> <tags> <link to the server>",
// tagged #owncast or saying it has "gone live", with an https link to the
// author's own host. authorHost is the host of the author's account URL.
func ParseOwncast(c Content, tags []string, authorHost string) (OwncastPost, bool) {
	low := strings.ToLower(c.Text)
	if !HasTag(c, tags, "owncast") && !strings.Contains(low, "gone live") && !strings.Contains(low, "went live") {
		return OwncastPost{}, false
	}
	if authorHost == "" {
		return OwncastPost{}, false
	}
	var p OwncastPost
	for _, l := range c.Links {
		u, err := url.Parse(l.Href)
		if err != nil || u.Scheme != "https" || u.User != nil || !strings.EqualFold(u.Host, authorHost) {
			continue
		}
		if strings.Contains(l.Class, "mention") || strings.Contains(l.Class, "hashtag") || strings.Contains(l.Rel, "tag") {
			continue
		}
		p.WatchURL = (&url.URL{Scheme: "https", Host: strings.ToLower(u.Host), Path: "/"}).String()
		break
	}
	if p.WatchURL == "" {
		return OwncastPost{}, false
	}
	// The title is the first line that is not the go-live message, not only
	// hashtags and not the link.
	for _, line := range strings.Split(c.Text, "\n") {
		line = strings.TrimSpace(line)
		ll := strings.ToLower(line)
		switch {
		case line == "", strings.Contains(ll, "gone live"), strings.Contains(ll, "went live"),
			strings.HasPrefix(ll, "https://"), strings.HasPrefix(ll, "http://"), onlyTags(line):
			continue
		}
		p.Title = Sanitize(line, MaxTitleRunes)
		break
	}
	return p, true
}

func onlyTags(line string) bool {
	for _, f := range strings.Fields(line) {
		if !strings.HasPrefix(f, "#") {
			return false
		}
	}
	return true
}

// OwncastStatus is the part of Owncast's GET /api/status answer that tells
// whether the stream is on.
type OwncastStatus struct {
	// Online is true while the server is streaming.
	Online bool `json:"online"`
	// LastConnectTime is when the current stream started (RFC 3339), if online.
	LastConnectTime *time.Time `json:"lastConnectTime"`
	// StreamTitle is the title set on the server, if any.
	StreamTitle string `json:"streamTitle"`
	// ViewerCount is the number of viewers the server reports.
	ViewerCount int `json:"viewerCount"`
}

// MaxSmallJSON is the largest small JSON document (Owncast status,
// /.well-known/moq) accepted.
const MaxSmallJSON = 64 << 10

// ParseOwncastStatus decodes an Owncast /api/status answer.
func ParseOwncastStatus(body []byte) (OwncastStatus, error) {
	var s OwncastStatus
	if len(body) > MaxSmallJSON {
		return s, fmt.Errorf("owncast status: %d bytes is more than %d", len(body), MaxSmallJSON)
	}
	if err := json.Unmarshal(body, &s); err != nil {
		return OwncastStatus{}, fmt.Errorf("owncast status: %w", err)
	}
	if s.ViewerCount < 0 {
		return OwncastStatus{}, errors.New("owncast status: negative viewer count")
	}
	s.StreamTitle = Sanitize(s.StreamTitle, MaxTitleRunes)
	return s, nil
}
