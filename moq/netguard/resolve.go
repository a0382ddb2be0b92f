package netguard

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Resolve returns the addresses of host (a name or an IP literal, brackets
// allowed) that the guard allows, IPv4-mapped addresses unmapped. It fails
// with an error wrapping ErrBlocked when host has addresses but none is
// allowed.
func (g Guard) Resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if h == "" {
		// An empty host dials the local system.
		return nil, fmt.Errorf("%w: empty host", ErrBlocked)
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(h); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		r := g.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		addrs, err = r.LookupNetIP(ctx, "ip", h)
		if err != nil {
			return nil, err
		}
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, ip := range addrs {
		if g.Allowed(ip) {
			out = append(out, ip.Unmap())
		}
	}
	if len(out) == 0 {
		if len(addrs) == 1 {
			return nil, fmt.Errorf("%s: %w: %s", host, ErrBlocked, addrs[0])
		}
		return nil, fmt.Errorf("%s: %w: none of %d addresses is", host, ErrBlocked, len(addrs))
	}
	return out, nil
}

// ResolveAddr turns "host:port" into "ip:port" for one address of host the
// guard allows (the first IPv4 one if any, as the net package does for
// UDP), to be dialled instead of the name so that DNS cannot answer
// differently between the check and the dial. The port must be numeric.
func (g Guard) ResolveAddr(ctx context.Context, hostport string) (string, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", fmt.Errorf("%s: port %q is not a number", hostport, port)
	}
	addrs, err := g.Resolve(ctx, host)
	if err != nil {
		return "", err
	}
	ip := addrs[0]
	for _, a := range addrs {
		if a.Is4() {
			ip = a
			break
		}
	}
	return netip.AddrPortFrom(ip, uint16(p)).String(), nil
}
