package relay

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// FileConfig is the JSON configuration file of `tributary relay --config`
// (docs/RELAY.md lists every key). Durations are Go duration strings
// ("30s"); bit rates are in kbit/s.
type FileConfig struct {
	Listen     string `json:"listen"`
	PublicAddr string `json:"public_addr"`
	Name       string `json:"name"`
	// CertFile and KeyFile are a PEM certificate chain and key; DevCert
	// makes a self-signed development certificate instead.
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	DevCert  bool   `json:"dev_cert"`
	// SecretFile holds the token secret (at least 16 bytes; surrounding
	// whitespace is trimmed).
	SecretFile         string              `json:"secret_file"`
	Watch              string              `json:"watch"`
	OpenPublish        bool                `json:"open_publish"`
	AllowRelays        []string            `json:"allow_relays"`
	DenyRelays         []string            `json:"deny_relays"`
	AllowOrigins       []string            `json:"allow_origins"`
	DenyOrigins        []string            `json:"deny_origins"`
	LocalOrigins       []string            `json:"local_origins"`
	Upstreams          map[string][]string `json:"upstreams"`
	UpstreamCertHashes []string            `json:"upstream_cert_hashes"`
	UpstreamToken      string              `json:"upstream_token"`
	DisableWellKnown   bool                `json:"disable_well_known"`
	AllowPrivate       bool                `json:"allow_private_upstreams"`
	AdvertiseRelays    []string            `json:"advertise_relays"`
	GracePeriod        string              `json:"grace_period"`
	FailoverGiveUp     string              `json:"failover_give_up"`
	DrainPeriod        string              `json:"drain_period"`
	// MaxConnections, MaxConnsPerIP, MaxOutgoing and MaxOutgoingPerOrigin:
	// 0 (or absent) is the default, a negative value means no limit.
	MaxConnections       int   `json:"max_connections"`
	MaxConnsPerIP        int   `json:"max_connections_per_ip"`
	MaxOutgoing          int   `json:"max_outgoing"`
	MaxOutgoingPerOrigin int   `json:"max_outgoing_per_origin"`
	MaxSubscriptions     int   `json:"max_subscriptions"`
	MaxSubsPerSession    int   `json:"max_subscriptions_per_session"`
	MaxViewerKbps        int64 `json:"max_viewer_kbps"`
	MaxTotalKbps         int64 `json:"max_total_kbps"`
	CacheGroups          int   `json:"cache_groups"`
	// Instance ties the relay to a Mastodon-API server (its base URL);
	// InstanceDomain overrides the domain its members publish under.
	Instance       string `json:"instance"`
	InstanceDomain string `json:"instance_domain"`
	// RelayKeyFile holds the relay's Ed25519 key (created if missing).
	RelayKeyFile string `json:"relay_key_file"`
	// AdminTokenFile holds the admin token (Config.AdminToken; at least 16
	// bytes, surrounding whitespace trimmed).
	AdminTokenFile string `json:"admin_token_file"`
}

// maxConfigFile bounds a configuration file.
const maxConfigFile = 1 << 20

// ReadFileConfig reads a JSON configuration file; unknown keys are errors.
func ReadFileConfig(path string) (*FileConfig, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("relay: config: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		return nil, fmt.Errorf("relay: config %s: %w", path, err)
	}
	if len(b) > maxConfigFile {
		return nil, fmt.Errorf("relay: config %s is larger than %d bytes", path, maxConfigFile)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var fc FileConfig
	if err := dec.Decode(&fc); err != nil {
		return nil, fmt.Errorf("relay: config %s: %w", path, err)
	}
	return &fc, nil
}

// Config turns the file's settings into a Config (reading the certificate
// and the secret).
func (f *FileConfig) Config() (Config, error) {
	c := Config{
		Listen: f.Listen, PublicAddr: f.PublicAddr, Name: f.Name, DevCert: f.DevCert,
		Watch: f.Watch, OpenPublish: f.OpenPublish,
		AllowRelays: f.AllowRelays, DenyRelays: f.DenyRelays, AllowOrigins: f.AllowOrigins, DenyOrigins: f.DenyOrigins,
		LocalOrigins: f.LocalOrigins, Upstreams: f.Upstreams, UpstreamCertHashes: f.UpstreamCertHashes,
		UpstreamToken: f.UpstreamToken, DisableWellKnown: f.DisableWellKnown, AllowPrivateUpstreams: f.AllowPrivate,
		AdvertiseRelays: f.AdvertiseRelays, MaxConnections: f.MaxConnections, MaxConnectionsPerIP: f.MaxConnsPerIP,
		MaxOutgoing: f.MaxOutgoing, MaxOutgoingPerOrigin: f.MaxOutgoingPerOrigin, MaxSubscriptions: f.MaxSubscriptions,
		MaxSubscriptionsPerSession: f.MaxSubsPerSession, MaxViewerBitrate: f.MaxViewerKbps * 1000,
		MaxTotalBitrate: f.MaxTotalKbps * 1000, CacheGroups: f.CacheGroups,
		Instance: f.Instance, InstanceDomain: f.InstanceDomain,
	}
	if f.RelayKeyFile != "" {
		k, err := LoadOrCreateKey(f.RelayKeyFile)
		if err != nil {
			return c, err
		}
		c.RelayKey = k
	}
	for _, d := range []struct {
		name string
		in   string
		out  *time.Duration
	}{{"grace_period", f.GracePeriod, &c.GracePeriod}, {"failover_give_up", f.FailoverGiveUp, &c.FailoverGiveUp}, {"drain_period", f.DrainPeriod, &c.DrainPeriod}} {
		if d.in == "" {
			continue
		}
		v, err := time.ParseDuration(d.in)
		if err != nil || v < 0 {
			return c, fmt.Errorf("relay: config %s: %q is not a duration like \"30s\"", d.name, d.in)
		}
		*d.out = v
	}
	if f.CertFile != "" || f.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return c, fmt.Errorf("relay: certificate: %w", err)
		}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	}
	if f.SecretFile != "" {
		s, err := ReadSecret(f.SecretFile)
		if err != nil {
			return c, err
		}
		c.Secret = s
	}
	if f.AdminTokenFile != "" {
		s, err := ReadSecret(f.AdminTokenFile)
		if err != nil {
			return c, fmt.Errorf("relay: admin token: %w", err)
		}
		c.AdminToken = string(s)
	}
	return c, nil
}

// ReadSecret reads a token secret file (at least 16 bytes after trimming).
func ReadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("relay: secret: %w", err)
	}
	s := []byte(strings.TrimSpace(string(b)))
	if len(s) < 16 {
		return nil, fmt.Errorf("relay: secret in %s is shorter than 16 bytes", path)
	}
	return s, nil
}
