package player

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/tributary-live/tributary/moq/wire"
)

// ParseURL splits a stream URL into the URL to dial and the broadcast's
// track namespace. The namespace is the "ns" (or "namespace") query
// parameter in the form of wire.ParseNamespaceString when present (it is
// removed from the dial URL), else the URL path's segments:
// moqt://relay.example:4443/alice/live plays namespace ("alice", "live").
func ParseURL(raw string) (dial string, ns wire.Namespace, err error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", nil, fmt.Errorf("player: stream URL: %w", err)
	}
	switch u.Scheme {
	case "moqt", "https":
	default:
		return "", nil, fmt.Errorf("player: stream URL scheme %q: want moqt:// or https://", u.Scheme)
	}
	if u.Host == "" {
		return "", nil, fmt.Errorf("player: stream URL %q has no host", raw)
	}
	q := u.Query()
	for _, key := range []string{"ns", "namespace"} {
		if v := q.Get(key); v != "" {
			ns, err = wire.ParseNamespaceString(v)
			if err != nil {
				return "", nil, fmt.Errorf("player: namespace %q: %w", v, err)
			}
			q.Del(key)
		}
	}
	u.RawQuery = q.Encode()
	if ns == nil {
		var fields []string
		for _, f := range strings.Split(u.Path, "/") {
			if f != "" {
				fields = append(fields, f)
			}
		}
		if len(fields) == 0 {
			return "", nil, fmt.Errorf("player: stream URL %q names no broadcast (no path and no ns parameter)", raw)
		}
		ns = wire.NewNamespace(fields...)
	}
	return u.String(), ns, nil
}
