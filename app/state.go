package app

import (
	"slices"
	"time"
)

// State is a snapshot of everything the app shows. It is a plain value: the
// core hands out copies, and changing one changes nothing in the core.
type State struct {
	// Settings are the current settings.
	Settings Settings
	// Features says which parts of the app are built into this binary.
	Features Features
	// Accounts are the signed-in Fediverse accounts, the active one first.
	Accounts []Account
	// SignIn is the sign-in flow in progress, if any.
	SignIn SignInState
	// Streams is the Live now list.
	Streams StreamsState
	// Player is what the player shows.
	Player PlayerState
	// Live is the user's own broadcast (Go live).
	Live LiveState
	// Relay is the personal relay.
	Relay RelayState
	// Home is the active account's home relay.
	Home HomeState
	// Chat is the chat of the stream being watched.
	Chat ChatState
	// Notice is a message about the app as a whole (for example a settings
	// file that could not be read), or nil.
	Notice *Problem
}

// Features says which parts of the app this build and this machine offer;
// the UI leaves out the screens of parts that are missing.
type Features struct {
	// Fediverse is sign-in, Live now and announcing.
	Fediverse bool
	// Player is watching streams.
	Player bool
	// GoLive is capturing and publishing.
	GoLive bool
	// Relay is the personal relay.
	Relay bool
}

// Account is a signed-in Fediverse account.
type Account struct {
	// ID identifies the account in the app (user@instance).
	ID string
	// Handle is @user@instance.
	Handle string
	// DisplayName is the account's name as its owner wrote it.
	DisplayName string
	// AvatarURL is the account's picture.
	AvatarURL string
	// Instance is the server's base URL.
	Instance string
}

// Step is a long operation in progress: a label for the user, and whether
// it is still running.
type Step struct {
	// Busy is true while the operation runs.
	Busy bool
	// Label says what is happening ("Registering with example.social…").
	Label string
}

// SignInState is the sign-in flow.
type SignInState struct {
	// Step is the flow's progress.
	Step Step
	// Handle is what the user typed (instance or user@instance).
	Handle string
	// AuthURL is the page the browser was sent to; the UI offers it again
	// in case the browser did not open.
	AuthURL string
	// NeedsCode is true when the app waits for a pasted code.
	NeedsCode bool
	// Err is why the last attempt failed, or nil.
	Err *Problem
}

// StreamState is whether a listed stream is live.
type StreamState string

// The states of a listed stream.
const (
	// StreamLive is live now.
	StreamLive StreamState = "live"
	// StreamEnded has ended.
	StreamEnded StreamState = "ended"
	// StreamUnknown could not be checked.
	StreamUnknown StreamState = "unknown"
)

// Stream is one live stream in Live now.
type Stream struct {
	// ID identifies the stream in the list.
	ID string
	// Who is the streamer's display name.
	Who string
	// Handle is the streamer's @user@instance.
	Handle string
	// AvatarURL is the streamer's picture.
	AvatarURL string
	// Title is the stream's title.
	Title string
	// StartedAt is when it went live (zero if unknown).
	StartedAt time.Time
	// Viewers is the number of viewers, or -1 when unknown.
	Viewers int
	// URLs are where to watch, most preferred first (moqt:// or https://).
	URLs []string
	// CertHashes are SHA-256 pins (hex) of development certificates the
	// stream's relay publishes in its /.well-known/moq.
	CertHashes []string
	// PageURL is a web page for the stream (PeerTube, Owncast, the relay's
	// /watch page), for streams the app cannot play itself.
	PageURL string
	// State is live, ended or unknown.
	State StreamState
	// Demo marks the built-in demo broadcast.
	Demo bool
	// Federated marks a stream found on the Fediverse: its addresses were
	// named by a post, so they are dialled through the address guard.
	Federated bool
	// PostID is the announcing post's id on the account's server (its
	// replies are the stream's chat).
	PostID string
}

// Playable reports whether the app can play the stream itself.
func (s Stream) Playable() bool { return len(s.URLs) > 0 }

// StreamsState is the Live now list.
type StreamsState struct {
	// Step is a refresh in progress.
	Step Step
	// Items are the streams, live ones first, newest first.
	Items []Stream
	// Updated is when the list was last refreshed.
	Updated time.Time
	// Err is why the last refresh failed, or nil.
	Err *Problem
}

// PlayerStatus is what the player is doing.
type PlayerStatus string

// The player's statuses.
const (
	// PlayerIdle plays nothing.
	PlayerIdle PlayerStatus = "idle"
	// PlayerConnecting is connecting or waiting for the first frame.
	PlayerConnecting PlayerStatus = "connecting"
	// PlayerPlaying shows video.
	PlayerPlaying PlayerStatus = "playing"
	// PlayerReconnecting lost the stream and is getting it back.
	PlayerReconnecting PlayerStatus = "reconnecting"
	// PlayerEnded: the broadcast ended.
	PlayerEnded PlayerStatus = "ended"
	// PlayerFailed gave up; Err says why.
	PlayerFailed PlayerStatus = "failed"
)

// PlayerStats are the figures of the stats overlay.
type PlayerStats struct {
	// LatencyMS is glass-to-glass latency, median of the last seconds.
	LatencyMS float64
	// BitrateKbps is the received bitrate.
	BitrateKbps float64
	// Frames is frames shown.
	Frames int64
	// Dropped is frames dropped (late or undecodable).
	Dropped int64
	// Stalls counts times playback waited for data.
	Stalls int64
	// RTTMS is the round-trip time to the relay.
	RTTMS float64
	// Width and Height are the video's size.
	Width, Height int
	// Codec names the video codec.
	Codec string
	// RelayPath is the chain of relays the stream came through.
	RelayPath []string
}

