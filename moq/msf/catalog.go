// Package msf implements the catalog of the MOQT Streaming Format
// (draft-ietf-moq-msf): the JSON catalog published on the track named
// "catalog", its delta updates, and the neutral track description the player
// consumes whichever catalog format a broadcast uses (moq/hang converts hang
// catalogs to the same types).
//
// The package does no I/O and starts no goroutines. Every parser bounds its
// input before decoding.
package msf

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// TrackName is the name of the top-level catalog track (draft-ietf-moq-msf, Section 5).
const TrackName = "catalog"

// Version is the MSF version this package writes (Section 5.1.1).
const Version = "draft-01"

// Packaging values (Section 5.2.4, Table 3), plus two of this project's own
// that moq/hang uses for hang containers (never written into an MSF catalog).
const (
	PackagingLOC           = "loc"
	PackagingMediaTimeline = "mediatimeline"
	PackagingEventTimeline = "eventtimeline"
	PackagingCatalog       = "catalog"
	// PackagingHangLegacy marks a hang "legacy" track: each frame is a QUIC
	// varint timestamp in microseconds followed by the codec payload
	// (draft-lcurley-moq-hang, Section 5.1).
	PackagingHangLegacy = "hang-legacy"
	// PackagingHangLOC marks a hang "loc" track: each frame is a LOC frame with
	// its properties in-band (draft-lcurley-moq-hang, Section 5.3; moq/loc.ParseFrame).
	PackagingHangLOC = "hang-loc"
)

// Track roles (Section 5.2.6, Table 4) used by this project.
const (
	RoleVideo = "video"
	RoleAudio = "audio"
)

// Limits checked before decoding.
const (
	// MaxCatalogSize is the largest catalog object accepted, in bytes.
	MaxCatalogSize = 1 << 20
	// MaxTracks is the most tracks one catalog may hold.
	MaxTracks = 1024
	// MaxInitData is the largest decoded initialization data, in bytes.
	MaxInitData = 1 << 16
)

// Errors returned by this package; they are wrapped with details.
var (
	// ErrMalformed reports a catalog that is not valid JSON or breaks a MUST of the draft.
	ErrMalformed = errors.New("msf: malformed catalog")
	// ErrTooLarge reports a catalog above MaxCatalogSize or MaxTracks.
	ErrTooLarge = errors.New("msf: catalog too large")
	// ErrVersion reports a catalog version this package does not understand (Section 5.1.1).
	ErrVersion = errors.New("msf: unsupported catalog version")
	// ErrUnsupported reports a feature this package does not implement.
	ErrUnsupported = errors.New("msf: unsupported")
)

// Catalog is an independent catalog (Section 5.1): the root fields and tracks.
type Catalog struct {
	// Version is the MSF version, e.g. "draft-01" (Section 5.1.1).
	Version string `json:"version"`
	// GeneratedAt is the wall-clock generation time in Unix milliseconds (Section 5.1.2).
	GeneratedAt int64 `json:"generatedAt,omitempty"`
	// IsComplete says the broadcast has ended (Section 5.1.3).
	IsComplete bool `json:"isComplete,omitempty"`
	// Tracks lists the tracks of the broadcast (Section 5.1.4).
	Tracks []Track `json:"tracks"`
	// PublishTracks lists tracks the subscriber may publish to (Section 5.1.5).
	PublishTracks []Track `json:"publishTracks,omitempty"`
	// InitDataList holds initialization data referenced by tracks (Section 5.1.7).
	InitDataList []InitData `json:"initDataList,omitempty"`
}

// Buffers is the target buffer object of a track (Section 5.2.9), in milliseconds.
type Buffers struct {
	Target int64 `json:"target,omitempty"`
	Min    int64 `json:"min,omitempty"`
	Max    int64 `json:"max,omitempty"`
}

