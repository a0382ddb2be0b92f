// Package hang reads the media layer of draft-lcurley-moq-hang, the format of
// the most used MoQ publishers: the catalog.json track and the frame containers
// ("legacy" and "loc"). Parse converts a hang catalog into the neutral
// msf.Catalog that the player consumes for MSF broadcasts too, so the player
// needs one code path; each track's Packaging says how its frames are framed
// (msf.PackagingHangLegacy or msf.PackagingHangLOC).
//
// The package does no I/O and starts no goroutines.
package hang

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/tributary-live/tributary/moq/msf"
)

// CatalogTrack is the name of the hang catalog track (draft-lcurley-moq-hang, Section 4).
const CatalogTrack = "catalog.json"

// Container kinds (Section 5); "native" is an older name of "legacy".
const (
	ContainerLegacy = "legacy"
	ContainerCMAF   = "cmaf"
	ContainerLOC    = "loc"
)

// Errors returned by this package; they are wrapped with details.
var (
	// ErrMalformed reports a catalog or frame that does not follow the draft.
	ErrMalformed = errors.New("hang: malformed")
	// ErrTooLarge reports input above this package's limits.
	ErrTooLarge = errors.New("hang: too large")
)

// Container is the container of a rendition (Section 4.5.2). In JSON it is an
// object {"kind": ...}, or a bare string in older catalogs.
type Container struct {
	Kind string `json:"kind"`
	Init string `json:"init,omitempty"`
}

// UnmarshalJSON accepts both the object and the older string form.
func (c *Container) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &c.Kind)
	}
	type plain Container
	return json.Unmarshal(b, (*plain)(c))
}

// Rendition is one rendition of a hang catalog: a WebCodecs decoder config with
// hang's extensions (Sections 4.2, 4.3 and 4.5).
type Rendition struct {
	Codec            string     `json:"codec"`
	Description      string     `json:"description,omitempty"` // hex (Section 4.4)
	CodedWidth       int        `json:"codedWidth,omitempty"`
	CodedHeight      int        `json:"codedHeight,omitempty"`
	Framerate        float64    `json:"framerate,omitempty"`
	Bitrate          int64      `json:"bitrate,omitempty"`
	SampleRate       int        `json:"sampleRate,omitempty"`
	NumberOfChannels int        `json:"numberOfChannels,omitempty"`
	Container        *Container `json:"container,omitempty"`
	Jitter           float64    `json:"jitter,omitempty"` // ms (Section 4.5.3)
	Stalled          bool       `json:"stalled,omitempty"`
	Broadcast        *string    `json:"broadcast,omitempty"` // Section 4.5.1
}

// Display is the render size of the video (Section 4.2).
type Display struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// Video is the video section of a catalog (Section 4.2).
type Video struct {
	Renditions map[string]Rendition `json:"renditions"`
	Display    *Display             `json:"display,omitempty"`
	Rotation   float64              `json:"rotation,omitempty"`
	Flip       bool                 `json:"flip,omitempty"`
}

// Audio is the audio section of a catalog (Section 4.3).
type Audio struct {
	Renditions map[string]Rendition `json:"renditions"`
}

// Catalog is a hang catalog.json document (Section 4.1); custom fields are ignored.
type Catalog struct {
	Video *Video `json:"video,omitempty"`
	Audio *Audio `json:"audio,omitempty"`
}

// Marshal returns the catalog as JSON.
func (c *Catalog) Marshal() ([]byte, error) { return json.Marshal(c) }

// legacyTrack is one entry of the older array form: {"track": {"name"}, "config": {...}}.
type legacyTrack struct {
	Track struct {
		Name string `json:"name"`
	} `json:"track"`
	Config Rendition `json:"config"`
}

