package player

import (
	"flag"

	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/player/jitter"
)

// RegisterFlags defines the command-line flags that set o: --latency,
// --no-audio, --insecure and --cert-hash (the last two in o.Dial, which it
// allocates when nil).
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	if o.Dial == nil {
		o.Dial = &moq.DialOptions{}
	}
	fs.Var((*latencyFlag)(&o.Latency), "latency", "latency `target`: realtime, fixed:200ms or range:100ms-400ms")
	fs.BoolVar(&o.NoAudio, "no-audio", false, "do not open the sound card (video runs on the wall clock)")
	fs.BoolVar(&o.Dial.Insecure, "insecure", false, "accept any relay certificate (development only)")
	fs.Func("cert-hash", "accept the relay certificate whose SHA-256 is this `hex`", func(s string) error {
		h, err := moq.ParseCertHash(s)
		if err == nil {
			o.Dial.CertHashes = append(o.Dial.CertHashes, h)
		}
		return err
	})
}

// latencyFlag is a jitter.Target as a flag, in ParseLatency's words.
type latencyFlag jitter.Target

func (l *latencyFlag) String() string {
	switch l.Mode {
	case jitter.Fixed:
		return "fixed:" + l.Delay.String()
	case jitter.Range:
		return "range:" + l.Min.String() + "-" + l.Max.String()
	}
	return "realtime"
}

func (l *latencyFlag) Set(s string) error {
	t, err := ParseLatency(s)
	if err == nil {
		*l = latencyFlag(t)
	}
	return err
}
