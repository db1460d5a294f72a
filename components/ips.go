package components

import (
	"errors"
	"fmt"
	"net/netip"
)

// NIC roles. An NVA has one NIC per role; a route table names the one role
// all its routes point at, and the public IP follows the RoleExternal NIC.
const (
	RoleExternal = "external"
	RoleInternal = "internal"
)

// Azure reserves five addresses in every subnet: the network address (.0),
// the default gateway (.1), two addresses that map Azure DNS (.2, .3) and
// the broadcast address (the last). A static private IP on one of them is
// refused with PrivateIPAddressInReservedRange; outside the subnet with
// PrivateIPAddressNotInSubnet. The smallest IPv4 subnet is a /29.
// (docs/azure-behaviour.md#subnet-addresses, from the Microsoft
// virtual-network FAQ and the "Troubleshoot common Azure deployment errors"
// table.)
const (
	firstUsableHost   = 4
	smallestSubnetLen = 29
)

// Errors HostIP and CheckStaticIP wrap, for errors.Is.
var (
	// ErrReservedAddress: the address is one of the five Azure reserves.
	ErrReservedAddress = errors.New("address reserved by Azure")
	// ErrOutsidePrefix: the address is not inside the prefix.
	ErrOutsidePrefix = errors.New("address outside the prefix")
)

// HostIP returns the host-th address of an IPv4 prefix: HostIP("10.0.0.64/27", 4)
// is "10.0.0.68". Host numbers count from the prefix's network address (0).
// It refuses the five addresses Azure reserves (hosts 0 to 3 and the last)
// and hosts outside the prefix.
func HostIP(prefix string, host int) (string, error) {
	p, err := parseSubnetPrefix(prefix)
	if err != nil {
		return "", err
	}
	size := prefixSize(p)
	if host < 0 || int64(host) >= size {
		return "", fmt.Errorf("host %d of %s: %w (hosts 0..%d; usable %d..%d)",
			host, p, ErrOutsidePrefix, size-1, firstUsableHost, size-2)
	}
	ip := nthAddr(p, host)
	if why := reservedReason(int64(host), size); why != "" {
		return "", fmt.Errorf("host %d of %s (%s) is the subnet's %s: %w; the first usable host is %d (%s)",
			host, p, ip, why, ErrReservedAddress, firstUsableHost, nthAddr(p, firstUsableHost))
	}
	return ip.String(), nil
}

// CheckStaticIP returns nil if ip is inside the IPv4 prefix and is not one of
// the five addresses Azure reserves in a subnet.
func CheckStaticIP(prefix, ip string) error {
	p, err := parseSubnetPrefix(prefix)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return fmt.Errorf("parse IP %q: not an IPv4 address", ip)
	}
	if !p.Contains(a) {
		return fmt.Errorf("IP %s is not in %s: %w", a, p, ErrOutsidePrefix)
	}
	host := addrIndex(p, a)
	if why := reservedReason(host, prefixSize(p)); why != "" {
		return fmt.Errorf("IP %s is the %s of subnet %s: %w; the first usable address is %s",
			a, why, p, ErrReservedAddress, nthAddr(p, firstUsableHost))
	}
	return nil
}

// parseSubnetPrefix parses an IPv4 prefix that Azure accepts for a subnet:
// written as its network address, at most a /29.
func parseSubnetPrefix(s string) (netip.Prefix, error) {
	p, err := parseIPv4Prefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Bits() > smallestSubnetLen {
		return netip.Prefix{}, fmt.Errorf("prefix %s is smaller than a /%d, Azure's smallest IPv4 subnet", p, smallestSubnetLen)
	}
	return p, nil
}

// parseIPv4Prefix parses an IPv4 CIDR written as its network address
// ("10.0.0.64/27", not "10.0.0.70/27", which Azure refuses).
func parseIPv4Prefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("parse prefix %q: want an IPv4 CIDR such as 10.0.0.0/24", s)
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, fmt.Errorf("parse prefix %q: not IPv4", s)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("parse prefix %q: host bits set; the network address is %s", s, m)
	}
	return p, nil
}

func prefixSize(p netip.Prefix) int64 { return int64(1) << (32 - p.Bits()) }

func addrUint(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func nthAddr(p netip.Prefix, n int) netip.Addr {
	v := addrUint(p.Addr()) + uint32(n)
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func addrIndex(p netip.Prefix, a netip.Addr) int64 {
	return int64(addrUint(a) - addrUint(p.Addr()))
}

// reservedReason says why host number host of a subnet of size addresses is
// reserved by Azure, or "" if it is not.
func reservedReason(host, size int64) string {
	switch {
	case host == 0:
		return "network address"
	case host == 1:
		return "default gateway"
	case host == 2 || host == 3:
		return "Azure DNS address"
	case host == size-1:
		return "broadcast address"
	}
	return ""
}