// ParseHang decodes a catalog.json document as it is, accepting the current
// schema (renditions maps) and the older one (arrays of {track, config}).
func ParseHang(b []byte) (*Catalog, error) {
	if len(b) > msf.MaxCatalogSize {
		return nil, fmt.Errorf("%w: catalog of %d bytes", ErrTooLarge, len(b))
	}
	var raw struct {
		Video json.RawMessage `json:"video"`
		Audio json.RawMessage `json:"audio"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%w: catalog: %w", ErrMalformed, err)
	}
	var c Catalog
	if len(raw.Video) > 0 && !bytes.Equal(raw.Video, []byte("null")) {
		c.Video = &Video{}
		if raw.Video[0] == '[' {
			m, err := parseOld(raw.Video)
			if err != nil {
				return nil, err
			}
			c.Video.Renditions = m
		} else if err := json.Unmarshal(raw.Video, c.Video); err != nil {
			return nil, fmt.Errorf("%w: video: %w", ErrMalformed, err)
		}
	}
	if len(raw.Audio) > 0 && !bytes.Equal(raw.Audio, []byte("null")) {
		c.Audio = &Audio{}
		if raw.Audio[0] == '[' {
			m, err := parseOld(raw.Audio)
			if err != nil {
				return nil, err
			}
			c.Audio.Renditions = m
		} else if err := json.Unmarshal(raw.Audio, c.Audio); err != nil {
			return nil, fmt.Errorf("%w: audio: %w", ErrMalformed, err)
		}
	}
	n := 0
	if c.Video != nil {
		n += len(c.Video.Renditions)
	}
	if c.Audio != nil {
		n += len(c.Audio.Renditions)
	}
	if n > msf.MaxTracks {
		return nil, fmt.Errorf("%w: %d renditions", ErrTooLarge, n)
	}
	return &c, nil
}

func parseOld(b []byte) (map[string]Rendition, error) {
	var list []legacyTrack
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("%w: track list: %w", ErrMalformed, err)
	}
	m := make(map[string]Rendition, len(list))
	for _, t := range list {
		if t.Track.Name == "" {
			return nil, fmt.Errorf("%w: track without a name", ErrMalformed)
		}
		m[t.Track.Name] = t.Config
	}
	return m, nil
}

// Parse decodes a catalog.json document and converts it to the neutral catalog
// (see Convert).
func Parse(b []byte) (*msf.Catalog, error) {
	c, err := ParseHang(b)
	if err != nil {
		return nil, err
	}
	return c.Convert()
}

// Convert returns the neutral catalog of c: one live track per rendition whose
// container this project reads (legacy or loc) and that lives in the same
// broadcast; the others are left out, as the draft asks of unknown kinds
// (Section 5). Video renditions share render group 1 and alt group 1, audio
// renditions render group 1 and alt group 2; a description becomes inline init
// data named after the track; jitter becomes the minimum buffer.
func (c *Catalog) Convert() (*msf.Catalog, error) {
	out := &msf.Catalog{Version: msf.Version, Tracks: []msf.Track{}}
	add := func(kind string, renditions map[string]Rendition, alt int64) error {
		names := make([]string, 0, len(renditions))
		for name := range renditions {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			r := renditions[name]
			if name == "" {
				return fmt.Errorf("%w: %s rendition without a name", ErrMalformed, kind)
			}
			kindOf := ContainerLegacy
			if r.Container != nil && r.Container.Kind != "" {
				kindOf = r.Container.Kind
			}
			var packaging string
			switch kindOf {
			case ContainerLegacy, "native":
				packaging = msf.PackagingHangLegacy
			case ContainerLOC:
				packaging = msf.PackagingHangLOC
			default:
				continue
			}
			if r.Broadcast != nil && *r.Broadcast != "" {
				continue // a track of another broadcast (Section 4.5.1): not followed
			}
			t := msf.Track{
				Name: name, Packaging: packaging, Role: kind, IsLive: true,
				RenderGroup: 1, AltGroup: alt,
				Codec: r.Codec, Bitrate: r.Bitrate,
				Width: r.CodedWidth, Height: r.CodedHeight, Framerate: r.Framerate,
				SampleRate: r.SampleRate,
			}
			if r.NumberOfChannels > 0 {
				t.ChannelConfig = strconv.Itoa(r.NumberOfChannels)
			}
			if r.Jitter > 0 && r.Jitter < 1e9 {
				t.Buffers = &msf.Buffers{Min: int64(r.Jitter + 0.999)}
			}
			if kind == msf.RoleVideo && c.Video.Display != nil {
				t.DisplayWidth, t.DisplayHeight = c.Video.Display.Width, c.Video.Display.Height
			}
			if r.Description != "" {
				if hex.DecodedLen(len(r.Description)) > msf.MaxInitData {
					return fmt.Errorf("%w: description of %q", ErrTooLarge, name)
				}
				d, err := hex.DecodeString(r.Description)
				if err != nil {
					return fmt.Errorf("%w: description of %q: %w", ErrMalformed, name, err)
				}
				out.SetInitData(&t, name, d)
			}
			out.Tracks = append(out.Tracks, t)
		}
		return nil
	}
	if c.Video != nil {
		if err := add(msf.RoleVideo, c.Video.Renditions, 1); err != nil {
			return nil, err
		}
	}
	if c.Audio != nil {
		if err := add(msf.RoleAudio, c.Audio.Renditions, 2); err != nil {
			return nil, err
		}
	}
	return out, nil
}
