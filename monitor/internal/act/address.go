package act

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v7"
)

// ipconfig is one IP configuration of an NVA NIC as read.
type ipconfig struct {
	name     string
	addr     netip.Addr // its private IP; invalid when it has none (yet)
	v6       bool       // privateIPAddressVersion IPv6 (or, if unset, an IPv6 address)
	primary  bool       // the primary ipconfig of its IP version on the NIC (see primaryOf)
	publicIP string     // ID of the public IP on it, if any
}

// version names an IP version as ARM does.
func version(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}

// parseHop parses a next hop or private IP address. IPv6 has several
// textual forms of one address ("fd00::4" and "fd00:0:0::4"), so next hops
// are compared parsed, never as strings.
func parseHop(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// readIPConfigs lists the ipconfigs of nic in order and marks the primary of
// each IP version: the one ARM flags primary if it is of that version, else
// the first of that version. Microsoft's dual-stack how-to puts IPv6 on a
// secondary ipconfig
// (https://learn.microsoft.com/azure/virtual-network/ip-services/add-dual-stack-ipv6-vm-portal),
// so the primary IPv6 ipconfig is usually the first IPv6 one.
func readIPConfigs(nic *armnetwork.Interface) []ipconfig {
	if nic.Properties == nil {
		return nil
	}
	var out []ipconfig
	flagged := -1
	for _, ipc := range nic.Properties.IPConfigurations {
		if ipc == nil {
			continue
		}
		c := ipconfig{name: deref(ipc.Name)}
		if p := ipc.Properties; p != nil {
			c.addr, _ = parseHop(deref(p.PrivateIPAddress))
			if p.PrivateIPAddressVersion != nil {
				c.v6 = strings.EqualFold(string(*p.PrivateIPAddressVersion), string(armnetwork.IPVersionIPv6))
			} else {
				c.v6 = c.addr.Is6()
			}
			if p.PublicIPAddress != nil {
				c.publicIP = deref(p.PublicIPAddress.ID)
			}
			if deref(p.Primary) && flagged < 0 {
				flagged = len(out)
			}
		}
		out = append(out, c)
	}
	if flagged >= 0 {
		out[flagged].primary = true
	}
	for _, v6 := range []bool{false, true} {
		if flagged >= 0 && out[flagged].v6 == v6 {
			continue
		}
		for i := range out {
			if out[i].v6 == v6 {
				out[i].primary = true
				break
			}
		}
	}
	return out
}

// primaryOf returns the primary ipconfig of an IP version, or nil.
func primaryOf(ipcs []ipconfig, v6 bool) *ipconfig {
	for i := range ipcs {
		if ipcs[i].primary && ipcs[i].v6 == v6 {
			return &ipcs[i]
		}
	}
	return nil
}

// named returns the ipconfig called name (ARM names are case-insensitive), or nil.
func named(ipcs []ipconfig, name string) *ipconfig {
	for i := range ipcs {
		if strings.EqualFold(ipcs[i].name, name) {
			return &ipcs[i]
		}
	}
	return nil
}

// counterpart is the matching rule of next hops and public IPs: the
// ipconfig of to that takes over from ipconfig from of another NVA's NIC of
// the same role. It is the ipconfig of the same name if that has the same IP
// version; else, when from is the primary ipconfig of its IP version, the
// primary ipconfig of that version on to; else none (nil, with why). An
// address is never replaced by one of the other IP version.
func counterpart(from ipconfig, to []ipconfig) (*ipconfig, string) {
	if c := named(to, from.name); c != nil && c.v6 == from.v6 {
		return c, ""
	}
	if from.primary {
		if c := primaryOf(to, from.v6); c != nil {
			return c, ""
		}
		return nil, fmt.Sprintf("no %s ipconfig", version(from.v6))
	}
	return nil, fmt.Sprintf("no %s ipconfig named %q", version(from.v6), from.name)
}

// hopOwner is where an NVA address lives.
type hopOwner struct {
	nva, nic, role string
	ipc            ipconfig
}

// Unmatched is a route whose next hop is an address of an NVA NIC with no
// counterpart on another NVA's NIC of that role (see the package
// documentation for the matching rule). It is left alone: failing it over
// would mean guessing an address, possibly of the other IP version.
type Unmatched struct {
	Route, AddressPrefix, NextHop string
	// From is the NVA the next hop belongs to, To the NVA without a
	// counterpart.
	From, To string
	Reason   string // e.g. `nic "nva2-int" has no IPv6 ipconfig`
}

func (u Unmatched) String() string {
	return fmt.Sprintf("route %q (%s) next hop %s of nva %q left alone: %s", u.Route, u.AddressPrefix, u.NextHop, u.From, u.Reason)
}
