package livepost

import (
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"time"

	vocab "github.com/go-ap/activitypub"
)

// MaxObjectBytes is the largest ActivityPub object document parsed.
const MaxObjectBytes = 1 << 20

// maxItems is how many entries of any one list (tag, url, icon) are looked at.
const maxItems = 256

// MoQLink is a FEP-e232 Link whose media type names MoQ, or whose target
// uses the moqt scheme.
type MoQLink struct {
	// Href is the endpoint: moqt://host:port/path or https://host:port/path (WebTransport).
	Href string
	// MediaType is the Link's media type as sent.
	MediaType string
	// Name is the Link's name, sanitised.
	Name string
}

// Object is what Tributary reads from an ActivityPub object: a Note that may
// carry FEP-e232 MoQ links, or a PeerTube Video.
type Object struct {
	// ID is the object's id.
	ID string
	// Type is the ActivityStreams type ("Note", "Video" ...).
	Type string
	// Name is the object's name (a Video's title), sanitised.
	Name string
	// Published is when the object was published (zero if not given).
	Published time.Time
	// AttributedTo is the id of the first actor the object is attributed to.
	AttributedTo string
	// HTMLURL is the first text/html url of the object (its web page).
	HTMLURL string
	// Thumbnail is the URL of the widest icon or image.
	Thumbnail string
	// MoQ are the MoQ endpoints the object links to (FEP-e232 tag Links
	// and url Links), in document order.
	MoQ []MoQLink
	// IsLiveBroadcast is PeerTube's flag for a live video.
	IsLiveBroadcast bool
	// PeerTubeState is PeerTube's video state (1 published, 4 waiting for
	// live, 5 live ended); 0 when absent.
	PeerTubeState int
}

// PeerTube video states (PeerTube's VideoState enumeration).
const (
	PeerTubePublished      = 1
	PeerTubeWaitingForLive = 4
	PeerTubeLiveEnded      = 5
)

// IsMoQMediaType reports whether a media type names MoQ: its type or
// subtype has a token "moq" or "moqt" (application/moq, application/vnd.moq,
// application/x-moqt+json ...).
func IsMoQMediaType(mt string) bool {
	if len(mt) > 256 {
		return false
	}
	t, _, err := mime.ParseMediaType(mt)
	if err != nil || strings.Count(t, "/") != 1 {
		return false
	}
	for _, tok := range strings.FieldsFunc(t, func(r rune) bool { return r == '/' || r == '.' || r == '-' || r == '+' }) {
		if tok == "moq" || tok == "moqt" {
			return true
		}
	}
	return false
}

// rawFields holds what the ActivityStreams vocabulary decoder drops:
// PeerTube's extension properties and image widths.
type rawFields struct {
	IsLiveBroadcast json.RawMessage `json:"isLiveBroadcast"`
	State           json.RawMessage `json:"state"`
	Icon            json.RawMessage `json:"icon"`
	Image           json.RawMessage `json:"image"`
}

// ParseObject decodes an ActivityPub object document (as fetched with
// Accept: application/activity+json).
func ParseObject(body []byte) (obj *Object, err error) {
	if len(body) > MaxObjectBytes {
		return nil, fmt.Errorf("activitypub object: %d bytes is more than %d", len(body), MaxObjectBytes)
	}
	// The vocabulary decoder is a third-party parser of untrusted input: a
	// panic in it must not take the application down.
	defer func() {
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("activitypub object: decoder failed: %v", r)
		}
	}()
	it, err := vocab.UnmarshalJSON(body)
	if err != nil {
		return nil, fmt.Errorf("activitypub object: %w", err)
	}
	if it == nil || vocab.IsNil(it) {
		return nil, fmt.Errorf("activitypub object: empty document")
	}
	var o *vocab.Object
	if err := vocab.OnObject(it, func(x *vocab.Object) error { o = x; return nil }); err != nil || o == nil {
		return nil, fmt.Errorf("activitypub object: not an object (%s)", it.GetType())
	}
	out := &Object{
		ID:        clip(o.ID.String(), MaxURLBytes),
		Type:      clip(string(o.Type), 64),
		Name:      Sanitize(o.Name.String(), MaxTitleRunes),
		Published: o.Published,
	}
	out.AttributedTo = firstID(o.AttributedTo)

	// url: a single IRI, a Link, or a list of Links (PeerTube).
	for i, l := range links(o.URL) {
		if i >= maxItems {
			break
		}
		mt := string(l.MediaType)
		href := l.Href.String()
		if out.HTMLURL == "" && (mt == "text/html" || mt == "" && strings.HasPrefix(href, "https://")) {
			out.HTMLURL = clip(href, MaxURLBytes)
		}
		if m, ok := moqLink(l); ok {
			out.MoQ = append(out.MoQ, m)
		}
	}
	// tag: FEP-e232 object links.
	for i, t := range o.Tag {
		if i >= maxItems {
			break
		}
		if t == nil || !t.IsLink() && t.GetType() != vocab.LinkType {
			continue
		}
		for _, l := range links(t) {
			if m, ok := moqLink(l); ok {
				out.MoQ = append(out.MoQ, m)
			}
		}
	}
	var raw rawFields
	if json.Unmarshal(body, &raw) == nil {
		_ = json.Unmarshal(raw.IsLiveBroadcast, &out.IsLiveBroadcast)
		var st int
		if json.Unmarshal(raw.State, &st) == nil && st >= 0 && st < 1000 {
			out.PeerTubeState = st
		}
		out.Thumbnail = widestImage(raw.Icon, raw.Image)
	}
	return out, nil
}

