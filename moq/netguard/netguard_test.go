package netguard

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// TestPublic classifies one address of every special-purpose range, the
// edges of the ranges that border public space, IPv4-mapped IPv6, the
// unspecified addresses and NAT64.
func TestPublic(t *testing.T) {
	for _, c := range []struct {
		ip   string
		want bool
		why  string
	}{
		{"8.8.8.8", true, "public IPv4"},
		{"1.1.1.1", true, "public IPv4"},
		{"2606:4700::1111", true, "public IPv6"},
		{"2a00:1450:4001:80b::200e", true, "public IPv6"},

		{"0.0.0.0", false, "unspecified IPv4"},
		{"0.1.2.3", false, "this network 0.0.0.0/8"},
		{"10.0.0.1", false, "private 10/8"},
		{"10.255.255.255", false, "private 10/8, last"},
		{"11.0.0.0", true, "just after 10/8"},
		{"9.255.255.255", true, "just before 10/8"},
		{"100.64.0.1", false, "CGNAT 100.64/10"},
		{"100.127.255.255", false, "CGNAT 100.64/10, last"},
		{"100.63.255.255", true, "just before 100.64/10"},
		{"100.128.0.0", true, "just after 100.64/10"},
		{"127.0.0.1", false, "loopback"},
		{"127.255.255.254", false, "loopback 127/8"},
		{"169.254.169.254", false, "link-local, cloud metadata"},
		{"172.16.0.1", false, "private 172.16/12"},
		{"172.31.255.255", false, "private 172.16/12, last"},
		{"172.15.255.255", true, "just before 172.16/12"},
		{"172.32.0.0", true, "just after 172.16/12"},
		{"192.0.0.8", false, "IETF protocol assignments 192.0.0/24"},
		{"192.0.2.1", false, "TEST-NET-1"},
		{"192.88.99.1", false, "6to4 relay anycast"},
		{"192.168.1.1", false, "private 192.168/16"},
		{"198.18.0.1", false, "benchmarking 198.18/15"},
		{"198.19.255.255", false, "benchmarking 198.18/15, last"},
		{"198.17.255.255", true, "just before 198.18/15"},
		{"198.20.0.0", true, "just after 198.18/15"},
		{"198.51.100.7", false, "TEST-NET-2"},
		{"203.0.113.9", false, "TEST-NET-3"},
		{"224.0.0.1", false, "multicast"},
		{"239.255.255.250", false, "multicast (SSDP)"},
		{"240.0.0.1", false, "reserved 240/4"},
		{"255.255.255.255", false, "limited broadcast"},

		{"::", false, "unspecified IPv6"},
		{"::1", false, "IPv6 loopback"},
		{"::7f00:1", false, "IPv4-compatible 127.0.0.1 (deprecated, outside 2000::/3)"},
		{"::808:808", false, "IPv4-compatible 8.8.8.8 (deprecated, outside 2000::/3)"},
		{"100::1", false, "discard-only 100::/64"},
		{"2001::1", false, "Teredo"},
		{"2001:1::1", false, "IETF protocol assignments 2001::/23"},
		{"2001:db8::1", false, "documentation 2001:db8::/32"},
		{"2002:a00:1::1", false, "6to4"},
		{"3fff::1", false, "documentation 3fff::/20"},
		{"5f00::1", false, "SRv6 SIDs"},
		{"fc00::1", false, "unique local fc00::/7"},
		{"fd00::1", false, "unique local fd00::/8"},
		{"fe80::1", false, "IPv6 link-local"},
		{"fe80::1%eth0", false, "IPv6 link-local with a zone"},
		{"fec0::1", false, "site-local"},
		{"ff02::1", false, "IPv6 multicast"},

		{"::ffff:8.8.8.8", true, "IPv4-mapped public"},
		{"::ffff:127.0.0.1", false, "IPv4-mapped loopback"},
		{"::ffff:10.0.0.1", false, "IPv4-mapped private"},
		{"::ffff:100.64.0.1", false, "IPv4-mapped CGNAT"},
		{"::ffff:169.254.169.254", false, "IPv4-mapped metadata"},
		{"::ffff:0.0.0.0", false, "IPv4-mapped unspecified"},

		{"64:ff9b::808:808", true, "NAT64 of 8.8.8.8"},
		{"64:ff9b::a00:1", false, "NAT64 of 10.0.0.1"},
		{"64:ff9b::7f00:1", false, "NAT64 of 127.0.0.1"},
		{"64:ff9b::a9fe:a9fe", false, "NAT64 of 169.254.169.254"},
		{"64:ff9b::6440:1", false, "NAT64 of 100.64.0.1"},
		{"64:ff9b::c612:1", false, "NAT64 of 198.18.0.1"},
		{"64:ff9b::", false, "NAT64 of 0.0.0.0"},
		{"64:ff9b:1::808:808", false, "local-use NAT64 64:ff9b:1::/48"},
	} {
		ip := netip.MustParseAddr(c.ip)
		if got := Public(ip); got != c.want {
			t.Errorf("Public(%s) = %v, want %v (%s)", c.ip, got, c.want, c.why)
		}
		if err := (Guard{}).Check(ip); (err == nil) != c.want || (err != nil && !errors.Is(err, ErrBlocked)) {
			t.Errorf("Guard{}.Check(%s) = %v (%s)", c.ip, err, c.why)
		}
	}
	if Public(netip.Addr{}) {
		t.Error("the zero Addr is public")
	}
}

