package fedi

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"

	"github.com/tributary-live/tributary/fedi/fedtest"
)

// sessionOn signs username in on inst through the real OAuth pages.
func sessionOn(t *testing.T, ctx context.Context, inst *fedtest.Instance, username string) *Session {
	t.Helper()
	dir := t.TempDir()
	c, err := New(Config{Dir: dir, Secrets: &FileStore{Path: filepath.Join(dir, "secrets.json")}, AllowLoopbackHTTP: true, RootCAs: inst.RootCAs,
		OpenURL: func(u string) error {
			go inst.Authorize(ctx, u, username)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.SignIn(ctx, username+"@"+inst.Host, SignInOptions{Timeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("%s signs in: %v", username, err)
	}
	s, err := c.Session(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestChatAcrossInstances: the replies to alice's go-live post are the
// stream's chat on both instances. bob (instance B) finds the post in his
// home timeline and replies; carol (B) replies with a content warning and
// markup; alice's chat on A and bob's on B show the replies, oldest first,
// as plain text, with the warning kept apart; an over-long reply is refused
// before it is sent.
func TestChatAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two GoToSocial instances")
	}
	pair := fedtest.StartPair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	alice := sessionOn(t, ctx, pair.A, "alice")
	bob := sessionOn(t, ctx, pair.B, "bob")
	carol := sessionOn(t, ctx, pair.B, "carol")

	post, err := alice.Announce(ctx, Announcement{Title: "Chat test", WatchURL: "https://relay.example/watch/a/alice/live", Visibility: Public})
	if err != nil {
		t.Fatal(err)
	}
	// bob's server got the post by federation: find its id there.
	var onB string
	deadline := time.Now().Add(30 * time.Second)
	for onB == "" {
		sts, err := bob.homeTimeline(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range sts {
			if strings.Contains(st.Content, "Chat test") {
				onB = string(st.ID)
			}
		}
		if onB == "" {
			if time.Now().After(deadline) {
				t.Fatal("alice's post did not reach bob's timeline in 30 s")
			}
			time.Sleep(200 * time.Millisecond) // polling the timeline
		}
	}
	author := "alice@" + pair.A.Host
	if _, err := bob.Reply(ctx, onB, author, "Hello from B!"); err != nil {
		t.Fatalf("bob replies: %v", err)
	}
	if _, err := carol.Reply(ctx, onB, author, "<b>bold</b> <script>alert(1)</script> :blobcat:"); err != nil {
		t.Fatalf("carol replies: %v", err)
	}
	// A reply with a content warning, as another client writes it.
	if _, err := carol.mc.PostStatus(ctx, &mastodon.Toot{Status: "@" + author + " the ending!", SpoilerText: "spoilers",
		InReplyToID: mastodon.ID(onB), Visibility: "public"}); err != nil {
		t.Fatalf("carol replies with a warning: %v", err)
	}
	if _, err := bob.Reply(ctx, onB, author, strings.Repeat("x", MaxReplyRunes+1)); err == nil || KindOf(err) != KindInvalid {
		t.Errorf("over-long reply: %v, want refused", err)
	}

	want := func(s *Session, post, who string) []ChatMessage {
		t.Helper()
		fctx, fcancel := context.WithTimeout(ctx, 60*time.Second)
		defer fcancel()
		var got []ChatMessage
		s.FollowChat(fctx, post, 200*time.Millisecond, func(m []ChatMessage, err error) {
			if err == nil {
				got = m
			}
			if len(got) >= 3 {
				fcancel()
			}
		})
		if len(got) < 3 {
			t.Fatalf("%s's chat has %d messages after 60 s, want 3: %+v", who, len(got), got)
		}
		return got
	}
	for _, c := range []struct {
		who  string
		s    *Session
		post string
	}{{"alice", alice, post.ID}, {"bob", bob, onB}} {
		got := want(c.s, c.post, c.who)
		for i := 1; i < len(got); i++ {
			if got[i].At.Before(got[i-1].At) {
				t.Errorf("%s: chat not oldest first: %v before %v", c.who, got[i-1].At, got[i].At)
			}
		}
		find := func(text string) (ChatMessage, bool) {
			for _, m := range got {
				if strings.Contains(m.Text, text) {
					return m, true
				}
			}
			return ChatMessage{}, false
		}
		if m, ok := find("Hello from B!"); !ok || !strings.HasPrefix(m.Account, "bob@") || m.Text != "Hello from B!" {
			t.Errorf("%s: bob's message %+v (found %v)", c.who, m, ok)
		}
		// What carol typed comes back as the text she typed (the server
		// escaped it); the leading @mention is addressing, not chat.
		if m, ok := find("bold"); !ok || !strings.HasPrefix(m.Account, "carol@") || m.Text != "<b>bold</b> <script>alert(1)</script> :blobcat:" {
			t.Errorf("%s: carol's message %+v, want her text as typed", c.who, m)
		}
		if m, ok := find("the ending!"); !ok || m.Warning != "spoilers" || m.Text != "the ending!" {
			t.Errorf("%s: the warned message %+v, want the warning kept apart", c.who, m)
		}
	}
}

// TestChatOfMarkup: a reply's HTML (from any server) becomes plain text:
// elements dropped, scripts dropped whole, entities decoded, the leading
// mentions removed, long text cut.
func TestChatOfMarkup(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`<p><span class="h-card"><a href="https://a.example/@alice" class="u-url mention">@<span>alice</span></a></span> <b>bold</b><script>alert(1)</script> &amp; :blobcat:</p>`, "bold & :blobcat:"},
		{`<p>@alice@a.example @bob hi</p>`, "hi"},
		{`<p>@alice</p>`, "@alice"},
		{`<p>` + strings.Repeat("é", MaxChatRunes+10) + `</p>`, strings.Repeat("é", MaxChatRunes) + "…"},
	} {
		m := chatOf(&mastodon.Status{Content: c.in, Account: mastodon.Account{Acct: "carol", DisplayName: "<i>Carol</i>"}}, "b.example")
		if m.Text != c.want {
			t.Errorf("%.60q: text %.60q, want %.60q", c.in, m.Text, c.want)
		}
		if m.Account != "carol@b.example" {
			t.Errorf("account %q", m.Account)
		}
	}
}
