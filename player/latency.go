package player

import (
	"fmt"
	"strings"
	"time"

	"github.com/tributary-live/tributary/player/jitter"
)

// ParseLatency parses a latency target: "realtime", "fixed:200ms" or
// "range:100ms-400ms".
func ParseLatency(s string) (jitter.Target, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch {
	case s == "" || s == "realtime" || s == "real-time":
		return jitter.Target{Mode: jitter.Realtime}, nil
	case strings.HasPrefix(s, "fixed:"):
		d, err := time.ParseDuration(strings.TrimPrefix(s, "fixed:"))
		if err != nil || d < 0 || d > jitter.MaxDelay {
			return jitter.Target{}, fmt.Errorf("player: latency %q: want fixed:<duration> up to %v", s, jitter.MaxDelay)
		}
		return jitter.Target{Mode: jitter.Fixed, Delay: d}, nil
	case strings.HasPrefix(s, "range:"):
		lo, hi, ok := strings.Cut(strings.TrimPrefix(s, "range:"), "-")
		a, err1 := time.ParseDuration(lo)
		b, err2 := time.ParseDuration(hi)
		if !ok || err1 != nil || err2 != nil || a < 0 || b < a || b > jitter.MaxDelay {
			return jitter.Target{}, fmt.Errorf("player: latency %q: want range:<min>-<max>, min <= max", s)
		}
		return jitter.Target{Mode: jitter.Range, Min: a, Max: b}, nil
	}
	return jitter.Target{}, fmt.Errorf("player: latency %q: want realtime, fixed:200ms or range:100ms-400ms", s)
}
