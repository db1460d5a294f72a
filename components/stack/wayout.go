package stack

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pulumi/pulumi-azure-native-sdk/network/v2"

	"github.com/hanva/hanva/monitor/config"
)

// The monitors' way out: to fail over they call Azure Resource Manager (to
// rewrite route tables and NICs) and Azure Storage (the leader lease), so
// that traffic must not pass through an NVA they manage: when that NVA is
// down, so is their way to the APIs that would route around it.
//
// Azure picks a subnet's route by longest prefix match; a user-defined route
// may name a service tag (AzureResourceManager, Storage, Storage.WestEurope,
// AzureCloud) instead of a CIDR, which stands for the tag's prefixes, all
// longer than 0.0.0.0/0; a next hop of type VirtualAppliance sends the
// traffic to the given IP. ("Virtual network traffic routing",
// https://learn.microsoft.com/azure/virtual-network/virtual-networks-udr-overview,
// sections "User-defined", "Service tags for user-defined routes" and
// "How Azure selects a route".) A user-defined 0.0.0.0/0 route also wins
// over a NAT gateway on the subnet, which only replaces the system default
// route to the Internet (https://learn.microsoft.com/azure/nat-gateway/nat-overview).

// udr is one user-defined route of the monitors' subnet's route table.
type udr struct {
	Name, Prefix, NextHopType, NextHopIP string
	// Key names the route in the stack config when the program creates its
	// table ("routeTables[0].routes[1]"); "" for a route read from Azure.
	Key string
}

// monitorNeeds are the services the monitors reach while failing over, by
// how an operator reads them.
var monitorNeeds = []struct{ name, tag string }{
	{"Azure Resource Manager", "AzureResourceManager"},
	{"Storage", "Storage"},
}

// coversNeed reports whether a route's address prefix is a service tag whose
// prefixes hold the need's addresses: the need's own tag or AzureCloud,
// global or of the monitors' region. (The storage account is in the stack's
// location; a regional tag of another region does not hold it.)
func coversNeed(prefix, tag, location string) bool {
	p := strings.ToLower(prefix)
	for _, t := range []string{strings.ToLower(tag), "azurecloud"} {
		if p == t || p == t+"."+strings.ToLower(location) {
			return true
		}
	}
	return false
}

// isDefaultLike reports whether a CIDR route covers (nearly) every address:
// 0.0.0.0/0, or a half of it as in the 0.0.0.0/1 + 128.0.0.0/1 idiom of
// forced tunnelling.
func isDefaultLike(prefix string) bool {
	pfx, err := netip.ParsePrefix(prefix)
	return err == nil && pfx.Addr().Is4() && pfx.Bits() <= 1
}

// wayOutProblem is a route that sends some of the monitors' traffic through
// a managed NVA.
type wayOutProblem struct {
	Route udr
	NVA   string   // whose IP the next hop is, "fw-1's internal IP"
	Needs []string // what it carries, "Azure Resource Manager"
}

// cutOffRoutes returns the routes through which the monitors would reach
// ARM or Storage via one of the managed NVAs (nvaIPs: private IP -> what it
// is). For each need, a service-tag route that covers it decides; without
// one, a default-like CIDR route does; with neither, the system route sends
// the traffic to the Internet.
func cutOffRoutes(routes []udr, nvaIPs map[string]string, location string) []wayOutProblem {
	viaNVA := func(r udr) string {
		if !strings.EqualFold(r.NextHopType, "VirtualAppliance") {
			return ""
		}
		return nvaIPs[r.NextHopIP]
	}
	var out []wayOutProblem
	blame := func(r udr, need string) {
		for i := range out {
			if out[i].Route == r {
				out[i].Needs = append(out[i].Needs, need)
				return
			}
		}
		out = append(out, wayOutProblem{Route: r, NVA: viaNVA(r), Needs: []string{need}})
	}
	for _, need := range monitorNeeds {
		tagged := false
		for _, r := range routes {
			if !coversNeed(r.Prefix, need.tag, location) {
				continue
			}
			tagged = true
			if viaNVA(r) != "" {
				blame(r, need.name)
			}
		}
		if tagged {
			continue // the tag's route decides, not a shorter prefix
		}
		for _, r := range routes {
			if isDefaultLike(r.Prefix) && viaNVA(r) != "" {
				blame(r, need.name)
			}
		}
	}
	return out
}

