package oauthproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Guard dials only public unicast addresses. It is the SSRF defence of
// client ID metadata document fetches, whose URLs anyone can choose: the
// host is resolved first, every address it resolves to is checked (a name
// that also resolves to a private address is refused outright, which
// defeats DNS-rebinding tricks), and the dialer's Control hook checks the
// address again on the socket itself, after resolution and before the
// connection is made, so no path reaches a forbidden address.
//
// Refused: loopback (and any name "localhost" or "*.localhost"), private
// (RFC 1918, fc00::/7 including AWS's fd00:ec2::254), link-local including
// the cloud metadata address 169.254.169.254, unspecified, multicast,
// broadcast, shared address space (100.64.0.0/10, where Alibaba's metadata
// lives), documentation, benchmarking and reserved ranges, and IPv6
// transition forms that embed an IPv4 address (6to4, Teredo, NAT64) unless
// the embedded address is public.
type Guard struct {
	// Resolve looks up a host's addresses. Default: net.DefaultResolver.
	// Tests inject one so that no lookup leaves the machine.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)

	// Allow admits an address the guard would refuse. Only tests set it,
	// to reach a local test server.
	Allow func(netip.Addr) bool

	// Dial connects to an address the guard has vetted ("ip:port").
	// Default: a net.Dialer whose Control hook re-checks the address.
	// Tests inject one that records what it is asked to reach.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// errForbiddenAddress is the refusal; its text names no address, so it
// is safe to show a client.
var errForbiddenAddress = errors.New("the metadata document's host resolves to a non-public address")

// DialContext resolves, vets and dials addr, for an http.Transport.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return nil, errForbiddenAddress
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		resolve := g.Resolve
		if resolve == nil {
			resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			}
		}
		if addrs, err = resolve(ctx, host); err != nil {
			return nil, fmt.Errorf("resolving the metadata document's host: %w", err)
		}
	}
	if len(addrs) == 0 {
		return nil, errors.New("the metadata document's host has no addresses")
	}
	for _, a := range addrs {
		if !g.permitted(a) {
			return nil, errForbiddenAddress
		}
	}
	dial := g.Dial
	if dial == nil {
		dial = g.dialer().DialContext
	}
	var firstErr error
	for _, a := range addrs {
		conn, err := dial(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

// dialer is the default dialer: its Control hook runs on the socket after
// resolution and before connect, so even a caller that skipped the checks
// above cannot reach a forbidden address.
func (g *Guard) dialer() *net.Dialer {
	return &net.Dialer{Timeout: 5 * time.Second, Control: g.control}
}

func (g *Guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || !g.permitted(ap.Addr()) {
		return errForbiddenAddress
	}
	return nil
}

func (g *Guard) permitted(a netip.Addr) bool {
	if g.Allow != nil && g.Allow(a) {
		return true
	}
	return publicUnicast(a)
}

// nonPublic lists what netip's predicates do not already cover.
var nonPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"100.64.0.0/10",   // shared address space (carrier-grade NAT)
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"240.0.0.0/4",     // reserved, including 255.255.255.255
		"100::/64",        // discard
		"2001:db8::/32",   // documentation
		"2001::/32",       // Teredo (embeds an IPv4 address)
		"2002::/16",       // 6to4 (embeds an IPv4 address)
		"64:ff9b:1::/48",  // local-use NAT64
		"fec0::/10",       // deprecated site-local
		"::/96",           // IPv4-compatible (deprecated)
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// publicUnicast reports whether a is an address a server may fetch a
// client's public document from.
func publicUnicast(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsPrivate() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() || a.IsMulticast() {
		return false
	}
	if a.Zone() != "" {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	if nat64.Contains(a) {
		b := a.As16()
		return publicUnicast(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	return true
}