// Track is one track object (Section 5.2). Zero-valued optional fields are
// absent; numbers follow the draft's units.
type Track struct {
	Namespace        string   `json:"namespace,omitempty"`        // 5.2.2
	Name             string   `json:"name"`                       // 5.2.3
	Packaging        string   `json:"packaging,omitempty"`        // 5.2.4
	EventType        string   `json:"eventType,omitempty"`        // 5.2.5
	Role             string   `json:"role,omitempty"`             // 5.2.6
	IsLive           bool     `json:"isLive"`                     // 5.2.7
	TargetLatency    int64    `json:"targetLatency,omitempty"`    // 5.2.8, ms
	Buffers          *Buffers `json:"buffers,omitempty"`          // 5.2.9
	Label            string   `json:"label,omitempty"`            // 5.2.10
	RenderGroup      int64    `json:"renderGroup,omitempty"`      // 5.2.11
	AltGroup         int64    `json:"altGroup,omitempty"`         // 5.2.12
	InitRef          string   `json:"initRef,omitempty"`          // 5.2.13
	Depends          []string `json:"depends,omitempty"`          // 5.2.14
	TemporalID       int64    `json:"temporalId,omitempty"`       // 5.2.16
	SpatialID        int64    `json:"spatialId,omitempty"`        // 5.2.17
	Codec            string   `json:"codec,omitempty"`            // 5.2.18, WebCodecs codec string
	MimeType         string   `json:"mimeType,omitempty"`         // 5.2.19
	Framerate        float64  `json:"framerate,omitempty"`        // 5.2.20
	Timescale        int64    `json:"timescale,omitempty"`        // 5.2.21
	Bitrate          int64    `json:"bitrate,omitempty"`          // 5.2.22, bits per second (maximum)
	AvgBitrate       int64    `json:"avgBitrate,omitempty"`       // 5.2.23
	MaxGOPDuration   int64    `json:"maxGopDuration,omitempty"`   // 5.2.24, ms
	MaxGroupDuration int64    `json:"maxGroupDuration,omitempty"` // 5.2.25, ms
	Width            int      `json:"width,omitempty"`            // 5.2.26
	Height           int      `json:"height,omitempty"`           // 5.2.27
	SampleRate       int      `json:"samplerate,omitempty"`       // 5.2.28
	ChannelConfig    string   `json:"channelConfig,omitempty"`    // 5.2.29
	DisplayWidth     int      `json:"displayWidth,omitempty"`     // 5.2.30
	DisplayHeight    int      `json:"displayHeight,omitempty"`    // 5.2.31
	Lang             string   `json:"lang,omitempty"`             // 5.2.32
	ParentName       string   `json:"parentName,omitempty"`       // 5.2.33, deltas only
	ParentNamespace  string   `json:"parentNamespace,omitempty"`  // 5.2.34, deltas only
	TrackDuration    int64    `json:"trackDuration,omitempty"`    // 5.2.35, ms
	EncryptionScheme string   `json:"encryptionScheme,omitempty"` // 5.2.38
}

// InitData is one entry of the Initialization Data List (Section 5.1.7).
type InitData struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data string `json:"data"`
}

// Kind returns "video" or "audio": the role when it says so, otherwise a guess
// from the codec string and fields; "" when neither fits.
func (t *Track) Kind() string {
	switch t.Role {
	case RoleVideo, RoleAudio:
		return t.Role
	}
	c := strings.ToLower(t.Codec)
	for _, p := range []string{"avc", "hvc", "hev", "vp8", "vp09", "vp9", "av01", "svc"} {
		if strings.HasPrefix(c, p) {
			return RoleVideo
		}
	}
	for _, p := range []string{"opus", "mp4a", "flac", "pcm", "ulaw", "alaw", "vorbis", "mp3", "ac-3", "ec-3"} {
		if strings.HasPrefix(c, p) {
			return RoleAudio
		}
	}
	if t.Width > 0 || t.Height > 0 {
		return RoleVideo
	}
	if t.SampleRate > 0 {
		return RoleAudio
	}
	return ""
}

// Channels returns the channel count of an audio track from channelConfig when
// it is a plain number (Section 5.2.29), or from "mono"/"stereo"; 0 if unknown.
func (t *Track) Channels() int {
	switch strings.ToLower(t.ChannelConfig) {
	case "mono":
		return 1
	case "stereo":
		return 2
	}
	n := 0
	for _, r := range t.ChannelConfig {
		if r < '0' || r > '9' || n > 255 {
			return 0
		}
		n = n*10 + int(r-'0')
	}
	return n
}

// TracksOf returns the tracks of one kind ("video" or "audio", see Track.Kind), in catalog order.
func (c *Catalog) TracksOf(kind string) []Track {
	var out []Track
	for _, t := range c.Tracks {
		if t.Kind() == kind {
			out = append(out, t)
		}
	}
	return out
}

// Find returns the track with the given name (and namespace, when not empty).
func (c *Catalog) Find(namespace, name string) (Track, bool) {
	i := findTrack(c.Tracks, namespace, name)
	if i < 0 {
		return Track{}, false
	}
	return c.Tracks[i], true
}

