package fedi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mattn/go-mastodon"

	"github.com/tributary-live/tributary/fedi/livepost"
)

// Visibility is who may see an announcement (Mastodon API visibility).
type Visibility string

// The visibilities of a post.
const (
	// Public: everyone, listed on public timelines.
	Public Visibility = "public"
	// Unlisted: everyone with the link and followers, not on public timelines.
	Unlisted Visibility = "unlisted"
	// FollowersOnly: followers only (the API calls it "private").
	FollowersOnly Visibility = "private"
	// Direct: mentioned accounts only.
	Direct Visibility = "direct"
)

// Announcement is what going live posts.
type Announcement struct {
	// Title is the stream title (one line; cut to 200 characters).
	Title string
	// WatchURL is the https watch link (https://relay/watch/<broadcast>).
	// If empty it is built from Relay and Broadcast.
	WatchURL string
	// Relay is the relay's host[:port] (used when WatchURL is empty).
	Relay string
	// Broadcast is the broadcast path on the relay (used when WatchURL is empty).
	Broadcast string
	// Visibility of the post (default Public).
	Visibility Visibility
	// Language is an ISO 639 code for the post (optional).
	Language string
}

// Post is an announcement that was posted.
type Post struct {
	// ID is the status id on the streamer's server.
	ID string
	// URL is the post's web address.
	URL string
	// URI is the post's ActivityPub id.
	URI string
	// Account is the streamer's account ID.
	Account string
	// Title is the announced title.
	Title string
	// WatchURL is the announced watch link.
	WatchURL string
	// Visibility is the post's visibility.
	Visibility Visibility
	// CreatedAt is when the server created the post.
	CreatedAt time.Time
}

// Announce posts "🔴 LIVE: <title> <watch URL> #live #moqlive" from the
// session's account. The https watch link makes every client show a link
// and a preview card; the relay's /.well-known/moq at the same host tells
// Tributary clients the MoQ endpoints (docs/FEDIVERSE.md). The Mastodon
// client API offers no way to attach a FEP-e232 Link, so none is attached.
func (s *Session) Announce(ctx context.Context, a Announcement) (*Post, error) {
	watch := a.WatchURL
	if watch == "" {
		w, err := livepost.BuildWatchURL(a.Relay, a.Broadcast)
		if err != nil {
			return nil, newError(KindInvalid, "announce", s.host, err)
		}
		watch = w
	}
	if _, _, err := livepost.ParseWatchURL(watch); err != nil {
		return nil, newError(KindInvalid, "announce", s.host, err)
	}
	title := livepost.Sanitize(a.Title, livepost.MaxTitleRunes)
	if title == "" {
		return nil, newError(KindInvalid, "announce", s.host, errors.New("the stream needs a title"))
	}
	vis := a.Visibility
	switch vis {
	case "":
		vis = Public
	case Public, Unlisted, FollowersOnly, Direct:
	default:
		return nil, newError(KindInvalid, "announce", s.host, fmt.Errorf("unknown visibility %q", vis))
	}
	st, err := s.mc.PostStatus(ctx, &mastodon.Toot{
		Status:     livepost.FormatAnnouncement(title, watch),
		Visibility: string(vis),
		Language:   a.Language,
	})
	if err != nil {
		return nil, wrap("announce", s.host, err)
	}
	return &Post{
		ID: string(st.ID), URL: st.URL, URI: st.URI, Account: s.Account().ID,
		Title: title, WatchURL: watch, Visibility: vis, CreatedAt: st.CreatedAt,
	}, nil
}

// EndAnnouncement edits the announcement (PUT /api/v1/statuses/:id) to
// "⏹️ ENDED: <title> <watch URL> #moqlive", which viewers take as the end of
// the stream. A server that cannot edit posts gets the post deleted
// instead; a post that is already gone is not an error.
func (s *Session) EndAnnouncement(ctx context.Context, p *Post) error {
	if p == nil || p.ID == "" {
		return newError(KindInvalid, "end announcement", s.host, errors.New("no post"))
	}
	_, err := s.mc.UpdateStatus(ctx, &mastodon.Toot{Status: livepost.FormatEnded(p.Title, p.WatchURL)}, mastodon.ID(p.ID))
	if err == nil {
		return nil
	}
	var api *mastodon.APIError
	if errors.As(err, &api) {
		switch api.StatusCode {
		case 404, 405, 422, 501:
			derr := s.mc.DeleteStatus(ctx, mastodon.ID(p.ID))
			var dapi *mastodon.APIError
			if derr == nil || errors.As(derr, &dapi) && dapi.StatusCode == 404 {
				return nil
			}
		}
	}
	return wrap("end announcement", s.host, err)
}
