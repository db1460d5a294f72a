package armsim

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// nextHopTypes are the route next-hop types of api-version 2025-01-01
// (docs/azure-behaviour.md#route-next-hops).
var nextHopTypes = []string{"Internet", "None", "VirtualAppliance", "VirtualNetworkGateway", "VnetLocal"}

// Codes for the two route next-hop mistakes whose real code is unverified
// (docs/azure-behaviour.md#route-next-hops has only the message
// "NextHopIpAddress cannot be Null or Empty ... when NextHopType is
// VirtualAppliance"). Clients should key on the
// status, 400.
const codeRouteNextHopIP = "InvalidRouteNextHopIpAddress"

// Codes for IP version mismatches, INFERRED: Azure refuses them (a route's
// next hop must be of its prefix's IP version; a public IP rides on an
// ipconfig of its own version, docs/azure-behaviour.md#ipv6), but no public
// source found shows the code it answers with. Clients should key on the
// status, 400.
const (
	codeRouteIPVersion    = "RouteNextHopIpAddressVersionMismatch"
	codePublicIPVersion   = "PublicIPAddressVersionMismatch"
	codeIPConfigIPVersion = "PrivateIPAddressVersionMismatch"
)

// validateRoutes checks every route of a route table
// (docs/azure-behaviour.md#route-next-hops).
func validateRoutes(tableID string, props object) (response, bool) {
	for _, r := range objects(props, "routes") {
		id := tableID + "/routes/" + str(r, "name")
		rp := sub(r, "properties")
		if str(rp, "addressPrefix") == "" {
			return badRequest("InvalidRequestFormat", fmt.Sprintf("Route %s has no addressPrefix.", id)), false
		}
		hopType := ""
		for _, t := range nextHopTypes {
			if strings.EqualFold(t, str(rp, "nextHopType")) {
				hopType = t
			}
		}
		if hopType == "" {
			return badRequest("InvalidRequestFormat", fmt.Sprintf(
				"Route %s has nextHopType %q; it must be one of %s.", id, str(rp, "nextHopType"), strings.Join(nextHopTypes, ", "))), false
		}
		ip := str(rp, "nextHopIpAddress")
		if hopType != "VirtualAppliance" {
			if ip != "" {
				return badRequest(codeRouteNextHopIP, fmt.Sprintf(
					"NextHopIpAddress %s is allowed in route %s only when NextHopType is VirtualAppliance, not %s.", ip, id, hopType)), false
			}
			continue
		}
		if ip == "" {
			return badRequest(codeRouteNextHopIP, fmt.Sprintf(
				"NextHopIpAddress cannot be Null or Empty in route %s when NextHopType is VirtualAppliance.", id)), false
		}
		if reason := invalidNextHop(ip); reason != "" {
			// docs/azure-behaviour.md#route-next-hops: InvalidNextHopIpAddress.
			return badRequest("InvalidNextHopIpAddress", fmt.Sprintf(
				"Route %s has an invalid next hop IP address %s: %s.", id, ip, reason)), false
		}
		// An IPv6 prefix needs an IPv6 next hop and an IPv4 prefix an IPv4
		// one (docs/azure-behaviour.md#ipv6). A service tag prefix is not
		// checked.
		if p, err := netip.ParsePrefix(str(rp, "addressPrefix")); err == nil {
			if a, _ := netip.ParseAddr(ip); a.Unmap().Is4() != p.Addr().Unmap().Is4() {
				return badRequest(codeRouteIPVersion, fmt.Sprintf(
					"Route %s has address prefix %s and next hop IP address %s of another IP version.", id, p, ip)), false
			}
		}
	}
	return response{}, true
}

// invalidNextHop says why ip cannot be a VirtualAppliance next hop, or "".
func invalidNextHop(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return "not an IP address"
	}
	a = a.Unmap()
	switch {
	case a.IsUnspecified():
		return "unspecified address"
	case a.IsLoopback():
		return "loopback address"
	case a.IsMulticast():
		return "multicast address"
	case a == netip.MustParseAddr("255.255.255.255"):
		return "broadcast address"
	case a.IsLinkLocalUnicast():
		return "link-local address"
	case a == netip.MustParseAddr("168.63.129.16"):
		return "Azure platform address 168.63.129.16"
	}
	return ""
}

func ownerResource(ipConfigID string) string {
	if i := strings.Index(strings.ToLower(ipConfigID), "/ipconfigurations/"); i >= 0 {
		return ipConfigID[:i]
	}
	return ipConfigID
}

