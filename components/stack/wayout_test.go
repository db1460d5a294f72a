package stack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hanva/hanva/components/pulumitest"
)

// TestProductionModeChecksTheMonitorsWayOut runs the production program
// over monitor subnets with different route tables: the monitors must reach
// Azure Resource Manager and Storage without passing through an NVA they
// manage (at any NVA NIC's IP: routes follow the active NVA).
func TestProductionModeChecksTheMonitorsWayOut(t *testing.T) {
	const monRT = "mon-rt"
	va := func(name, prefix, ip string) fakeRoute { return fakeRoute{name, prefix, "VirtualAppliance", ip} }
	internet := func(name, prefix string) fakeRoute { return fakeRoute{name, prefix, "Internet", ""} }
	// table associates mon-rt, holding routes, with dmz-internal.
	table := func(routes ...fakeRoute) func(*fakeAzure) {
		return func(az *fakeAzure) {
			az.Subnets[prodSubnet("dmz-internal")] = prodRouteTable(monRT)
			az.RouteTables[prodRouteTable(monRT)] = routes
		}
	}
	const refused = "hanva:monitorSubnetId: the monitors' subnet dmz-internal has route table "
	tests := []struct {
		name  string
		azure func(*fakeAzure)
		cfg   func(map[string]string)
		want  []string // "" for accepted; else parts of the error
	}{
		{"no route table", func(az *fakeAzure) { az.Subnets[prodSubnet("dmz-internal")] = "" }, nil, nil},
		{"routes to on-premises through the NVA only", nil, nil, nil},
		{"a default route to the Internet", table(internet("default", "0.0.0.0/0"), va("onprem", "10.0.0.0/8", "10.1.0.36")), nil, nil},
		{"a default route through another appliance (a firewall hanva does not manage)", table(va("default", "0.0.0.0/0", "10.1.1.4")), nil, nil},
		{"a default route through the NVA, with ARM and Storage sent to the Internet by service tag",
			table(va("default", "0.0.0.0/0", "10.1.0.36"), internet("arm", "AzureResourceManager"), internet("storage", "Storage.WestEurope")), nil, nil},
		{"a default route through the NVA, with AzureCloud sent to the Internet",
			table(va("default", "0.0.0.0/0", "10.1.0.36"), internet("azure", "AzureCloud")), nil, nil},
		{"a Storage tag of another region through the NVA", table(va("storage-us", "Storage.EastUS", "10.1.0.36")), nil, nil},

		{"a default route through the active NVA", table(va("default", "0.0.0.0/0", "10.1.0.36")), nil, []string{
			refused + monRT + `, whose route "default" (0.0.0.0/0, next hop VirtualAppliance 10.1.0.36, fw-1's internal IP) sends the monitors' Azure Resource Manager and Storage traffic through an NVA they manage`,
			"give 0.0.0.0/0 next hop Internet (a NAT gateway on the subnet then gives the monitors a fixed outbound address), add routes for the AzureResourceManager and Storage service tags with next hop Internet, or put the monitors in another subnet",
			"https://learn.microsoft.com/azure/virtual-network/virtual-networks-udr-overview",
		}},
		{"a default route through the standby NVA (after a failover)", table(va("default", "0.0.0.0/0", "10.1.0.37")), nil, []string{
			`route "default" (0.0.0.0/0, next hop VirtualAppliance 10.1.0.37, fw-2's internal IP)`,
		}},
		{"a default route through an NVA's external NIC", table(va("default", "0.0.0.0/0", "10.1.0.5")), nil, []string{
			`route "default" (0.0.0.0/0, next hop VirtualAppliance 10.1.0.5, fw-2's external IP)`,
		}},
		{"a default route through an NVA's management NIC", table(va("default", "0.0.0.0/0", "10.1.0.68")), nil, []string{
			`route "default" (0.0.0.0/0, next hop VirtualAppliance 10.1.0.68, fw-1's NIC fw1-mgmt)`,
		}},
		{"the AzureResourceManager tag through the NVA", table(va("arm", "AzureResourceManager", "10.1.0.36")), nil, []string{
			refused + monRT + `, whose route "arm" (AzureResourceManager, next hop VirtualAppliance 10.1.0.36, fw-1's internal IP) sends the monitors' Azure Resource Manager traffic`,
			"give that route next hop Internet, or put the monitors in another subnet",
		}},
		{"the regional Storage tag through the NVA", table(va("st", "Storage.WestEurope", "10.1.0.36")), nil, []string{
			`route "st" (Storage.WestEurope, next hop VirtualAppliance 10.1.0.36, fw-1's internal IP) sends the monitors' Storage traffic`,
		}},
		{"the Storage tag through the NVA despite a default route to the Internet", table(internet("default", "0.0.0.0/0"), va("st", "Storage", "10.1.0.36")), nil, []string{
			`route "st" (Storage, next hop VirtualAppliance 10.1.0.36, fw-1's internal IP) sends the monitors' Storage traffic`,
		}},
		{"a default route through the NVA with only ARM sent to the Internet", table(va("default", "0.0.0.0/0", "10.1.0.36"), internet("arm", "AzureResourceManager")), nil, []string{
			`route "default" (0.0.0.0/0, next hop VirtualAppliance 10.1.0.36, fw-1's internal IP) sends the monitors' Storage traffic`,
			"add routes for the Storage service tags with next hop Internet",
		}},
		{"the two halves of the address space through the NVA", table(va("low", "0.0.0.0/1", "10.1.0.36"), va("high", "128.0.0.0/1", "10.1.0.36")), nil, []string{
			`route "low" (0.0.0.0/1`, `route "high" (128.0.0.0/1`,
		}},
		{"a route table this program creates, with a default route, on the monitors' subnet", func(az *fakeAzure) {
			az.Subnets[prodSubnet("dmz-internal")] = prodSub + "/resourceGroups/RG-PROD/providers/Microsoft.Network/routeTables/Spoke-UDR"
		}, nil, []string{
			refused + `spoke-udr, which this program creates (routeTables[0]), whose route routeTables[0].routes[0] "default" (0.0.0.0/0, next hop fw-1's internal IP 10.1.0.36)`,
		}},
		{"a monitors' subnet that does not exist", func(az *fakeAzure) { delete(az.Subnets, prodSubnet("dmz-internal")) }, nil, []string{
			"hanva:monitorSubnetId: read subnet dmz-internal of VNet hub in resource group rg-net: ",
		}},
		{"a route table that cannot be read", func(az *fakeAzure) { az.Subnets[prodSubnet("dmz-internal")] = prodRouteTable("gone") }, nil, []string{
			"hanva:monitorSubnetId: read route table gone (of subnet dmz-internal) in resource group rg-net: ",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			az := prodAzure()
			if tt.azure != nil {
				tt.azure(az)
			}
			cfg := productionConfig(t)
			if tt.cfg != nil {
				tt.cfg(cfg)
			}
			res := runProgramIn(t, cfg, az)
			if len(tt.want) == 0 {
				if res.err != nil {
					t.Fatalf("refused an acceptable topology: %v", res.err)
				}
				return
			}
			if res.err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(res.err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", res.err, w)
				}
			}
			if all := res.m.All(); len(all) != 0 {
				t.Errorf("registered %d resources despite the problem", len(all))
			}
		})
	}
}