// TestEveryRangeIsRefused checks the first and last address of every listed
// range, and their IPv4-mapped forms.
func TestEveryRangeIsRefused(t *testing.T) {
	for _, r := range specialPurpose {
		first := r.prefix.Masked().Addr()
		last := lastAddr(r.prefix)
		for _, ip := range []netip.Addr{first, last} {
			if Public(ip) {
				t.Errorf("%s of %s (%s) is public", ip, r.prefix, r.what)
			}
			if ip.Is4() {
				if m := netip.AddrFrom16(ip.As16()); Public(m) {
					t.Errorf("%s (mapped %s, %s) is public", m, r.prefix, r.what)
				}
			}
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestGuardSwitches(t *testing.T) {
	for _, c := range []struct {
		g    Guard
		ip   string
		want bool
	}{
		{Guard{}, "127.0.0.1", false},
		{Guard{AllowLoopback: true}, "127.0.0.1", true},
		{Guard{AllowLoopback: true}, "127.3.2.1", true},
		{Guard{AllowLoopback: true}, "::1", true},
		{Guard{AllowLoopback: true}, "::ffff:127.0.0.1", true},
		{Guard{AllowLoopback: true}, "10.0.0.1", false},
		{Guard{AllowLoopback: true}, "0.0.0.0", false},
		{Guard{AllowLoopback: true}, "::", false},
		{Guard{AllowLoopback: true}, "64:ff9b::7f00:1", false},
		{Guard{AllowPrivate: true}, "10.0.0.1", true},
		{Guard{AllowPrivate: true}, "169.254.169.254", true},
		{Guard{AllowPrivate: true}, "127.0.0.1", true},
		{Guard{AllowPrivate: true}, "8.8.8.8", true},
	} {
		if got := c.g.Allowed(netip.MustParseAddr(c.ip)); got != c.want {
			t.Errorf("%+v.Allowed(%s) = %v, want %v", c.g, c.ip, got, c.want)
		}
	}
	if (Guard{AllowPrivate: true}).Allowed(netip.Addr{}) {
		t.Error("the zero Addr is allowed")
	}
}

func TestCheckAddress(t *testing.T) {
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"8.8.8.8:443", true},
		{"[2606:4700::1111]:443", true},
		{"[::ffff:8.8.8.8]:53", true},
		{"127.0.0.1:80", false},
		{"[::1]:80", false},
		{"[fe80::1%eth0]:80", false},
		{"0.0.0.0:80", false},
		{"[::]:80", false},
		{"100.64.0.1:443", false},
		{"198.18.0.1:443", false},
		{"[64:ff9b::a00:1]:443", false},
		{"8.8.8.8", false},
		{"example.org:443", false},
		{"", false},
		{":443", false},
	} {
		err := Guard{}.CheckAddress(c.addr)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrBlocked)) {
			t.Errorf("CheckAddress(%q) = %v, want ok %v", c.addr, err, c.ok)
		}
		if err := (Guard{}).Control("tcp", c.addr, nil); (err == nil) != c.ok {
			t.Errorf("Control(%q) = %v, want ok %v", c.addr, err, c.ok)
		}
	}
}