// prepareNIC checks a NIC's ipConfigurations against the other resources
// (docs/azure-behaviour.md#nic-validation) and fills defaults: the first ipConfiguration is primary
// when none is, and a Dynamic private IP is allocated from a known subnet.
func (s *Sim) prepareNIC(nicID string, props object) (response, bool) {
	ipcs := objects(props, "ipConfigurations")
	nicDefaults(props)
	nicPrefix := keyOf(nicID) + "/"
	pipSeen := map[string]string{}
	ipSeen := map[string]string{}
	for _, ipc := range ipcs {
		ipcID := nicID + "/ipConfigurations/" + str(ipc, "name")
		ipp := ensure(ipc, "properties")
		if pipID := refID(ipp, "publicIPAddress"); pipID != "" {
			if other, dup := pipSeen[keyOf(pipID)]; dup {
				return badRequest("PublicIPReferencedByMultipleIPConfigs", fmt.Sprintf(
					"Public IP address %s is referenced by multiple ipconfigs in resource %s: %s and %s.",
					pipID, nicID, other, ipcID)), false
			}
			pipSeen[keyOf(pipID)] = ipcID
			pip := s.resources[keyOf(pipID)]
			if pip == nil || !strings.EqualFold(pip.typ, "publicIPAddresses") {
				return badRequest("InvalidResourceReference", fmt.Sprintf(
					"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.",
					pipID, nicID)), false
			}
			if pv, iv := pipVersion(pip.props()), ipconfigVersion(ipp); !strings.EqualFold(pv, iv) {
				return badRequest(codePublicIPVersion, fmt.Sprintf(
					"Public IP address %s of version %s cannot be referenced by IP configuration %s of version %s.",
					pip.id, pv, ipcID, iv)), false
			}
			if owner := refID(pip.props(), "ipConfiguration"); owner != "" && !strings.HasPrefix(keyOf(owner), nicPrefix) {
				// docs/azure-behaviour.md#nic-validation: PublicIPAddressInUse, message form from
				// microsoft/azure-tools-for-java#91.
				return badRequest("PublicIPAddressInUse", fmt.Sprintf(
					"IP configuration %s is referencing public IP address %s that is already allocated to resource %s.",
					ipcID, pip.id, ownerResource(owner))), false
			}
		}
		subnetID := refID(ipp, "subnet")
		var prefix netip.Prefix
		if subnetID != "" {
			sp, err := parsePath(subnetID)
			if err != nil || sp.childType == "" {
				return badRequest("InvalidResourceReference", fmt.Sprintf("Subnet reference %s of %s is not a subnet ID.", subnetID, ipcID)), false
			}
			if vnet := s.resources[keyOf(sp.parentID())]; vnet != nil {
				sn, _ := findChild(vnet.body, "subnets", sp.childName)
				if sn == nil {
					return badRequest("InvalidResourceReference", fmt.Sprintf(
						"Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.",
						subnetID, nicID)), false
				}
				prefix = subnetPrefix(sn, ipconfigVersion(ipp) == "IPv6")
			}
		}
		addr := str(ipp, "privateIPAddress")
		if addr == "" && prefix.IsValid() {
			addr = s.allocatePrivateIP(nicID, subnetID, prefix, ipSeen)
			if addr != "" {
				ipp["privateIPAddress"] = addr
			}
		}
		if addr == "" {
			continue
		}
		if a, err := netip.ParseAddr(addr); err == nil && a.Unmap().Is4() != (ipconfigVersion(ipp) == "IPv4") {
			return badRequest(codeIPConfigIPVersion, fmt.Sprintf(
				"IP configuration %s has private IP address %s, which is not of its privateIPAddressVersion %s.", ipcID, addr, ipconfigVersion(ipp))), false
		}
		if prefix.IsValid() {
			a, err := netip.ParseAddr(addr)
			if err != nil || !prefix.Contains(a) {
				return badRequest("PrivateIPAddressNotInSubnet", fmt.Sprintf(
					"IP configuration %s has private IP address %s, which does not belong to subnet %s (%s).", ipcID, addr, subnetID, prefix)), false
			}
			if reservedInSubnet(a, prefix) {
				return badRequest("PrivateIPAddressInReservedRange", fmt.Sprintf(
					"Private static IP address %s falls within the reserved IP range of subnet prefix %s.", addr, prefix)), false
			}
		}
		if subnetID != "" {
			k := keyOf(subnetID) + "|" + addr
			if other, dup := ipSeen[k]; dup {
				return privateIPInUse(ipcID, addr, other), false
			}
			ipSeen[k] = ipcID
			if other := s.privateIPOwner(nicID, subnetID, addr); other != "" {
				return privateIPInUse(ipcID, addr, other), false
			}
		}
	}
	return response{}, true
}

// nicDefaults marks the first ipConfiguration primary when none is, as Azure does.
// An ipConfiguration without privateIPAllocationMethod is Static when it names
// an address, else Dynamic.
func nicDefaults(props object) {
	ipcs := objects(props, "ipConfigurations")
	primary := false
	for _, ipc := range ipcs {
		ipp := ensure(ipc, "properties")
		if b, _ := ipp["primary"].(bool); b {
			primary = true
		}
		if str(ipp, "privateIPAllocationMethod") == "" {
			if str(ipp, "privateIPAddress") != "" {
				ipp["privateIPAllocationMethod"] = "Static"
			} else {
				ipp["privateIPAllocationMethod"] = "Dynamic"
			}
		}
	}
	if !primary && len(ipcs) > 0 {
		ensure(ipcs[0], "properties")["primary"] = true
	}
}