// TestSampleModeMonitorsSubnetHasNoRouteThroughTheNVAs pins the sample's
// way out: no route table with a next hop at an NVA is associated with the
// subnet of the monitors' NICs (dmz-internal), so they reach Azure Resource
// Manager and Storage over the system routes while the active NVA is down.
// (HaNva refuses such an association; this holds what the program deploys.)
func TestSampleModeMonitorsSubnetHasNoRouteThroughTheNVAs(t *testing.T) {
	res := mustRunProgram(t, sampleConfig(t))
	var byNVA map[string]map[string]string
	if err := json.Unmarshal([]byte(mustJSON(t, res.exports["nvaPrivateIps"])), &byNVA); err != nil {
		t.Fatal(err)
	}
	nvaIPs := map[string]bool{}
	for _, byRole := range byNVA {
		for _, ip := range byRole {
			nvaIPs[ip] = true
		}
	}
	if len(nvaIPs) != 4 {
		t.Fatalf("NVA IPs %v, want 4", nvaIPs)
	}
	tables := map[string]pulumitest.Resource{}
	for _, rt := range res.m.OfType(tRT) {
		tables[rt.ID] = rt
	}
	// The monitors' subnet, from their NICs.
	monitorSubnets := map[string]bool{}
	for _, nic := range res.m.OfType(tNIC) {
		if strings.HasPrefix(nic.Name, "hanva-monitor") {
			monitorSubnets[pulumitest.String(nic.Inputs, "ipConfigurations", 0, "subnet", "id")] = true
		}
	}
	if len(monitorSubnets) != 1 {
		t.Fatalf("monitor NICs in subnets %v, want one", monitorSubnets)
	}
	vnet := res.m.One(t, tVNet)
	checked := 0
	for i := 0; pulumitest.Get(vnet.Inputs, "subnets", i) != nil; i++ {
		name := pulumitest.String(vnet.Inputs, "subnets", i, "name")
		id := vnet.ID + "/subnets/" + name
		if !monitorSubnets[id] {
			continue
		}
		checked++
		if name != "dmz-internal" {
			t.Errorf("the monitors sit in %s, want dmz-internal", name)
		}
		rtID := pulumitest.String(vnet.Inputs, "subnets", i, "routeTable", "id")
		if rtID == "" {
			continue // the sample's case: system routes only
		}
		rt, ok := tables[rtID]
		if !ok {
			t.Fatalf("subnet %s has route table %s, which the program does not create", name, rtID)
		}
		for k := 0; pulumitest.Get(rt.Inputs, "routes", k) != nil; k++ {
			if hop := pulumitest.String(rt.Inputs, "routes", k, "nextHopIpAddress"); nvaIPs[hop] {
				t.Errorf("the monitors' subnet %s has route table %s whose route %s goes to NVA IP %s", name, rt.Name,
					pulumitest.String(rt.Inputs, "routes", k, "addressPrefix"), hop)
			}
		}
	}
	if checked != 1 {
		t.Errorf("found the monitors' subnet %d times among the VNet's subnets, want once", checked)
	}
}
