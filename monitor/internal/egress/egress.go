package egress

import (
	"fmt"
	"net/netip"
	"strings"
)

// Service tags of the destinations the monitor needs
// (https://learn.microsoft.com/azure/virtual-network/service-tags-overview).
const (
	TagARM        = "AzureResourceManager"
	TagStorage    = "Storage"
	tagAzureCloud = "AzureCloud"
)

// Public pages the messages send operators to.
const (
	docRouting         = "https://learn.microsoft.com/azure/virtual-network/virtual-networks-udr-overview"
	docDefaultOutbound = "https://learn.microsoft.com/azure/virtual-network/ip-services/default-outbound-access"
)

// Route is one effective route of a NIC, as "Network Interfaces - Get
// Effective Route Table" lists it
// (https://learn.microsoft.com/rest/api/virtualnetwork/network-interfaces/get-effective-route-table).
type Route struct {
	Name        string   // a User route's name; "" for the others
	Source      string   // Default, User, VirtualNetworkGateway or Unknown
	State       string   // Active or Invalid
	Prefixes    []string // CIDR prefixes (or a service tag's name)
	NextHopType string   // Internet, None, VirtualAppliance, VirtualNetworkGateway, VnetLocal, VNetPeering, ...
	NextHopIPs  []string
}

// Destination is a service the monitor must reach.
type Destination struct {
	Name string // what it is, for messages: "ARM", "Storage"
	Host string // its host name (or address), for messages
	// Addr is the address Host resolves to; the zero Addr when unknown. A
	// loopback, unspecified or link-local address is not routed by the
	// subnet's routes: the destination is then judged by the 0.0.0.0/0 route.
	Addr netip.Addr
	// Tags are the service tags that cover it (TagARM, TagStorage).
	Tags []string
}

// NVA names the managed NVA NIC that owns an address.
type NVA struct {
	Name string // the NVA
	Role string // the NIC's role
	NIC  string // the NIC's name
}

// Table is a route table the monitor manages, with its routes, so that a
// message can name the table a User route comes from (effective routes do
// not say).
type Table struct {
	Name   string
	Routes []Route // Name, Prefixes, NextHopType and NextHopIPs are compared
}

// Env is what Judge knows besides the routes.
type Env struct {
	// NVAs maps every private IP of every managed NVA NIC (each ipconfig's)
	// to its NIC.
	NVAs map[netip.Addr]NVA
	// Tables are the managed route tables.
	Tables []Table
}

// Level is how bad a verdict is.
type Level int

const (
	OK   Level = iota
	Warn       // a way out exists, but it depends on an appliance the monitor does not manage
	Fail       // no way out, or one through a managed NVA
)

// Verdict is Judge's answer.
type Verdict struct {
	Level Level
	// Route is the effective route that carries the traffic; nil when no
	// Active route covers the destination.
	Route *Route
	// NVA is the managed NVA the route goes through, if it does.
	NVA *NVA
	// Message is one line for an operator: where the traffic goes, why that
	// is a problem and what to do.
	Message string
}

// Judge finds the route that carries the traffic to dst and says whether
// the monitor can count on it while the NVAs fail over.
func Judge(routes []Route, dst Destination, env Env) Verdict {
	r, how := pick(routes, dst)
	to := fmt.Sprintf("traffic to %s (%s)", dst.Name, how)
	fix := "give the monitor subnet a route table with 0.0.0.0/0 -> Internet and an explicit way out " +
		"(a NAT gateway, or a public IP on the monitor), or put the monitors in a subnet whose default route " +
		"does not go through the NVAs (" + docRouting + "; " + docDefaultOutbound + ")"
	if r == nil {
		return Verdict{Level: Fail, Message: fmt.Sprintf(
			"no Active effective route covers %s: Azure drops it and the monitor can neither read nor move anything; %s", to, fix)}
	}
	v := Verdict{Route: r}
	route := describe(r, env.Tables)
	hop := firstIP(r.NextHopIPs)
	switch {
	case strings.EqualFold(r.NextHopType, "None"):
		v.Level = Fail
		v.Message = fmt.Sprintf("%s takes %s, next hop None: Azure drops it and the monitor can neither read nor move anything; %s",
			to, route, fix)
	case strings.EqualFold(r.NextHopType, "VirtualAppliance") && !hop.IsValid():
		v.Level = Fail
		v.Message = fmt.Sprintf("%s takes %s to a virtual appliance with no next hop address: Azure drops it; %s", to, route, fix)
	case strings.EqualFold(r.NextHopType, "VirtualAppliance"):
		if at, n, ok := managed(r.NextHopIPs, env.NVAs); ok {
			v.Level, v.NVA = Fail, &n
			v.Message = fmt.Sprintf("%s takes %s to %s, the %s NIC %s of NVA %s: when %s fails the monitors lose %s "+
				"just when they must fail over; %s", to, route, at, n.Role, n.NIC, n.Name, n.Name, dst.Name, fix)
			break
		}
		v.Level = Warn
		v.Message = fmt.Sprintf("%s takes %s to the appliance %s, which is none of the managed NVAs: the monitor reaches %s "+
			"only while that appliance forwards; make sure it does not depend on the NVAs, or %s", to, route, hop, dst.Name, fix)
	case strings.EqualFold(r.NextHopType, "Internet"):
		v.Message = fmt.Sprintf("%s leaves through the Internet next hop (%s); on a private subnet (no default outbound access) "+
			"that also needs a NAT gateway or a public IP on the monitor (%s)", to, route, docDefaultOutbound)
	default:
		v.Message = fmt.Sprintf("%s goes to %s (%s)", to, r.NextHopType, route)
	}
	return v
}