// TestControlRefusesBeforeConnecting dials a loopback listener through a
// net.Dialer with the guard's Control: refused (nothing is accepted), and
// allowed with AllowLoopback. A name resolving to loopback ("localhost",
// what DNS rebinding gives) is refused as well.
func TestControlRefusesBeforeConnecting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan struct{}, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- struct{}{}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, addr := range []string{ln.Addr().String(), net.JoinHostPort("localhost", port)} {
		d := net.Dialer{Control: Guard{}.Control}
		if c, err := d.Dial("tcp", addr); !errors.Is(err, ErrBlocked) {
			if c != nil {
				c.Close()
			}
			t.Errorf("dial %s: %v, want ErrBlocked", addr, err)
		}
	}
	d := net.Dialer{Control: Guard{AllowLoopback: true}.Control}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	<-accepted
	select {
	case <-accepted:
		t.Error("a refused dial reached the listener")
	default:
	}
}

// fakeResolver answers from a map.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	list, ok := f[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range list {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func TestResolve(t *testing.T) {
	r := fakeResolver{
		"mixed.test":   {"10.0.0.1", "8.8.8.8", "::ffff:1.1.1.1", "::1", "2606:4700::1111"},
		"private.test": {"127.0.0.1", "169.254.169.254", "fd00::1"},
		"one.test":     {"198.18.0.1"},
		"v6.test":      {"2606:4700::1111", "2606:4700::1001"},
		"loop.test":    {"::1", "127.0.0.1"},
	}
	ctx := context.Background()
	for _, c := range []struct {
		g       Guard
		host    string
		want    string // the addresses, space separated
		blocked bool
	}{
		{Guard{Resolver: r}, "mixed.test", "8.8.8.8 1.1.1.1 2606:4700::1111", false},
		{Guard{Resolver: r}, "private.test", "", true},
		{Guard{Resolver: r}, "one.test", "", true},
		{Guard{Resolver: r, AllowLoopback: true}, "loop.test", "::1 127.0.0.1", false},
		{Guard{Resolver: r, AllowLoopback: true}, "private.test", "127.0.0.1", false},
		{Guard{Resolver: r, AllowPrivate: true}, "private.test", "127.0.0.1 169.254.169.254 fd00::1", false},
		{Guard{Resolver: r}, "8.8.8.8", "8.8.8.8", false},
		{Guard{Resolver: r}, "[2606:4700::1111]", "2606:4700::1111", false},
		{Guard{Resolver: r}, "127.0.0.1", "", true},
		{Guard{Resolver: r}, "[::1]", "", true},
		{Guard{Resolver: r}, "::ffff:10.0.0.1", "", true},
		{Guard{Resolver: r}, "0.0.0.0", "", true},
		{Guard{Resolver: r}, "", "", true},
		{Guard{Resolver: r, AllowPrivate: true}, "", "", true},
	} {
		got, err := c.g.Resolve(ctx, c.host)
		if c.blocked {
			if !errors.Is(err, ErrBlocked) {
				t.Errorf("%+v Resolve(%q) = %v, %v; want ErrBlocked", c.g, c.host, got, err)
			}
			continue
		}
		var s []string
		for _, a := range got {
			s = append(s, a.String())
		}
		if err != nil || strings.Join(s, " ") != c.want {
			t.Errorf("%+v Resolve(%q) = %v, %v; want %s", c.g, c.host, s, err, c.want)
		}
	}
	// A lookup failure is returned as it is, not as a refusal.
	if _, err := (Guard{Resolver: r}).Resolve(ctx, "nx.test"); err == nil || errors.Is(err, ErrBlocked) {
		t.Errorf("unknown host: %v", err)
	}
}