// checkMonitorWayOut reads the monitors' subnet (monitorSubnetId) and the
// route table associated with it, and adds a problem naming
// hanva:monitorSubnetId for each route that sends the monitors' ARM or
// Storage traffic through an NVA (at any IP of any NVA's NICs: the monitors
// move the routes from one NVA to another). When that table is one the
// program creates (routeTables, same resource group and name), its routes
// are taken from the config: that is what they will be after this update.
func (az *azure) checkMonitorWayOut(s *settings, nvas []appliance, p *problems) {
	vnet, subnet, err := parseSubnetID(s.MonitorSubnetID)
	if err != nil {
		return // reported by loadSettings
	}
	if !strings.EqualFold(vnet.Subscription, az.subscription) {
		_ = az.ctx.Log.Warn(fmt.Sprintf("hanva:monitorSubnetId: subnet %s is in subscription %s, which this program cannot read "+
			"(the provider reads %s): the monitors' way out to Azure Resource Manager and Storage is not checked", subnet, vnet.Subscription, az.subscription), nil)
		return
	}
	sn, err := network.LookupSubnet(az.ctx, &network.LookupSubnetArgs{
		ResourceGroupName:  vnet.ResourceGroup,
		VirtualNetworkName: vnet.Name,
		SubnetName:         subnet,
	})
	if err != nil {
		p.add("monitorSubnetId", "read subnet %s of VNet %s in resource group %s: %v", subnet, vnet.Name, vnet.ResourceGroup, err)
		return
	}
	if sn.RouteTable == nil || deref(sn.RouteTable.Id) == "" {
		return // system routes only: ARM and Storage are reached directly
	}
	rtID := deref(sn.RouteTable.Id)
	rt, err := config.ParseResourceID(rtID)
	if err != nil {
		p.add("monitorSubnetId", "subnet %s has route table %q, which is not a route table ID: %v", subnet, rtID, err)
		return
	}

	nvaIPs := map[string]string{}
	for _, a := range nvas {
		for ip, what := range a.Addresses {
			nvaIPs[ip] = what
		}
	}
	var routes []udr
	table := rt.Name
	if i := s.managedTable(rt); i >= 0 {
		t := s.RouteTables[i]
		table = fmt.Sprintf("%s, which this program creates (routeTables[%d])", t.Name, i)
		hop := nvas[0].NICs[t.Via].IP
		for k, r := range t.Routes {
			routes = append(routes, udr{Name: r.Name, Prefix: r.AddressPrefix, NextHopType: "VirtualAppliance", NextHopIP: hop,
				Key: fmt.Sprintf("routeTables[%d].routes[%d]", i, k)})
		}
	} else {
		if !strings.EqualFold(rt.Subscription, az.subscription) {
			_ = az.ctx.Log.Warn(fmt.Sprintf("hanva:monitorSubnetId: the route table %s of subnet %s is in subscription %s, which this program cannot read: "+
				"the monitors' way out to Azure Resource Manager and Storage is not checked", rt.Name, subnet, rt.Subscription), nil)
			return
		}
		live, err := network.LookupRouteTable(az.ctx, &network.LookupRouteTableArgs{
			ResourceGroupName: rt.ResourceGroup,
			RouteTableName:    rt.Name,
		})
		if err != nil {
			p.add("monitorSubnetId", "read route table %s (of subnet %s) in resource group %s: %v", rt.Name, subnet, rt.ResourceGroup, err)
			return
		}
		for _, r := range live.Routes {
			routes = append(routes, udr{Name: deref(r.Name), Prefix: deref(r.AddressPrefix), NextHopType: r.NextHopType, NextHopIP: deref(r.NextHopIpAddress)})
		}
	}

	for _, c := range cutOffRoutes(routes, nvaIPs, s.Location) {
		r := c.Route
		route := fmt.Sprintf("route %q (%s, next hop VirtualAppliance %s, %s)", r.Name, r.Prefix, r.NextHopIP, c.NVA)
		if r.Key != "" {
			route = fmt.Sprintf("route %s %q (%s, next hop %s %s)", r.Key, r.Name, r.Prefix, c.NVA, r.NextHopIP)
		}
		fix := "give that route next hop Internet, or put the monitors in another subnet"
		if isDefaultLike(r.Prefix) {
			fix = fmt.Sprintf("give %s next hop Internet (a NAT gateway on the subnet then gives the monitors a fixed outbound address), "+
				"add routes for the %s service tags with next hop Internet, or put the monitors in another subnet", r.Prefix, needTags(c.Needs))
		}
		p.add("monitorSubnetId", "the monitors' subnet %s has route table %s, whose %s sends the monitors' %s traffic through an NVA they manage: "+
			"while that NVA is down they could not fail over. To route it around the NVAs, %s "+
			"(https://learn.microsoft.com/azure/virtual-network/virtual-networks-udr-overview)",
			subnet, table, route, strings.Join(c.Needs, " and "), fix)
	}
}

// managedTable returns the index in routeTables of the table a route table
// ID names (same resource group and name, ignoring case), or -1.
func (s *settings) managedTable(rt config.ResourceID) int {
	if !rt.IsType(config.TypeRouteTable) || !strings.EqualFold(rt.ResourceGroup, s.ResourceGroupName) {
		return -1
	}
	for i, t := range s.RouteTables {
		if strings.EqualFold(t.Name, rt.Name) {
			return i
		}
	}
	return -1
}

// needTags lists the service tags of needs, "AzureResourceManager and Storage".
func needTags(needs []string) string {
	var tags []string
	for _, n := range monitorNeeds {
		for _, want := range needs {
			if n.name == want {
				tags = append(tags, n.tag)
			}
		}
	}
	return strings.Join(tags, " and ")
}