// managed returns the first next hop that is a managed NVA's address.
func managed(ips []string, nvas map[netip.Addr]NVA) (netip.Addr, NVA, bool) {
	for _, s := range ips {
		if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil {
			if n, ok := nvas[a.Unmap()]; ok {
				return a.Unmap(), n, true
			}
		}
	}
	return netip.Addr{}, NVA{}, false
}

// routable reports whether the subnet's routes decide where traffic to a goes.
func routable(a netip.Addr) bool {
	return a.IsValid() && !a.IsLoopback() && !a.IsUnspecified() && !a.IsLinkLocalUnicast()
}

// pick returns the Active route that carries traffic to dst, and how it was
// chosen, for messages.
func pick(routes []Route, dst Destination) (*Route, string) {
	var (
		best      *Route
		bestBits  = -1
		tagged    *Route
		tagRank   = -1
		wholeBest *Route // a 0.0.0.0/0 route, for a destination without a routable address
	)
	for i := range routes {
		r := &routes[i]
		if !strings.EqualFold(r.State, "Active") {
			continue
		}
		for _, p := range r.Prefixes {
			pr, err := netip.ParsePrefix(strings.TrimSpace(p))
			if err != nil {
				if rank := tagMatch(strings.TrimSpace(p), dst.Tags); rank > tagRank || (rank == tagRank && rank >= 0 && prefer(r, tagged)) {
					tagged, tagRank = r, rank
				}
				continue
			}
			pr = pr.Masked()
			if pr.Bits() == 0 && pr.Addr().Is4() && (wholeBest == nil || prefer(r, wholeBest)) {
				wholeBest = r
			}
			if !routable(dst.Addr) || !pr.Contains(dst.Addr.Unmap()) {
				continue
			}
			if pr.Bits() > bestBits || (pr.Bits() == bestBits && prefer(r, best)) {
				best, bestBits = r, pr.Bits()
			}
		}
	}
	addr := dst.Host
	if dst.Addr.IsValid() && dst.Addr.String() != dst.Host {
		addr += ", " + dst.Addr.String()
	}
	switch {
	case routable(dst.Addr) && best != nil && bestBits > 0:
		return best, addr
	case tagged != nil:
		return tagged, addr + ", by its service tag"
	case routable(dst.Addr):
		return best, addr
	case dst.Addr.IsValid():
		return wholeBest, addr + ": not routed by the subnet, so judged by the 0.0.0.0/0 route"
	default:
		return wholeBest, addr + ": not resolved, so judged by the 0.0.0.0/0 route"
	}
}

// prefer reports whether r wins over other on an equal prefix: User, then
// VirtualNetworkGateway (BGP), then Default.
func prefer(r, other *Route) bool {
	if other == nil {
		return true
	}
	return sourceRank(r.Source) > sourceRank(other.Source)
}

func sourceRank(s string) int {
	switch {
	case strings.EqualFold(s, "User"):
		return 3
	case strings.EqualFold(s, "VirtualNetworkGateway"):
		return 2
	case strings.EqualFold(s, "Default"):
		return 1
	}
	return 0
}

// tagMatch ranks a service tag prefix against the destination's tags, in
// the order Azure evaluates routes with tags that match the same address
// (https://learn.microsoft.com/azure/virtual-network/virtual-networks-udr-overview#exact-match):
// a regional tag (3), its top-level tag (2), an AzureCloud regional tag (1),
// AzureCloud (0); -1 when it does not cover the destination.
func tagMatch(prefix string, tags []string) int {
	base, region, _ := strings.Cut(prefix, ".")
	for _, t := range tags {
		if strings.EqualFold(base, t) {
			if region != "" {
				return 3
			}
			return 2
		}
	}
	if len(tags) > 0 && strings.EqualFold(base, tagAzureCloud) {
		if region != "" {
			return 1
		}
		return 0
	}
	return -1
}

// describe names a route for a message: `the User route "default"
// (0.0.0.0/0) of route table rt-web`, `the Default route 0.0.0.0/0`.
func describe(r *Route, tables []Table) string {
	prefixes := strings.Join(r.Prefixes, ", ")
	if !strings.EqualFold(r.Source, "User") {
		return fmt.Sprintf("the %s route %s", orUnknown(r.Source), prefixes)
	}
	s := fmt.Sprintf("the User route %q (%s)", r.Name, prefixes)
	var in []string
	for _, t := range tables {
		for i := range t.Routes {
			if sameRoute(r, &t.Routes[i]) {
				in = append(in, t.Name)
				break
			}
		}
	}
	switch len(in) {
	case 0:
		return s + " of the route table on the monitor's subnet"
	case 1:
		return s + " of route table " + in[0] + " (managed by this monitor)"
	}
	return s + " of one of the route tables " + strings.Join(in, ", ") + " (managed by this monitor)"
}

func sameRoute(a, b *Route) bool {
	if !strings.EqualFold(a.Name, b.Name) || !strings.EqualFold(a.NextHopType, b.NextHopType) ||
		len(a.Prefixes) != len(b.Prefixes) || len(a.NextHopIPs) != len(b.NextHopIPs) {
		return false
	}
	for i := range a.Prefixes {
		if prefixKey(a.Prefixes[i]) != prefixKey(b.Prefixes[i]) {
			return false
		}
	}
	for i := range a.NextHopIPs {
		if firstIP(a.NextHopIPs[i:i+1]) != firstIP(b.NextHopIPs[i:i+1]) {
			return false
		}
	}
	return true
}

func prefixKey(s string) string {
	if pr, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil {
		return pr.Masked().String()
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// firstIP is the first parseable address of ips, or the zero Addr.
func firstIP(ips []string) netip.Addr {
	for _, s := range ips {
		if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}
