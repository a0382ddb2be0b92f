package app

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/tributary-live/tributary/moq/relay"
)

// relayReal is the personal relay: the same relay as `tributary relay`
// (moq/relay), on 127.0.0.1 with a development certificate. The app mints
// itself a token that may publish any namespace and watch, so its demo, its
// go-live broadcasts and its player pass the community policy.
type relayReal struct {
	log *slog.Logger
}

type relayRealHandle struct {
	r   *relay.Relay
	inf relayInfo
}

// localOrigin is the first namespace field of broadcasts that only ever
// come from the app itself (the demo): never pulled from elsewhere.
const localOrigin = "tributary"

func (rr relayReal) start(ctx context.Context, cfg relayConfig) (relayHandle, error) {
	watch := relay.WatchCommunity
	if cfg.Policy == PolicyOpen {
		watch = relay.WatchOpen
	}
	rcfg := relay.Config{
		Listen:       cfg.Addr,
		DevCert:      true,
		Watch:        watch,
		LocalOrigins: []string{localOrigin},
		Logger:       rr.log,
	}
	if len(cfg.Upstreams) > 0 {
		rcfg.Upstreams = map[string][]string{"*": cfg.Upstreams}
	}
	r, err := relay.New(rcfg)
	if err != nil {
		return nil, err
	}
	if err := r.Start(ctx); err != nil {
		return nil, err
	}
	tok, err := r.MintToken(relay.Claims{Subject: "tributary-app", Publish: []string{"*"}, Watch: true})
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("relay token: %w", err)
	}
	addr := r.Addr()
	h := &relayRealHandle{r: r, inf: relayInfo{
		Addr:     net.JoinHostPort(addr.IP.String(), fmt.Sprint(addr.Port)),
		URL:      r.URL(),
		CertHash: hex.EncodeToString(r.CertHash()),
		Token:    tok,
	}}
	return h, nil
}

func (h *relayRealHandle) info() relayInfo { return h.inf }

func (h *relayRealHandle) figures() relayFigures {
	st := h.r.Stats()
	f := relayFigures{UpstreamBytes: int64(st.UpstreamBytes), LocalBytes: int64(st.LocalBytes)}
	for _, b := range st.Broadcasts {
		f.Broadcasts = append(f.Broadcasts, RelayBroadcast{
			Name:     b.Path,
			Viewers:  b.Viewers,
			OutKbps:  b.OutBps / 1000,
			Upstream: b.Source == "upstream",
		})
	}
	return f
}

func (h *relayRealHandle) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := h.r.Shutdown(ctx); err != nil {
		return h.r.Close()
	}
	return nil
}
