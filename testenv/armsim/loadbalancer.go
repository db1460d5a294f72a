package armsim

import (
	"fmt"
	"net/netip"
	"strings"
)

// Load balancers (Microsoft.Network/loadBalancers) are ordinary armsim
// resources with backendAddressPools as their sub-resource, so a pool is
// read, written (a long-running PUT of the load balancer with the pool
// replaced), listed and deleted as routes/{name} are, sharing the load
// balancer's etag. The other parts of a load balancer (frontend IP
// configurations, rules, probes) are stored as given.
//
// What prepareLoadBalancer checks of IP-based backend pools
// (loadBalancerBackendAddresses with ipAddress and virtualNetwork), after
// Microsoft's "Backend pool management", Limitations
// (https://learn.microsoft.com/azure/load-balancer/backend-pool-management#limitations;
// docs/azure-behaviour.md#lb-backend-pools):
//
//   - IP-based backends only on a Standard load balancer;
//   - the backend addresses in the load balancer's virtual network: every
//     address of a pool in one virtual network, the pool's own
//     virtualNetwork if it names one, and the virtual network of an internal
//     frontend IP configuration's subnet;
//   - an address that is an IP address.
//
// Not checked: that an address is inside the virtual network's address
// space, the 100-address/pool-size limits, mixing NIC-based and IP-based
// members in one pool (400
// CannotMixIPBasedAddressesAndIPConfigurationsOnLoadBalancerBackendAddressPool
// on a NIC write, hashicorp/terraform-provider-azurerm#25962), load
// balancing rules and HA ports.
//
// For HA ports behind NVAs the limitations that matter: an IP-based pool
// behaves like a Basic load balancer with default outbound access (so NVAs
// that need explicit outbound rules belong in a NIC-based pool), inbound NAT
// rules cannot target IP addresses, and a load balancer with an IP-based
// pool cannot front a Private Link service.

// Codes for the backend pool mistakes whose real code has no public source;
// clients should key on the status, 400.
const (
	codeBackendAddressVirtualNetwork = "LoadBalancerBackendAddressInDifferentVirtualNetwork"
	codeBackendAddressNeedsStandard  = "IPBasedBackendAddressPoolRequiresStandardSku"
	codeBackendAddressInvalidIP      = "InvalidLoadBalancerBackendAddressIpAddress"
)

func init() {
	childLabel["backendAddressPools"] = "backend pool"
}

// vnetOfRef returns the virtual network ID in a virtualNetwork or subnet
// reference, or "".
func vnetOfRef(id string) string {
	if id == "" {
		return ""
	}
	if i := strings.Index(strings.ToLower(id), "/subnets/"); i >= 0 {
		return id[:i]
	}
	return id
}

// prepareLoadBalancer checks the IP-based backend pools of a load balancer
// PUT (also a PUT of one pool, which rewrites the load balancer).
func (s *Sim) prepareLoadBalancer(lbID string, body, props object) (response, bool) {
	lbVNet := ""
	for _, fe := range objects(props, "frontendIPConfigurations") {
		if v := vnetOfRef(refID(sub(fe, "properties"), "subnet")); v != "" {
			lbVNet = v
			break
		}
	}
	sku := str(sub(body, "sku"), "name")
	for _, pool := range objects(props, "backendAddressPools") {
		poolID := lbID + "/backendAddressPools/" + str(pool, "name")
		pp := ensure(pool, "properties")
		poolVNet := refID(pp, "virtualNetwork")
		want, wantFrom := poolVNet, "the pool's virtualNetwork"
		if want == "" && lbVNet != "" {
			want, wantFrom = lbVNet, "the load balancer's frontend subnet"
		}
		for _, addr := range objects(pp, "loadBalancerBackendAddresses") {
			ap := sub(addr, "properties")
			ip := str(ap, "ipAddress")
			if ip == "" {
				continue // a NIC-based member (read-only here) or an empty entry
			}
			name := str(addr, "name")
			if strings.EqualFold(sku, "Basic") {
				return badRequest(codeBackendAddressNeedsStandard, fmt.Sprintf(
					"Backend address %q (%s) of %s: IP-based backend pools need a Standard load balancer, not Basic.", name, ip, poolID)), false
			}
			if a, err := netip.ParseAddr(ip); err != nil || a.Zone() != "" {
				return badRequest(codeBackendAddressInvalidIP, fmt.Sprintf(
					"Backend address %q of %s has ipAddress %q, which is not an IP address.", name, poolID, ip)), false
			}
			vnet := refID(ap, "virtualNetwork")
			if vnet == "" {
				vnet = vnetOfRef(refID(ap, "subnet"))
			}
			if vnet == "" {
				vnet = poolVNet
			}
			if vnet == "" {
				return badRequest(codeBackendAddressVirtualNetwork, fmt.Sprintf(
					"Backend address %q (%s) of %s names no virtual network: give the address or the pool a virtualNetwork.", name, ip, poolID)), false
			}
			if want == "" {
				want, wantFrom = vnet, fmt.Sprintf("backend address %q", name)
				continue
			}
			if !strings.EqualFold(vnet, want) {
				return badRequest(codeBackendAddressVirtualNetwork, fmt.Sprintf(
					"Backend address %q (%s) of %s is in virtual network %s, but %s is in %s: IP-based backend addresses must be in the load balancer's virtual network.",
					name, ip, poolID, vnet, wantFrom, want)), false
			}
		}
	}
	return response{}, true
}
