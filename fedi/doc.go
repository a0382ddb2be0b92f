// Package fedi is Tributary's Fediverse layer: it signs in accounts on
// Mastodon-API servers (Mastodon, GoToSocial, Akkoma, Pleroma ...), finds
// live streams on their home timelines, and announces going live.
//
// It imports no other Tributary package; the app supplies a
// LivenessChecker (a MoQ TRACK_STATUS check) to confirm streams.
//
// # API
//
//	c, err := fedi.New(fedi.Config{Liveness: checker})   // accounts in os.UserConfigDir()/tributary
//	acct, err := c.SignIn(ctx, "alice@example.social", fedi.SignInOptions{
//		PasteCode: askUserForCode, // optional paste-the-code fallback
//	})
//	c.Accounts()                 // every signed-in account
//	err = c.SignOut(ctx, acct.ID) // revokes the token; errors.Is(err, fedi.ErrNotRevoked) is only a warning
//
//	s, err := c.Session(acct.ID)
//	streams, err := s.Discover(ctx) // one read of the home timeline
//	for snap := range s.Watch(ctx) { // timeline + streaming API, until ctx ends
//		show(snap.Streams, snap.Streaming, fedi.UserMessage(snap.Err))
//	}
//	post, err := s.Announce(ctx, fedi.Announcement{Title: "Friday synths",
//		Relay: "relay.example.net", Broadcast: "alice/synths", Visibility: fedi.Public})
//	err = s.EndAnnouncement(ctx, post)
//
// Every error is an *Error; UserMessage(err) is the sentence to show and
// KindOf(err) what to do about it (KindUnauthorized: sign in again).
//
// # Sign-in
//
// SignIn resolves name@domain with WebFinger (RFC 7033), checks the server
// answers GET /api/v1/instance, registers the app (POST /api/v1/apps) with
// a loopback redirect http://127.0.0.1:<port>/callback (the port of a
// listener it opened; servers match redirects exactly, so every sign-in
// registers anew), and runs the OAuth 2.0 authorization-code flow with PKCE
// S256 (RFC 7636) in the system browser (RFC 8252). The state parameter is
// checked; the code is exchanged with golang.org/x/oauth2. When there is no
// browser, or SignInOptions.UsePaste is set, it registers the out-of-band
// redirect urn:ietf:wg:oauth:2.0:oob and asks the app for the pasted code.
// Tokens live in the OS keyring when one answers (github.com/zalando/go-keyring),
// else in a 0600 file; the account list (no secrets) is accounts.json.
// Tokens are never logged and never put in URLs (the streaming API gets
// them in the Authorization header).
//
// # Discovery
//
// A post is a live stream when it is (a) a Tributary announcement
// ("🔴 LIVE: <title> https://<relay>/watch/<path> #live #moqlive"), (b) a
// post whose ActivityPub object carries a FEP-e232 Link whose mediaType
// names MoQ, (c) a PeerTube Video with isLiveBroadcast, or (d) an Owncast
// go-live post. Tributary streams are confirmed with the relay's
// https://<relay>/.well-known/moq document (RelayInfo) and then the
// LivenessChecker; PeerTube streams by the Video's state; Owncast streams
// by the server's /api/status. Posts edited to "⏹️ ENDED:", deleted posts
// and streams the checker reports ended are dropped.
//
// # Safety
//
// Only https is used (plain http only to loopback with
// Config.AllowLoopbackHTTP, for tests). URLs named by posts (relays,
// PeerTube, Owncast, ActivityPub objects) are fetched by a client that
// refuses private, loopback, link-local and other special addresses when
// it dials, so redirects and DNS rebinding cannot reach them. Responses are
// size-limited and time-limited; 429 answers are retried after Retry-After
// when that is short, else reported (KindRateLimited). Post HTML is reduced
// to plain text before anything shows it (package livepost).
//
// See docs/FEDIVERSE.md for the announcement convention.
package fedi
