package access

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// apiVersion of Microsoft.Authorization permissions.
const apiVersion = "2022-04-01"

// The actions failover needs on each kind of resource (the same ones the
// Pulumi component puts in the monitor's custom role).
var (
	RouteTableActions = []string{"Microsoft.Network/routeTables/read", "Microsoft.Network/routeTables/write"}
	NICActions        = []string{"Microsoft.Network/networkInterfaces/read", "Microsoft.Network/networkInterfaces/write"}
	PublicIPActions   = []string{"Microsoft.Network/publicIPAddresses/read", "Microsoft.Network/publicIPAddresses/join/action"}
	// InstanceNICActions are what `nva-monitor validate` needs on the
	// monitor's own NIC (config instanceNic) to read its effective routes
	// (Network Interfaces - Get Effective Route Table,
	// https://learn.microsoft.com/rest/api/virtualnetwork/network-interfaces/get-effective-route-table).
	InstanceNICActions = []string{"Microsoft.Network/networkInterfaces/effectiveRouteTable/action"}

	// FloatingIPActions are what moving a floating private IP needs on each
	// NVA NIC of its role: read the NIC, and write it to add or remove the
	// secondary ipconfig (Microsoft.Network operations in
	// https://learn.microsoft.com/azure/role-based-access-control/permissions/networking).
	FloatingIPActions = []string{"Microsoft.Network/networkInterfaces/read", "Microsoft.Network/networkInterfaces/write"}
	// SubnetJoinActions are what a write needs on a subnet it references:
	// the floating IP's new ipconfig, and a load balancer's frontend, name
	// their subnet, and ARM checks join on it (LinkedAuthorizationFailed
	// otherwise; "Joins a virtual network", same page).
	SubnetJoinActions = []string{"Microsoft.Network/virtualNetworks/subnets/join/action"}
	// LoadBalancerActions are what keeping the active NVA in an IP-based
	// backend pool needs on its load balancer: the monitor reads the load
	// balancer and writes it whole (one PUT, If-Match, epoch tag), same page.
	LoadBalancerActions = []string{"Microsoft.Network/loadBalancers/read", "Microsoft.Network/loadBalancers/write"}
	// VirtualNetworkLBJoinActions are what an IP-based pool member needs on
	// the virtual network it names (members are ipAddress + virtualNetwork,
	// https://learn.microsoft.com/azure/load-balancer/backend-pool-management):
	// "Joins a load balancer to virtual networks" (same permissions page).
	VirtualNetworkLBJoinActions = []string{"Microsoft.Network/virtualNetworks/joinLoadBalancer/action"}
	// DNSRecordActions are what keeping the active NVA in a Private DNS A
	// record set needs on the record set (Microsoft.Network privateDnsZones
	// operations, same page; Azure RBAC can be granted on one record set:
	// https://learn.microsoft.com/azure/dns/dns-protect-private-zones-recordsets).
	DNSRecordActions = []string{"Microsoft.Network/privateDnsZones/A/read", "Microsoft.Network/privateDnsZones/A/write"}
	// DNSRecordAAAAActions are the same for an AAAA record set.
	DNSRecordAAAAActions = []string{"Microsoft.Network/privateDnsZones/AAAA/read", "Microsoft.Network/privateDnsZones/AAAA/write"}
)

// Permission is one entry of the permissions API's answer.
type Permission struct {
	Actions    []string `json:"actions"`
	NotActions []string `json:"notActions"`
}

// Permissions returns the caller's permissions on the resource.
func Permissions(ctx context.Context, c *arm.Client, resourceID string) ([]Permission, error) {
	url := strings.TrimSuffix(c.Endpoint(), "/") + resourceID + "/providers/Microsoft.Authorization/permissions"
	req, err := runtime.NewRequest(ctx, http.MethodGet, url)
	if err != nil {
		return nil, fmt.Errorf("build permissions request for %s: %w", resourceID, err)
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", apiVersion)
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := c.Pipeline().Do(req)
	if err != nil {
		return nil, fmt.Errorf("read permissions on %s: %w", resourceID, err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return nil, fmt.Errorf("read permissions on %s: %w", resourceID, runtime.NewResponseError(resp))
	}
	var body struct {
		Value []Permission `json:"value"`
	}
	if err := runtime.UnmarshalAsJSON(resp, &body); err != nil {
		return nil, fmt.Errorf("decode permissions on %s: %w", resourceID, err)
	}
	return body.Value, nil
}

// Missing returns the actions of want that the caller may not perform on the resource.
func Missing(ctx context.Context, c *arm.Client, resourceID string, want []string) ([]string, error) {
	perms, err := Permissions(ctx, c, resourceID)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, a := range want {
		if !Allowed(perms, a) {
			missing = append(missing, a)
		}
	}
	return missing, nil
}

// Allowed reports whether some permission grants action and does not
// exclude it in its notActions. Patterns match case-insensitively and "*"
// stands for any run of characters, as in Azure role definitions.
func Allowed(perms []Permission, action string) bool {
	for _, p := range perms {
		granted := false
		for _, pat := range p.Actions {
			if match(pat, action) {
				granted = true
				break
			}
		}
		if !granted {
			continue
		}
		excluded := false
		for _, pat := range p.NotActions {
			if match(pat, action) {
				excluded = true
				break
			}
		}
		if !excluded {
			return true
		}
	}
	return false
}

// match reports whether s matches pattern, where "*" matches any run of
// characters; case-insensitive.
func match(pattern, s string) bool {
	pattern, s = strings.ToLower(pattern), strings.ToLower(s)
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for i, part := range parts[1:] {
		last := i == len(parts)-2
		if last {
			return strings.HasSuffix(s, part)
		}
		j := strings.Index(s, part)
		if j < 0 {
			return false
		}
		s = s[j+len(part):]
	}
	return true
}