// InitData returns the decoded initialization data a track references through
// initRef (Section 5.2.13), nil when it references none. Only "inline" entries
// are resolved here; the property types need the track or object properties.
func (c *Catalog) InitData(t *Track) ([]byte, error) {
	if t.InitRef == "" {
		return nil, nil
	}
	for _, d := range c.InitDataList {
		if d.ID != t.InitRef {
			continue
		}
		if d.Type != "inline" {
			return nil, fmt.Errorf("%w: init data %q of type %q", ErrUnsupported, d.ID, d.Type)
		}
		if base64.StdEncoding.DecodedLen(len(d.Data)) > MaxInitData {
			return nil, fmt.Errorf("%w: init data %q above %d bytes", ErrTooLarge, d.ID, MaxInitData)
		}
		b, err := base64.StdEncoding.DecodeString(d.Data)
		if err != nil {
			return nil, fmt.Errorf("%w: init data %q: %w", ErrMalformed, d.ID, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("%w: track %q references missing init data %q", ErrMalformed, t.Name, t.InitRef)
}

// SetInitData stores b inline under id and points t at it (Sections 5.1.7 and 5.2.13).
func (c *Catalog) SetInitData(t *Track, id string, b []byte) {
	t.InitRef = id
	enc := base64.StdEncoding.EncodeToString(b)
	for i := range c.InitDataList {
		if c.InitDataList[i].ID == id {
			c.InitDataList[i] = InitData{ID: id, Type: "inline", Data: enc}
			return
		}
	}
	c.InitDataList = append(c.InitDataList, InitData{ID: id, Type: "inline", Data: enc})
}

// Marshal returns the catalog as JSON, after Validate.
func (c *Catalog) Marshal() ([]byte, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cc := *c
	if cc.Tracks == nil {
		cc.Tracks = []Track{}
	}
	return json.Marshal(&cc)
}

// Validate checks the MUSTs of Section 5.1 and 5.2 that this package relies on:
// a version, at most MaxTracks tracks, every track named, names unique per namespace.
func (c *Catalog) Validate() error {
	if c.Version == "" {
		return fmt.Errorf("%w: no version", ErrMalformed)
	}
	if !strings.HasPrefix(c.Version, "draft-") {
		return fmt.Errorf("%w: %q", ErrVersion, c.Version)
	}
	if len(c.Tracks)+len(c.PublishTracks) > MaxTracks {
		return fmt.Errorf("%w: %d tracks", ErrTooLarge, len(c.Tracks)+len(c.PublishTracks))
	}
	return validateTracks(c.Tracks)
}

func validateTracks(ts []Track) error {
	seen := make(map[[2]string]bool, len(ts))
	for i := range ts {
		t := &ts[i]
		if t.Name == "" {
			return fmt.Errorf("%w: track %d has no name", ErrMalformed, i)
		}
		k := [2]string{t.Namespace, t.Name}
		if seen[k] {
			return fmt.Errorf("%w: track %q declared twice", ErrMalformed, t.Name)
		}
		seen[k] = true
	}
	return nil
}

// findTrack returns the index of the track named name, or -1. An empty namespace
// matches any namespace (a track inherits the catalog's, Section 5.2.2).
func findTrack(ts []Track, namespace, name string) int {
	for i := range ts {
		if ts[i].Name == name && (namespace == "" || ts[i].Namespace == namespace) {
			return i
		}
	}
	return -1
}

// Parse decodes one catalog object: either an independent catalog (cat set) or
// a delta update (delta set), told apart by the deltaUpdate field (Section 5.1.6).
// Unknown fields are ignored (Section 5).
func Parse(b []byte) (cat *Catalog, delta *Delta, err error) {
	if len(b) > MaxCatalogSize {
		return nil, nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(b))
	}
	var probe struct {
		DeltaUpdate json.RawMessage `json:"deltaUpdate"`
		Tracks      json.RawMessage `json:"tracks"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if probe.DeltaUpdate != nil && !bytes.Equal(probe.DeltaUpdate, []byte("null")) {
		if probe.Tracks != nil {
			return nil, nil, fmt.Errorf("%w: delta update with a tracks field", ErrMalformed)
		}
		d, err := parseDelta(b)
		if err != nil {
			return nil, nil, err
		}
		return nil, d, nil
	}
	if probe.Tracks == nil || bytes.Equal(probe.Tracks, []byte("null")) {
		return nil, nil, fmt.Errorf("%w: no tracks field", ErrMalformed)
	}
	var c Catalog
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return &c, nil, nil
}

// ParseCatalog decodes an independent catalog; a delta update is an error.
func ParseCatalog(b []byte) (*Catalog, error) {
	c, _, err := Parse(b)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("%w: expected an independent catalog, got a delta update", ErrMalformed)
	}
	return c, nil
}
