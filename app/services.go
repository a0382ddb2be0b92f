package app

import (
	"context"
	"image"
)

// The core drives the pieces of Tributary through these small interfaces.
// realServices fills them with the real pieces that are
// built; unit tests of the core pass fakes. A nil service means the piece is
// not part of this build, and the UI leaves its screen out.
type services struct {
	relay  relayService
	demo   demoService
	player playerService
	fedi   fediService
	live   liveService
}

func (s services) features() Features {
	return Features{
		Fediverse: s.fedi != nil,
		Player:    s.player != nil,
		GoLive:    s.live != nil,
		Relay:     s.relay != nil,
	}
}

// relayConfig is what the personal relay is started with.
type relayConfig struct {
	// Addr is host:port to listen on (port 0 picks one).
	Addr      string
	Policy    RelayPolicy
	Upstreams []string
}

// relayInfo says where a started relay is.
type relayInfo struct {
	Addr     string // host:port it listens on
	URL      string // moqt:// URL of the relay
	CertHash string // hex SHA-256 of its development certificate
	Token    string // the app's own token: may publish anything and watch
}

// relayFigures are the relay's live figures.
type relayFigures struct {
	Broadcasts    []RelayBroadcast
	UpstreamBytes int64
	LocalBytes    int64
}

type relayService interface {
	start(ctx context.Context, cfg relayConfig) (relayHandle, error)
}

type relayHandle interface {
	info() relayInfo
	figures() relayFigures
	close() error
}

// demoService publishes the synthetic demo broadcast to a relay.
type demoService interface {
	start(ctx context.Context, relay relayInfo) (demoHandle, error)
}

type demoHandle interface {
	// stream is the demo broadcast as Live now lists it.
	stream() Stream
	close() error
}

// playEvents are how a player reports; they may be called from any
// goroutine.
type playEvents struct {
	frame  func(img image.Image)
	status func(st PlayerStatus, err error)
}

// playOptions are a playback's settings.
type playOptions struct {
	Latency    LatencyMode
	Quality    Quality
	Volume     float64
	Muted      bool
	CertHashes []string // hex SHA-256 pins for development certificates, if known
	Token      string   // AUTHORIZATION TOKEN for the relay (the personal relay's own)
	Insecure   bool     // accept any certificate (loopback personal relay only)
	Guard      bool     // the address was named by a post: dial it through moq/netguard
}

type playerService interface {
	open(ctx context.Context, url string, opts playOptions, ev playEvents) (playerHandle, error)
}

type playerHandle interface {
	stats() PlayerStats
	setVolume(v float64, muted bool)
	close() error
}

// fediService signs in and finds streams; see fedi.go.
type fediService interface {
	fediBackend
}

// liveService captures and publishes; see live.go.
type liveService interface {
	liveBackend
}

// realServices returns the real pieces built into this binary. A piece that
// cannot start (for example an unreadable account list) is left out, and the
// returned problem says why.
func realServices(opts Options) (services, *Problem) {
	s := services{
		relay:  relayReal{log: opts.Logger},
		demo:   demoReal{log: opts.Logger},
		player: playerReal{log: opts.Logger, noAudio: opts.NoAudio, roots: opts.RootCAs, allowLoopback: opts.AllowLoopbackHTTP},
		live:   liveReal{log: opts.Logger, roots: opts.RootCAs},
	}
	var p *Problem
	f, err := newFediReal(opts.ConfigDir, opts.AllowLoopbackHTTP, opts.RootCAs, opts.Logger)
	if err != nil {
		p = &Problem{What: "Fediverse accounts are unavailable: " + err.Error(), Todo: "Check that " + opts.ConfigDir + " is readable, then restart Tributary.", Err: err}
	} else {
		s.fedi = f
	}
	return s, p
}
