package livepost

import (
	"net/url"

	"github.com/tributary-live/tributary/moq/wellknown"
)

// The /.well-known/moq document is moq/wellknown's: the relay and fedi read
// and write the one type.

// WellKnownPath is where a relay serves its WellKnown document.
const WellKnownPath = wellknown.Path

// MaxWellKnownEntries is the most entries kept from each list of a
// WellKnown document.
const MaxWellKnownEntries = wellknown.MaxEntries

// WellKnown is a relay's /.well-known/moq document.
type WellKnown = wellknown.Doc

// ParseWellKnown decodes and checks a /.well-known/moq document
// (wellknown.Parse).
func ParseWellKnown(body []byte) (*WellKnown, error) { return wellknown.Parse(body) }

// EndpointURL parses s as an absolute URL with one of the schemes, a host,
// no user information and, if present, a port in 1..65535
// (wellknown.EndpointURL).
func EndpointURL(s string, schemes ...string) (*url.URL, bool) {
	return wellknown.EndpointURL(s, schemes...)
}
