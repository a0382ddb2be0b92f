// Package livepost parses the untrusted material a Fediverse client reads
// when it looks for live streams: post HTML (turned into plain text and a
// list of links), Tributary's own announcement convention, Owncast go-live
// posts, FEP-e232 links naming MoQ endpoints, PeerTube Video objects and the
// relay's /.well-known/moq document.
//
// Every function here is pure (no network, no clock) and bounded: input
// beyond the documented limits is truncated or rejected, and no input makes
// a function panic. The fuzz targets in this package check that.
package livepost

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Limits on untrusted post content.
const (
	// MaxHTMLBytes is how much post HTML is read; the rest is ignored.
	MaxHTMLBytes = 64 << 10
	// MaxTextRunes is the longest plain text HTMLToText returns.
	MaxTextRunes = 8192
	// MaxLinks is the most links HTMLToText collects from one post.
	MaxLinks = 64
	// MaxURLBytes is the longest link target kept; longer ones are dropped.
	MaxURLBytes = 2048
)

// Link is one <a> element of a post.
type Link struct {
	// Href is the link target as written in the post (not validated).
	Href string
	// Text is the visible text of the link, sanitised.
	Text string
	// Rel is the rel attribute (for example "tag" or "nofollow noopener").
	Rel string
	// Class is the class attribute ("mention", "hashtag", "u-url" ...).
	Class string
}

// Content is post HTML reduced to what can be shown safely.
type Content struct {
	// Text is the plain text of the post: tags removed, entities decoded,
	// paragraphs and line breaks kept as newlines, control and bidi
	// override characters removed.
	Text string
	// Links are the post's links in document order.
	Links []Link
}

// HTMLToText turns untrusted post HTML into plain text and links. Scripts,
// styles and other non-text elements are dropped whole. The result never
// contains markup, so it can be displayed by a UI as it is.
func HTMLToText(s string) Content {
	if len(s) > MaxHTMLBytes {
		s = s[:MaxHTMLBytes]
	}
	var (
		out      strings.Builder
		links    []Link
		curLink  = -1
		linkText strings.Builder
		skip     = 0 // depth inside elements whose text is not shown
		runes    = 0
	)
	trailingNL, hasText := 0, false
	write := func(t string) {
		for _, r := range t {
			if runes >= MaxTextRunes {
				return
			}
			if r == '\n' {
				if !hasText {
					continue
				}
				out.WriteRune(r)
				runes++
				trailingNL++
				continue
			}
			if !Printable(r) {
				continue
			}
			out.WriteRune(r)
			runes++
			if r != ' ' {
				hasText = true
				trailingNL = 0
			}
		}
	}
	newline := func(n int) {
		if !hasText {
			return
		}
		for ; trailingNL < n && runes < MaxTextRunes; trailingNL++ {
			out.WriteByte('\n')
			runes++
		}
	}
	z := html.NewTokenizer(strings.NewReader(s))
	z.SetMaxBuf(MaxHTMLBytes)
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		switch tt {
		case html.TextToken:
			if skip > 0 {
				continue
			}
			t := string(z.Text())
			write(collapseSpace(t))
			if curLink >= 0 && linkText.Len() < 1024 {
				linkText.WriteString(t)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			switch tag {
			case "script", "style", "template", "iframe", "object", "noscript", "svg", "math", "head", "title", "textarea", "select":
				if tt == html.StartTagToken {
					skip++
				}
			case "br":
				write("\n")
			case "p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6":
				newline(2)
			case "a":
				if skip > 0 || tt == html.SelfClosingTagToken {
					continue
				}
				var l Link
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					switch string(k) {
					case "href":
						l.Href = strings.TrimSpace(string(v))
					case "rel":
						l.Rel = clip(string(v), 256)
					case "class":
						l.Class = clip(string(v), 256)
					}
				}
				if len(l.Href) > MaxURLBytes {
					l.Href = ""
				}
				if len(links) < MaxLinks {
					links = append(links, l)
					curLink = len(links) - 1
					linkText.Reset()
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "template", "iframe", "object", "noscript", "svg", "math", "head", "title", "textarea", "select":
				if skip > 0 {
					skip--
				}
			case "p", "div", "blockquote", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6":
				newline(2)
			case "a":
				if curLink >= 0 {
					links[curLink].Text = Sanitize(linkText.String(), 512)
					curLink = -1
				}
			}
		}
	}
	if curLink >= 0 {
		links[curLink].Text = Sanitize(linkText.String(), 512)
	}
	text := strings.TrimSpace(out.String())
	// Collapse runs of more than one blank line and trailing spaces.
	lines := strings.Split(text, "\n")
	kept := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		kept = append(kept, l)
	}
	return Content{Text: strings.Join(kept, "\n"), Links: links}
}

// collapseSpace turns runs of white space (including newlines in the
// source, which HTML does not show) into single spaces.
func collapseSpace(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// Printable reports whether r may be shown in a single line of UI text:
// not a control character, not a bidirectional override or isolate (which
// can make text read differently from what it is), not a replacement for
// invalid UTF-8.
func Printable(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return false
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return false
	case r == 0xfeff:
		return false
	}
	return unicode.IsPrint(r) || unicode.IsSpace(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Cf, r) && r == 0x200d
}

// Sanitize makes untrusted text fit for one line of UI: white space
// collapsed, unprintable characters removed, at most maxRunes runes (an
// ellipsis marks a cut).
func Sanitize(s string, maxRunes int) string {
	if maxRunes <= 0 {
		return ""
	}
	if len(s) > 4*maxRunes+64 {
		s = s[:4*maxRunes+64]
	}
	rs := make([]rune, 0, min(len(s), maxRunes+1))
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = len(rs) > 0
			continue
		}
		if !Printable(r) {
			continue
		}
		if space {
			rs = append(rs, ' ')
			space = false
		}
		rs = append(rs, r)
		if len(rs) > maxRunes {
			break
		}
	}
	if len(rs) > maxRunes {
		return strings.TrimSpace(string(rs[:maxRunes-1])) + "…"
	}
	return string(rs)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
