// Package netguard decides which network addresses Tributary may connect to
// when a stranger chose the target: a URL named by a post, an avatar, an
// origin's /.well-known/moq and the relays it lists. Only public unicast
// addresses pass; loopback, private, link-local, shared (CGNAT),
// benchmarking, documentation, multicast and the other special-purpose
// ranges of RFC 6890 and the IANA special-purpose registries are refused.
//
// It offers the classification (Public), a net.Dialer Control hook that
// checks the address actually connected to (so redirects and DNS rebinding
// are covered), and a resolver that keeps only allowed addresses, for dials
// that do not go through a net.Dialer (QUIC over UDP): the caller dials the
// checked address itself, so DNS cannot answer differently between the
// check and the dial.
//
// The package imports only the standard library: fedi, app and moq/relay
// all use it.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ErrBlocked is returned (wrapped) for an address the guard refuses.
var ErrBlocked = errors.New("not a public internet address")

// specialPurpose lists the ranges that are not reachable public unicast
// addresses (RFC 6890 and the IANA IPv4 and IPv6 special-purpose address
// registries). IPv4-mapped IPv6 addresses (::ffff:0:0/96) are judged by
// their IPv4 address, and NAT64 addresses (64:ff9b::/96, RFC 6052) by the
// IPv4 address they embed, so they are not listed.
var specialPurpose = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this network (RFC 791)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private use (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space, CGNAT (RFC 6598)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback (RFC 1122)"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local, cloud metadata (RFC 3927)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private use (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments (RFC 6890)"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation TEST-NET-1 (RFC 5737)"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast (RFC 7526)"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private use (RFC 1918)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (RFC 2544)"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation TEST-NET-2 (RFC 5737)"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation TEST-NET-3 (RFC 5737)"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast (RFC 5771)"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved and limited broadcast (RFC 1112, RFC 919)"},

	{netip.MustParsePrefix("::/128"), "unspecified (RFC 4291)"},
	{netip.MustParsePrefix("::1/128"), "loopback (RFC 4291)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64 (RFC 8215)"},
	{netip.MustParsePrefix("100::/64"), "discard-only (RFC 6666)"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignments, Teredo (RFC 2928, RFC 4380)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation (RFC 3849)"},
	{netip.MustParsePrefix("2002::/16"), "6to4 (RFC 3056)"},
	{netip.MustParsePrefix("3fff::/20"), "documentation (RFC 9637)"},
	{netip.MustParsePrefix("5f00::/16"), "segment routing SIDs (RFC 9602)"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (RFC 4193)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local (RFC 4291)"},
	{netip.MustParsePrefix("fec0::/10"), "site-local, deprecated (RFC 3879)"},
	{netip.MustParsePrefix("ff00::/8"), "multicast (RFC 4291)"},
}

var (
	// globalUnicast6 is the only IPv6 space allocated for global unicast
	// (RFC 4291 section 2.4): anything outside it is reserved or special.
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	// nat64 is the NAT64 well-known prefix (RFC 6052): the last 32 bits are
	// an IPv4 address, reached through the network's translator.
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
)

// Public reports whether ip is a public unicast internet address: not in
// any special-purpose range. An IPv4-mapped IPv6 address is judged by its
// IPv4 address, a NAT64 address (64:ff9b::/96) by the IPv4 address it
// embeds; a zone is ignored.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	if !ip.IsValid() {
		return false
	}
	if ip.Is6() {
		if nat64.Contains(ip) {
			b := ip.As16()
			return Public(netip.AddrFrom4([4]byte(b[12:])))
		}
		if !globalUnicast6.Contains(ip) {
			return false
		}
	}
	if !ip.IsGlobalUnicast() {
		return false
	}
	for _, r := range specialPurpose {
		if r.prefix.Contains(ip) {
			return false
		}
	}
	return true
}

// Guard says which addresses may be connected to. The zero value allows
// public addresses only.
type Guard struct {
	// AllowLoopback also allows loopback addresses (127.0.0.0/8, ::1).
	// Tests only.
	AllowLoopback bool
	// AllowPrivate allows every address: the guard is off (tests, LANs).
	AllowPrivate bool
	// Resolver looks host names up for Resolve and ResolveAddr; nil uses
	// net.DefaultResolver.
	Resolver Resolver
}

// Resolver looks up the addresses of a host; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Allowed reports whether the guard lets a connection to ip through.
func (g Guard) Allowed(ip netip.Addr) bool {
	switch {
	case !ip.IsValid():
		return false
	case g.AllowPrivate:
		return true
	case g.AllowLoopback && ip.Unmap().IsLoopback():
		return true
	}
	return Public(ip)
}

// Check returns an error wrapping ErrBlocked when ip is not allowed.
func (g Guard) Check(ip netip.Addr) error {
	if !g.Allowed(ip) {
		return fmt.Errorf("%w: %s", ErrBlocked, ip)
	}
	return nil
}

// CheckAddress checks an "ip:port" address (what a net.Dialer is about to
// connect to); anything but an IP address with a port is refused.
func (g Guard) CheckAddress(address string) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q is not ip:port", ErrBlocked, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %q is not an IP address", ErrBlocked, host)
	}
	return g.Check(ip)
}

// Control is a net.Dialer Control function: it refuses a connection whose
// address the guard does not allow, after DNS and for every connection
// (redirects included), before any packet is sent.
func (g Guard) Control(_, address string, _ syscall.RawConn) error {
	return g.CheckAddress(address)
}