func moqLink(l *vocab.Link) (MoQLink, bool) {
	href := l.Href.String()
	mt := string(l.MediaType)
	u, ok := EndpointURL(href, "moqt", "https")
	if !ok {
		return MoQLink{}, false
	}
	if !IsMoQMediaType(mt) && u.Scheme != "moqt" {
		return MoQLink{}, false
	}
	return MoQLink{Href: u.String(), MediaType: clip(mt, 256), Name: Sanitize(l.Name.String(), 128)}, true
}

// links returns the Links in an item that may be a Link, an IRI or a list.
func links(it vocab.Item) []*vocab.Link {
	if it == nil || vocab.IsNil(it) {
		return nil
	}
	var out []*vocab.Link
	add := func(x vocab.Item) {
		if x == nil || vocab.IsNil(x) || len(out) >= maxItems {
			return
		}
		if x.IsLink() {
			if iri, ok := x.(vocab.IRI); ok {
				out = append(out, &vocab.Link{Href: iri})
				return
			}
			if l, err := vocab.ToLink(x); err == nil && l != nil {
				out = append(out, l)
			}
			return
		}
		if x.GetType() == vocab.LinkType || x.GetType() == vocab.MentionType {
			if l, err := vocab.ToLink(x); err == nil && l != nil {
				out = append(out, l)
			}
		}
	}
	if it.IsCollection() {
		_ = vocab.OnItemCollection(it, func(c *vocab.ItemCollection) error {
			for _, x := range *c {
				add(x)
			}
			return nil
		})
		return out
	}
	add(it)
	return out
}

// firstID is the id of an item or of the first item of a list.
func firstID(it vocab.Item) string {
	if it == nil || vocab.IsNil(it) {
		return ""
	}
	if it.IsCollection() {
		id := ""
		_ = vocab.OnItemCollection(it, func(c *vocab.ItemCollection) error {
			for _, x := range *c {
				if x != nil && !vocab.IsNil(x) {
					id = x.GetLink().String()
					break
				}
			}
			return nil
		})
		return clip(id, MaxURLBytes)
	}
	return clip(it.GetLink().String(), MaxURLBytes)
}

// rawImage is an icon or image entry: an Image object or a bare URL.
type rawImage struct {
	URL   json.RawMessage `json:"url"`
	Href  string          `json:"href"`
	Width int             `json:"width"`
}

// widestImage picks the URL of the widest Image among the raw icon and
// image values (each an Image, a URL string or a list of them).
func widestImage(raws ...json.RawMessage) string {
	best, bestW := "", -1
	consider := func(r rawImage) {
		u := r.Href
		var s string
		if json.Unmarshal(r.URL, &s) == nil && s != "" {
			u = s
		} else {
			var ls []struct {
				Href string `json:"href"`
			}
			if json.Unmarshal(r.URL, &ls) == nil && len(ls) > 0 {
				u = ls[0].Href
			} else {
				var l struct {
					Href string `json:"href"`
				}
				if json.Unmarshal(r.URL, &l) == nil && l.Href != "" {
					u = l.Href
				}
			}
		}
		if _, ok := EndpointURL(u, "https", "http"); !ok {
			return
		}
		if r.Width > bestW {
			best, bestW = u, r.Width
		}
	}
	for _, raw := range raws {
		if len(raw) == 0 {
			continue
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			consider(rawImage{Href: s})
			continue
		}
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			list = []json.RawMessage{raw}
		}
		for i, x := range list {
			if i >= maxItems {
				break
			}
			var r rawImage
			if json.Unmarshal(x, &s) == nil {
				consider(rawImage{Href: s})
			} else if json.Unmarshal(x, &r) == nil {
				consider(r)
			}
		}
	}
	return clip(best, MaxURLBytes)
}