func privateIPInUse(ipcID, addr, other string) response {
	// docs/azure-behaviour.md#nic-validation: PrivateIPAddressIsAllocated.
	return badRequest("PrivateIPAddressIsAllocated", fmt.Sprintf(
		"IP configuration %s is using the private IP address %s which is already allocated to resource %s.",
		ipcID, addr, ownerResource(other)))
}

// subnetPrefix returns the subnet's first address prefix of the IP version
// (a dual-stack subnet has an IPv4 and an IPv6 one in addressPrefixes).
func subnetPrefix(sn object, v6 bool) netip.Prefix {
	sp := sub(sn, "properties")
	list := []any{str(sp, "addressPrefix")}
	if a, _ := sp["addressPrefixes"].([]any); len(a) > 0 {
		list = append(list, a...)
	}
	for _, v := range list {
		p, _ := v.(string)
		pr, err := netip.ParsePrefix(p)
		if err == nil && pr.Addr().Is6() == v6 {
			return pr.Masked()
		}
	}
	return netip.Prefix{}
}

// ipconfigVersion is an ipconfig's privateIPAddressVersion (IPv4 when unset,
// as in ARM).
func ipconfigVersion(ipp object) string {
	if strings.EqualFold(str(ipp, "privateIPAddressVersion"), "IPv6") {
		return "IPv6"
	}
	return "IPv4"
}

// pipVersion is a public IP's publicIPAddressVersion (IPv4 when unset).
func pipVersion(props object) string {
	if strings.EqualFold(str(props, "publicIPAddressVersion"), "IPv6") {
		return "IPv6"
	}
	return "IPv4"
}

// reservedInSubnet: Azure reserves the first four addresses and the last one
// of every subnet (docs/azure-behaviour.md#subnet-addresses).
func reservedInSubnet(a netip.Addr, p netip.Prefix) bool {
	if !a.Is4() || !p.Addr().Is4() {
		return false
	}
	base := p.Addr().As4()
	n := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	size := uint32(1) << (32 - p.Bits())
	off := v - n
	return off < 4 || off == size-1
}

// privateIPOwner returns the ipConfiguration of another NIC holding addr in subnetID.
func (s *Sim) privateIPOwner(nicID, subnetID, addr string) string {
	keys := make([]string, 0, len(s.resources))
	for k := range s.resources {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := s.resources[k]
		if !strings.EqualFold(r.typ, "networkInterfaces") || strings.EqualFold(r.id, nicID) {
			continue
		}
		for _, ipc := range objects(r.props(), "ipConfigurations") {
			ipp := sub(ipc, "properties")
			if strings.EqualFold(refID(ipp, "subnet"), subnetID) && str(ipp, "privateIPAddress") == addr {
				return str(ipc, "id")
			}
		}
	}
	return ""
}

// allocatePrivateIP returns the first free address of a subnet after the reserved ones.
func (s *Sim) allocatePrivateIP(nicID, subnetID string, p netip.Prefix, taken map[string]string) string {
	if !p.Addr().Is4() {
		return ""
	}
	for a := p.Addr(); p.Contains(a); a = a.Next() {
		if reservedInSubnet(a, p) {
			continue
		}
		ip := a.String()
		if _, used := taken[keyOf(subnetID)+"|"+ip]; used {
			continue
		}
		if s.privateIPOwner(nicID, subnetID, ip) == "" {
			return ip
		}
	}
	return ""
}

// preparePIP fills a public IP's platform fields: Standard SKU, Static, IPv4
// (docs/azure-behaviour.md#public-ip-move: emulate Standard only) and an
// address that stays the same
// across PUTs.
func (s *Sim) preparePIP(body, props, oldProps object) {
	if _, ok := body["sku"]; !ok {
		body["sku"] = map[string]any{"name": "Standard", "tier": "Regional"}
	}
	if str(props, "publicIPAllocationMethod") == "" {
		props["publicIPAllocationMethod"] = "Static"
	}
	if str(props, "publicIPAddressVersion") == "" {
		props["publicIPAddressVersion"] = "IPv4"
	}
	switch {
	case str(oldProps, "ipAddress") != "":
		props["ipAddress"] = str(oldProps, "ipAddress")
	case str(props, "ipAddress") != "":
	default:
		s.pipSerial++
		props["ipAddress"] = fmt.Sprintf("20.%d.%d.%d", 10+s.pipSerial/65536%200, s.pipSerial/256%256, s.pipSerial%256)
	}
}