// PlayerState is the player.
type PlayerState struct {
	// Status is what the player is doing.
	Status PlayerStatus
	// Step is progress while connecting.
	Step Step
	// Stream is what is playing.
	Stream Stream
	// URL is the URL in use.
	URL string
	// Via says how the stream is reached: "via social.example" through
	// the home relay, or "direct" from the streamer's relay.
	Via string
	// Reconnects counts reconnections of this playback.
	Reconnects int
	// Stats are the overlay's figures.
	Stats PlayerStats
	// Err is why playback failed, or nil.
	Err *Problem
}

// Visibility is who sees an announcement.
type Visibility string

// The visibilities of a Mastodon status.
const (
	// VisibilityPublic is public.
	VisibilityPublic Visibility = "public"
	// VisibilityUnlisted is public but not on public timelines.
	VisibilityUnlisted Visibility = "unlisted"
	// VisibilityFollowers is followers only.
	VisibilityFollowers Visibility = "private"
)

// Visibilities lists the visibilities in the order the UI shows them.
var Visibilities = []Visibility{VisibilityPublic, VisibilityUnlisted, VisibilityFollowers}

// Label is the visibility's name for people.
func (v Visibility) Label() string {
	switch v {
	case VisibilityPublic:
		return "Public"
	case VisibilityUnlisted:
		return "Unlisted"
	case VisibilityFollowers:
		return "Followers only"
	}
	return string(v)
}

// Device is a camera or microphone.
type Device struct {
	// ID identifies the device to the capture layer.
	ID string
	// Label is the device's name for people.
	Label string
}

// LiveOptions are the choices of the Go live screen.
type LiveOptions struct {
	// Title is the stream's title.
	Title string
	// Camera and Microphone are device IDs.
	Camera, Microphone string
	// Visibility is who sees the announcement.
	Visibility Visibility
	// Announce posts the go-live status to followers.
	Announce bool
}

// LiveState is the user's own broadcast.
type LiveState struct {
	// Cameras and Microphones are the devices found.
	Cameras, Microphones []Device
	// Options are the current choices.
	Options LiveOptions
	// Step is progress while starting or stopping.
	Step Step
	// Live is true while broadcasting.
	Live bool
	// Since is when the broadcast started.
	Since time.Time
	// URL is where viewers watch.
	URL string
	// Viewers is the number of viewers, or -1 when unknown.
	Viewers int
	// UploadKbps is the upload bitrate.
	UploadKbps float64
	// MicLevel is the microphone's level, 0 to 1.
	MicLevel float64
	// Announced is the URL of the announcement, if one was posted.
	Announced string
	// Chat is the chat of the broadcast (the replies to its announcement).
	Chat ChatState
	// Err is why the last step failed, or nil.
	Err *Problem
}

// RelayBroadcast is one broadcast the personal relay serves.
type RelayBroadcast struct {
	// Name is the broadcast's namespace as a path.
	Name string
	// Viewers is the number of local viewers.
	Viewers int
	// OutKbps is the bandwidth sent to viewers.
	OutKbps float64
	// Upstream is true when the relay pulls it from another relay.
	Upstream bool
}

// RelayState is the personal relay.
type RelayState struct {
	// Running is true while the relay serves.
	Running bool
	// Step is progress while starting or stopping.
	Step Step
	// Addr is the address it listens on (host:port).
	Addr string
	// URL is its MoQ URL.
	URL string
	// CertHash is the SHA-256 of its development certificate, hex.
	CertHash string
	// Broadcasts are what it serves.
	Broadcasts []RelayBroadcast
	// UpstreamBytes is bytes received from other relays (what this
	// instance pays for), LocalBytes bytes sent to local viewers.
	UpstreamBytes, LocalBytes int64
	// Err is why the relay stopped or failed to start, or nil.
	Err *Problem
}

// clone deep-copies the slices of s so the copy shares nothing.
func (s State) clone() State {
	s.Settings.Upstreams = slices.Clone(s.Settings.Upstreams)
	s.Accounts = slices.Clone(s.Accounts)
	items := make([]Stream, len(s.Streams.Items))
	for i, it := range s.Streams.Items {
		it.URLs = slices.Clone(it.URLs)
		it.CertHashes = slices.Clone(it.CertHashes)
		items[i] = it
	}
	s.Streams.Items = items
	s.Player.Stream.URLs = slices.Clone(s.Player.Stream.URLs)
	s.Player.Stream.CertHashes = slices.Clone(s.Player.Stream.CertHashes)
	s.Player.Stats.RelayPath = slices.Clone(s.Player.Stats.RelayPath)
	s.Live.Cameras = slices.Clone(s.Live.Cameras)
	s.Live.Microphones = slices.Clone(s.Live.Microphones)
	s.Relay.Broadcasts = slices.Clone(s.Relay.Broadcasts)
	s.Chat.Messages = slices.Clone(s.Chat.Messages)
	s.Live.Chat.Messages = slices.Clone(s.Live.Chat.Messages)
	if h := s.Home.Relay; h != nil {
		c := *h
		c.CertHashes, c.Publish = slices.Clone(h.CertHashes), slices.Clone(h.Publish)
		s.Home.Relay = &c
	}
	return s
}
