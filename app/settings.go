package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LatencyMode says how the player trades delay for smoothness.
type LatencyMode string

// The latency modes the player offers.
const (
	// LatencyRealTime follows measured round-trip time and jitter: lowest delay.
	LatencyRealTime LatencyMode = "realtime"
	// LatencyLow holds a small fixed delay (LowLatencyTarget).
	LatencyLow LatencyMode = "low"
	// LatencySmooth holds a larger fixed delay that rides out bad networks.
	LatencySmooth LatencyMode = "smooth"
)

// LatencyModes lists the modes in the order the UI shows them.
var LatencyModes = []LatencyMode{LatencyRealTime, LatencyLow, LatencySmooth}

// Label is the mode's name for people.
func (m LatencyMode) Label() string {
	switch m {
	case LatencyRealTime:
		return "Real time"
	case LatencyLow:
		return "Low delay"
	case LatencySmooth:
		return "Smooth"
	}
	return string(m)
}

// Target is the playout delay the mode aims for (0 for real time, which
// derives it from the network).
func (m LatencyMode) Target() time.Duration {
	switch m {
	case LatencyLow:
		return 300 * time.Millisecond
	case LatencySmooth:
		return 1500 * time.Millisecond
	}
	return 0
}

// Quality is a default rendition and encoding preset.
type Quality string

// The qualities the app offers.
const (
	// QualityAuto lets the player pick the best rendition the link carries.
	QualityAuto Quality = "auto"
	// Quality360 is 640x360.
	Quality360 Quality = "360p"
	// Quality720 is 1280x720.
	Quality720 Quality = "720p"
	// Quality1080 is 1920x1080.
	Quality1080 Quality = "1080p"
)

// Qualities lists the qualities in the order the UI shows them.
var Qualities = []Quality{QualityAuto, Quality360, Quality720, Quality1080}

// RelayPolicy says who may watch through the personal relay.
type RelayPolicy string

// The watch policies of the personal relay.
const (
	// PolicyCommunity serves only viewers holding a token of this relay.
	PolicyCommunity RelayPolicy = "community"
	// PolicyOpen serves anyone.
	PolicyOpen RelayPolicy = "open"
)

// Settings are the user's choices, saved between runs.
type Settings struct {
	// HomeRelayURL is where Go live publishes (moqt:// or https://); empty
	// means the personal relay.
	HomeRelayURL string `json:"home_relay_url,omitempty"`
	// Latency is the player's latency mode.
	Latency LatencyMode `json:"latency"`
	// Quality is the default rendition to watch and preset to send.
	Quality Quality `json:"quality"`
	// RelayEnabled runs the personal relay.
	RelayEnabled bool `json:"relay_enabled"`
	// RelayPort is the UDP (MoQ) and TCP (HTTPS) port of the personal relay;
	// 0 picks a free one.
	RelayPort int `json:"relay_port"`
	// RelayPolicy says who may watch through the personal relay.
	RelayPolicy RelayPolicy `json:"relay_policy"`
	// Upstreams are relays the personal relay pulls remote broadcasts from.
	Upstreams []string `json:"upstreams,omitempty"`
	// Volume is the player's volume, 0 to 1.
	Volume float64 `json:"volume"`
	// Muted silences the player.
	Muted bool `json:"muted"`
}

// DefaultSettings are the settings of a first run.
func DefaultSettings() Settings {
	return Settings{
		Latency:      LatencyLow,
		Quality:      QualityAuto,
		RelayEnabled: defaultRelayEnabled,
		RelayPolicy:  PolicyCommunity,
		Volume:       0.8,
	}
}

// Validate checks the settings and returns a Problem naming the first field
// that is wrong.
func (s Settings) Validate() error {
	if s.HomeRelayURL != "" {
		if err := CheckStreamURL(s.HomeRelayURL); err != nil {
			return &Problem{What: "The home relay URL is not valid: " + err.Error(), Todo: "Enter a moqt:// or https:// URL, or leave it empty to use your personal relay."}
		}
	}
	if s.RelayPort < 0 || s.RelayPort > 65535 {
		return &Problem{What: fmt.Sprintf("Port %d is not a port number.", s.RelayPort), Todo: "Choose a port from 1024 to 65535, or 0 to pick a free one."}
	}
	if s.RelayPort > 0 && s.RelayPort < 1024 {
		return &Problem{What: fmt.Sprintf("Port %d needs administrator rights.", s.RelayPort), Todo: "Choose a port from 1024 to 65535, or 0 to pick a free one."}
	}
	for _, u := range s.Upstreams {
		if err := CheckStreamURL(u); err != nil {
			return &Problem{What: fmt.Sprintf("Upstream %q is not valid: %v", u, err), Todo: "Enter one moqt:// or https:// relay URL per line."}
		}
	}
	switch s.RelayPolicy {
	case PolicyCommunity, PolicyOpen:
	default:
		return &Problem{What: fmt.Sprintf("Unknown relay policy %q.", s.RelayPolicy), Todo: "Choose Community or Open."}
	}
	if s.Volume < 0 || s.Volume > 1 {
		return &Problem{What: "Volume must be between 0 and 1.", Todo: "Move the volume slider."}
	}
	return nil
}

// normalise fills in defaults for fields an older or hand-edited file left
// empty or wrong, so a bad settings file never stops the app.
func (s Settings) normalise() Settings {
	d := DefaultSettings()
	known := false
	for _, m := range LatencyModes {
		known = known || m == s.Latency
	}
	if !known {
		s.Latency = d.Latency
	}
	known = false
	for _, q := range Qualities {
		known = known || q == s.Quality
	}
	if !known {
		s.Quality = d.Quality
	}
	if s.RelayPolicy != PolicyOpen {
		s.RelayPolicy = PolicyCommunity
	}
	if s.RelayPort < 0 || s.RelayPort > 65535 {
		s.RelayPort = 0
	}
	if s.Volume < 0 || s.Volume > 1 {
		s.Volume = d.Volume
	}
	return s
}

// CheckStreamURL accepts the URLs a stream or relay may have: moqt:// or
// https:// with a host.
func CheckStreamURL(raw string) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return fmt.Errorf("cannot read the URL: %w", err)
	}
	switch u.Scheme {
	case "moqt", "https", "moq":
	case "":
		return errors.New("it has no scheme (moqt:// or https://)")
	default:
		return fmt.Errorf("scheme %q is not moqt or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return errors.New("it has no host")
	}
	return nil
}

const settingsFile = "settings.json"

// maxSettingsSize bounds the settings file read at start.
const maxSettingsSize = 1 << 20

// loadSettings reads settings from dir; a missing file gives the defaults,
// a damaged one the defaults and an error saying so.
func loadSettings(dir string) (Settings, error) {
	p := filepath.Join(dir, settingsFile)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultSettings(), nil
	}
	if err != nil {
		return DefaultSettings(), fmt.Errorf("open settings: %w", err)
	}
	defer f.Close()
	s := DefaultSettings()
	dec := json.NewDecoder(&limitedReader{r: f, n: maxSettingsSize})
	if err := dec.Decode(&s); err != nil {
		return DefaultSettings(), fmt.Errorf("read settings %s: %w", p, err)
	}
	return s.normalise(), nil
}

// saveSettings writes settings to dir atomically with mode 0600.
func saveSettings(dir string, s Settings) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".settings-*")
	if err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("save settings: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save settings: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, settingsFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}

type limitedReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("settings file is larger than 1 MiB")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}
