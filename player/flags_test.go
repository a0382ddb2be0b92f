package player

import (
	"flag"
	"io"
	"testing"
	"time"

	"github.com/tributary-live/tributary/player/jitter"
)

// RegisterFlags parses the latency target, sound and certificate flags
// into Options, and shows a target as ParseLatency reads it.
func TestRegisterFlags(t *testing.T) {
	var o Options
	fs := flag.NewFlagSet("play", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.RegisterFlags(fs)
	if err := fs.Parse([]string{"--latency", "range:100ms-400ms", "--no-audio", "--insecure", "--cert-hash", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}); err != nil {
		t.Fatal(err)
	}
	if o.Latency != (jitter.Target{Mode: jitter.Range, Min: 100 * time.Millisecond, Max: 400 * time.Millisecond}) ||
		!o.NoAudio || !o.Dial.Insecure || len(o.Dial.CertHashes) != 1 {
		t.Errorf("parsed: %+v, dial %+v", o, o.Dial)
	}
	if s := fs.Lookup("latency").Value.String(); s != "range:100ms-400ms" {
		t.Errorf("latency shown as %q", s)
	}
	for _, bad := range []string{"--latency=soon", "--cert-hash=zz"} {
		fs := flag.NewFlagSet("play", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		(&Options{}).RegisterFlags(fs)
		if err := fs.Parse([]string{bad}); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}