func TestResolveAddr(t *testing.T) {
	r := fakeResolver{
		"mixed.test": {"10.0.0.1", "2606:4700::1111", "8.8.8.8"},
		"v6.test":    {"fd00::1", "2606:4700::1111"},
		"loop.test":  {"127.0.0.1"},
	}
	ctx := context.Background()
	g := Guard{Resolver: r}
	for _, c := range []struct {
		in, want string
	}{
		{"mixed.test:443", "8.8.8.8:443"},
		{"v6.test:4443", "[2606:4700::1111]:4443"},
		{"[2606:4700::1111]:443", "[2606:4700::1111]:443"},
		{"8.8.8.8:1", "8.8.8.8:1"},
	} {
		if got, err := g.ResolveAddr(ctx, c.in); err != nil || got != c.want {
			t.Errorf("ResolveAddr(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"loop.test:443", "127.0.0.1:443", "[::1]:443", ":443", "10.0.0.1:443"} {
		if got, err := g.ResolveAddr(ctx, in); !errors.Is(err, ErrBlocked) {
			t.Errorf("ResolveAddr(%q) = %q, %v; want ErrBlocked", in, got, err)
		}
	}
	for _, in := range []string{"mixed.test", "mixed.test:https", "mixed.test:70000"} {
		if got, err := g.ResolveAddr(ctx, in); err == nil {
			t.Errorf("ResolveAddr(%q) = %q, want an error", in, got)
		}
	}
	if got, err := (Guard{Resolver: r, AllowLoopback: true}).ResolveAddr(ctx, "loop.test:443"); err != nil || got != "127.0.0.1:443" {
		t.Errorf("loopback allowed: %q, %v", got, err)
	}
}

// TestResolveLocalhost uses the system resolver: "localhost" is loopback.
func TestResolveLocalhost(t *testing.T) {
	if _, err := (Guard{}).Resolve(context.Background(), "localhost"); !errors.Is(err, ErrBlocked) {
		t.Errorf("localhost: %v, want ErrBlocked", err)
	}
	addrs, err := Guard{AllowLoopback: true}.Resolve(context.Background(), "localhost")
	if err != nil || len(addrs) == 0 {
		t.Fatalf("localhost with AllowLoopback: %v, %v", addrs, err)
	}
	for _, a := range addrs {
		if !a.IsLoopback() {
			t.Errorf("localhost resolved to %s", a)
		}
	}
}

// FuzzCheckAddress feeds dialled addresses: never a panic; an address that
// passes parses to a public IP; the IPv4-mapped form of an IPv4 address is
// judged as the address itself; a guard that allows everything refuses only
// what does not parse.
func FuzzCheckAddress(f *testing.F) {
	for _, s := range []string{
		"8.8.8.8:443", "127.0.0.1:80", "[::1]:80", "[fe80::1%eth0]:1", "[::ffff:10.0.0.1]:1",
		"[64:ff9b::a00:1]:443", "[64:ff9b::808:808]:443", "0.0.0.0:0", "[::]:0", "100.64.0.1:1",
		"example.org:443", "", ":", "[", "1.2.3.4", "[2606:4700::1111]:443",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := Guard{}.CheckAddress(s)
		if err != nil && !errors.Is(err, ErrBlocked) {
			t.Fatalf("CheckAddress(%q) = %v, not ErrBlocked", s, err)
		}
		host, _, splitErr := net.SplitHostPort(s)
		ip, parseErr := netip.ParseAddr(host)
		parsed := splitErr == nil && parseErr == nil
		if err == nil && (!parsed || !Public(ip)) {
			t.Fatalf("CheckAddress(%q) passed a non-public address", s)
		}
		if parsed != ((Guard{AllowPrivate: true}).CheckAddress(s) == nil) {
			t.Fatalf("AllowPrivate guard on %q: parsed %v", s, parsed)
		}
		if parsed && ip.Is4() && Public(ip) != Public(netip.AddrFrom16(ip.As16())) {
			t.Fatalf("%s and its IPv4-mapped form differ", ip)
		}
	})
}
