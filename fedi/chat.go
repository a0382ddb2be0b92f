package fedi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-mastodon"

	"github.com/tributary-live/tributary/fedi/internal/safehttp"
	"github.com/tributary-live/tributary/fedi/livepost"
)

// Live chat, the Fediverse way: the replies to a go-live post are the
// stream's chat. Each viewer reads them from their own server, which has
// the replies its users wrote and those that federated to it (the
// streamer's server has every reply addressed to the streamer). Replies are
// plain text here: HTML is turned into text, nothing of it is shown as
// markup; custom emoji stay as their :shortcode: text.

// Chat limits.
const (
	// MaxChatMessages is the most messages a chat keeps (the newest).
	MaxChatMessages = 200
	// MaxChatRunes bounds one message's text as shown.
	MaxChatRunes = 1000
	// MaxReplyRunes bounds a reply sent from the app (Mastodon's default
	// status limit).
	MaxReplyRunes = 500
	// DefaultChatInterval is how often a chat asks the server for new replies.
	DefaultChatInterval = 3 * time.Second
)

// ErrReplyTooLong is returned for a reply over MaxReplyRunes.
var ErrReplyTooLong = fmt.Errorf("a reply has at most %d characters", MaxReplyRunes)

// ChatMessage is one reply in a stream's chat.
type ChatMessage struct {
	// ID is the reply's id on the reader's server.
	ID string
	// Account is the author's handle (user@domain).
	Account string
	// DisplayName is the author's name, sanitised to one line.
	DisplayName string
	// Avatar is the author's picture URL.
	Avatar string
	// Text is the reply as plain text (no markup), at most MaxChatRunes.
	Text string
	// Warning is the content warning the author set; a UI shows it and
	// keeps Text folded until asked.
	Warning string
	// Sensitive is the author's "sensitive" mark.
	Sensitive bool
	// At is when the reply was posted.
	At time.Time
}

// ChatOf turns a status into a chat message (localDomain completes local
// handles).
func chatOf(st *mastodon.Status, localDomain string) ChatMessage {
	c := livepost.HTMLToText(st.Content)
	text := stripMentions(strings.TrimSpace(c.Text))
	if utf8.RuneCountInString(text) > MaxChatRunes {
		text = string([]rune(text)[:MaxChatRunes]) + "…"
	}
	acct := st.Account.Acct
	if !strings.Contains(acct, "@") && localDomain != "" {
		acct += "@" + localDomain
	}
	return ChatMessage{
		ID: string(st.ID), Account: livepost.Sanitize(acct, 200), DisplayName: displayName(&st.Account),
		Avatar: st.Account.Avatar, Text: text, Warning: livepost.Sanitize(st.SpoilerText, 200),
		Sensitive: st.Sensitive, At: st.CreatedAt,
	}
}

// ChatMessages returns the replies to post postID (an id on the session's
// server), oldest first, at most MaxChatMessages (the newest).
func (s *Session) ChatMessages(ctx context.Context, postID string) ([]ChatMessage, error) {
	if postID == "" {
		return nil, newError(KindInvalid, "read chat", s.host, errors.New("no post"))
	}
	cx, err := s.mc.GetStatusContext(ctx, mastodon.ID(postID))
	if err != nil {
		return nil, wrap("read chat", s.host, err)
	}
	dom := s.Account().Domain
	out := make([]ChatMessage, 0, min(len(cx.Descendants), MaxChatMessages))
	for _, st := range cx.Descendants {
		if st == nil {
			continue
		}
		out = append(out, chatOf(st, dom))
	}
	// Oldest first; ties (servers keep whole seconds) by id, which both
	// Mastodon (numeric snowflakes) and GoToSocial (ULIDs) give in order.
	slices.SortStableFunc(out, func(a, b ChatMessage) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if len(a.ID) != len(b.ID) {
			return len(a.ID) - len(b.ID)
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(out) > MaxChatMessages {
		out = out[len(out)-MaxChatMessages:]
	}
	return out, nil
}

// FollowChat reports the chat of post postID now and whenever it changes,
// asking the server every interval (DefaultChatInterval if 0), until ctx
// ends. A server that asks to slow down (429) is waited for; other errors
// are reported and the following goes on.
func (s *Session) FollowChat(ctx context.Context, postID string, interval time.Duration, update func([]ChatMessage, error)) {
	if interval <= 0 {
		interval = DefaultChatInterval
	}
	var last []ChatMessage
	first := true
	for {
		wait := interval
		msgs, err := s.ChatMessages(ctx, postID)
		if ctx.Err() != nil {
			return
		}
		var rl *safehttp.RateLimitError
		switch {
		case errors.As(err, &rl):
			wait = max(wait, rl.RetryAfter, 30*time.Second)
		case err != nil:
			update(nil, err)
		case first || !sameChat(last, msgs):
			last, first = msgs, false
			update(msgs, nil)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// stripMentions removes the @mentions a reply starts with (addressing, not
// chat), keeping a message that is nothing but mentions as it is.
func stripMentions(text string) string {
	rest := text
	for strings.HasPrefix(rest, "@") {
		i := strings.IndexFunc(rest, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' })
		if i < 0 {
			return text
		}
		rest = strings.TrimLeft(rest[i:], " \n\t")
	}
	if rest == "" {
		return text
	}
	return rest
}

func sameChat(a, b []ChatMessage) bool {
	return slices.EqualFunc(a, b, func(x, y ChatMessage) bool { return x.ID == y.ID && x.Text == y.Text && x.Warning == y.Warning })
}

// Reply posts text as a public reply to post postID (an id on the session's
// server) and returns it as a chat message. author is the post's author
// (user@domain): like Mastodon clients, the reply starts with their
// @mention, so it is delivered to the author's server (whose chat is every
// viewer's), unless the text already mentions them.
func (s *Session) Reply(ctx context.Context, postID, author, text string) (ChatMessage, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return ChatMessage{}, newError(KindInvalid, "reply", s.host, errors.New("empty reply"))
	}
	if utf8.RuneCountInString(text) > MaxReplyRunes {
		return ChatMessage{}, &Error{Kind: KindInvalid, Op: "reply", Host: s.host, Message: "A reply has at most 500 characters.", Err: ErrReplyTooLong}
	}
	if author != "" && !strings.Contains(text, "@"+author) {
		text = "@" + author + " " + text
	}
	st, err := s.mc.PostStatus(ctx, &mastodon.Toot{Status: text, InReplyToID: mastodon.ID(postID), Visibility: "public"})
	if err != nil {
		return ChatMessage{}, wrap("reply", s.host, err)
	}
	return chatOf(st, s.Account().Domain), nil
}
