package app

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Live chat: the replies to a stream's go-live post, read from the active
// account's own server (fedi). The Watch screen shows the chat of the
// stream being watched (State.Chat); the Go live screen the chat of the
// user's own broadcast (State.Live.Chat). A viewer replies from the app.

// ChatMessage is one message of a chat, plain text.
type ChatMessage struct {
	// ID identifies the message.
	ID string
	// Who is the author's display name; Handle their @user@instance.
	Who, Handle string
	// AvatarURL is the author's picture.
	AvatarURL string
	// Text is the message (plain text, never markup).
	Text string
	// Warning is the author's content warning: show it, fold Text.
	Warning string
	// At is when it was written.
	At time.Time
}

// ChatState is a chat as the UI shows it.
type ChatState struct {
	// Available is true when there is a chat (a stream announced on the
	// Fediverse, and an account to read it with).
	Available bool
	// Messages are the newest messages, oldest first.
	Messages []ChatMessage
	// Sending is true while a reply is on its way.
	Sending bool
	// Err is why the chat cannot be read or the last reply failed.
	Err *Problem
}

// announced is a go-live post: its web address and its id on the
// account's server.
type announced struct{ URL, ID string }

// maxChatReply bounds a reply (Mastodon's default status length).
const maxChatReply = 500

// chatRun follows one chat.
type chatRun struct {
	cancel context.CancelFunc
	seq    int
	post   string // the post's id on the account's server
	author string // user@domain of the post's author
	acct   string // the account that reads and replies
}

var chatSeq int

// startChat follows the chat of post (by author) into *st, stopping what r
// followed before. An empty post stops it.
func (c *Core) startChat(r **chatRun, st *ChatState, post, author string) {
	if *r != nil {
		(*r).cancel()
		*r = nil
	}
	*st = ChatState{}
	if post == "" || c.svc.fedi == nil || len(c.st.Accounts) == 0 {
		return
	}
	chatSeq++
	ctx, cancel := context.WithCancel(c.ctx)
	run := &chatRun{cancel: cancel, seq: chatSeq, post: post, author: strings.TrimPrefix(author, "@"), acct: c.st.Accounts[0].ID}
	*r = run
	st.Available = true
	svc := c.svc.fedi
	c.goBG(func() {
		svc.followChat(ctx, run.acct, post, func(msgs []ChatMessage, err error) {
			c.do(func() {
				if *r != run {
					return
				}
				if err != nil {
					st.Err = AsProblem("Reading the chat", err)
					return
				}
				st.Err = nil
				st.Messages = msgs
			})
		})
	})
}

// SendChat replies to the chat of the stream being watched.
func (c *Core) SendChat(text string) {
	c.do(func() { c.sendChat(c.watchChat, &c.st.Chat, text) })
}

// SendLiveChat replies in the chat of the user's own broadcast.
func (c *Core) SendLiveChat(text string) {
	c.do(func() { c.sendChat(c.liveChat, &c.st.Live.Chat, text) })
}

func (c *Core) sendChat(run *chatRun, st *ChatState, text string) {
	text = strings.TrimSpace(text)
	switch {
	case run == nil || c.svc.fedi == nil:
		st.Err = &Problem{What: "This stream has no chat.", Todo: "Chat is the replies to a stream's post: sign in to read and write them."}
		return
	case text == "":
		return
	case utf8.RuneCountInString(text) > maxChatReply:
		st.Err = &Problem{What: "That message is longer than 500 characters.", Todo: "Shorten it."}
		return
	case st.Sending:
		return
	}
	st.Sending = true
	st.Err = nil
	svc := c.svc.fedi
	c.goBG(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 20*time.Second)
		defer cancel()
		m, err := svc.reply(ctx, run.acct, run.post, run.author, text)
		c.do(func() {
			st.Sending = false
			if err != nil {
				st.Err = AsProblem("Sending your message", err)
				return
			}
			// Shown at once; the next read confirms it.
			for _, x := range st.Messages {
				if x.ID == m.ID {
					return
				}
			}
			st.Messages = append(st.Messages, m)
		})
	})
}
