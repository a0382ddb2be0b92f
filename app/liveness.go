package app

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"

	"github.com/tributary-live/tributary/fedi"
	"github.com/tributary-live/tributary/moq"
	"github.com/tributary-live/tributary/moq/msf"
	"github.com/tributary-live/tributary/moq/netguard"
	"github.com/tributary-live/tributary/moq/wire"
	"github.com/tributary-live/tributary/player"
)

// hangCatalog is the catalog track of hang broadcasts (draft-lcurley-moq-hang).
const hangCatalog = "catalog.json"

// moqLiveness confirms a discovered stream on its relay with TRACK_STATUS
// for the broadcast's catalog (draft-ietf-moq-transport-18 §9.18): the relay
// answering DOES_NOT_EXIST for both the MSF and the hang catalog means the
// broadcast ended; any other failure leaves the stream listed, unconfirmed.
//
// The relay is named by a post, so the dial goes through the address guard
// (moq/netguard): no private or internal addresses (loopback only when
// allowLoopback, for tests).
func moqLiveness(roots *x509.CertPool, allowLoopback bool, log *slog.Logger) fedi.LivenessChecker {
	return fedi.LivenessFunc(func(ctx context.Context, s fedi.LiveStream) (fedi.Liveness, error) {
		if len(s.RelayURLs) == 0 {
			return fedi.LivenessUnknown, nil
		}
		dialURL, ns, err := player.ParseURL(s.RelayURLs[0])
		if err != nil {
			return fedi.LivenessUnknown, err
		}
		opts := &moq.DialOptions{Resolve: netguard.Guard{AllowLoopback: allowLoopback}.ResolveAddr}
		if roots != nil {
			opts.TLS = &tls.Config{RootCAs: roots}
		}
		if s.Relay != nil {
			for _, h := range s.Relay.CertHashes {
				if b, err := moq.ParseCertHash(h); err == nil {
					opts.CertHashes = append(opts.CertHashes, b)
				}
			}
		}
		sess, err := moq.Dial(ctx, dialURL, &moq.Config{Logger: log, Implementation: "tributary-app"}, opts)
		if err != nil {
			return fedi.LivenessUnknown, err
		}
		defer sess.Close()
		missing := 0
		for _, name := range []string{msf.TrackName, hangCatalog} {
			_, err := sess.TrackStatus(ctx, wire.FullTrackName{Namespace: ns, Name: []byte(name)}, nil)
			if err == nil {
				return fedi.LivenessLive, nil
			}
			var re *moq.RequestError
			if !errors.As(err, &re) || re.Code != wire.RequestDoesNotExist {
				return fedi.LivenessUnknown, err
			}
			missing++
		}
		if missing == 2 {
			return fedi.LivenessEnded, nil
		}
		return fedi.LivenessUnknown, nil
	})
}
