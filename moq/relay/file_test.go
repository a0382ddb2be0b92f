package relay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFileConfig(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("  0123456789abcdef0123  \n"), 0o600)
	admin := filepath.Join(dir, "admin")
	os.WriteFile(admin, []byte("admin-token-0123456789\n"), 0o600)
	path := filepath.Join(dir, "relay.json")
	os.WriteFile(path, []byte(`{"listen":"127.0.0.1:4443","dev_cert":true,"watch":"community","secret_file":"`+secret+`",
		"upstreams":{"example.social":["moqt://relay.example.social:443"]},"grace_period":"5s","max_total_kbps":1000,
		"admin_token_file":"`+admin+`","max_connections":-1,"max_connections_per_ip":8,"max_outgoing":16,"max_outgoing_per_origin":2}`), 0o600)
	fc, err := ReadFileConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fc.Config()
	if err != nil {
		t.Fatal(err)
	}
	if c.GracePeriod != 5*time.Second || c.MaxTotalBitrate != 1_000_000 || string(c.Secret) != "0123456789abcdef0123" ||
		c.Watch != WatchCommunity || len(c.Upstreams["example.social"]) != 1 || !c.DevCert ||
		c.AdminToken != "admin-token-0123456789" || c.MaxConnections != -1 || c.MaxConnectionsPerIP != 8 ||
		c.MaxOutgoing != 16 || c.MaxOutgoingPerOrigin != 2 {
		t.Errorf("config %+v", c)
	}
	if _, err := New(c); err != nil {
		t.Errorf("New: %v", err)
	}

	for _, bad := range []struct{ body, want string }{
		{`{"listen":"x","bogus":1}`, "unknown field"},
		{`{"grace_period":"soon"}`, "grace_period"},
		{`{"secret_file":"` + filepath.Join(dir, "missing") + `"}`, "secret"},
		{`{"admin_token_file":"` + secret + `x"}`, "admin token"},
		{`{"cert_file":"` + filepath.Join(dir, "missing") + `","key_file":"x"}`, "certificate"},
		{`[`, "config"},
	} {
		p := filepath.Join(dir, "bad.json")
		os.WriteFile(p, []byte(bad.body), 0o600)
		fc, err := ReadFileConfig(p)
		if err == nil {
			_, err = fc.Config()
		}
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: error %v, want one mentioning %q", bad.body, err, bad.want)
		}
	}
	if _, err := New(Config{Listen: "127.0.0.1:0", Watch: "friends"}); err == nil {
		t.Error("unknown watch policy accepted")
	}
	if _, err := New(Config{Listen: "127.0.0.1:0", Secret: []byte("short")}); err == nil {
		t.Error("short secret accepted")
	}
}
