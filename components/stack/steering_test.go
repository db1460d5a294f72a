package stack

import (
	"slices"
	"strings"
	"testing"

	"github.com/hanva/hanva/components/pulumitest"
	"github.com/hanva/hanva/monitor/config"
)

func monitorConfigOf(t *testing.T, res result) *config.Config {
	t.Helper()
	mc, err := config.Parse([]byte(res.exports["monitorConfig"].(string)))
	if err != nil {
		t.Fatalf("monitorConfig does not load: %v", err)
	}
	return mc
}

// customRoleScopes returns the scopes of the monitors' custom role
// assignments (every monitor's, deduplicated) and the role's actions.
func customRoleScopes(t *testing.T, m mocks, roleName string) (scopes, actions []string) {
	t.Helper()
	role := m.Named(t, roleName)
	for _, a := range pulumitest.Get(role.Inputs, "permissions", 0, "actions").ArrayValue() {
		actions = append(actions, a.StringValue())
	}
	id := pulumitest.String(role.Inputs, "roleDefinitionId")
	for _, ra := range m.OfType(tRoleAssignment) {
		if strings.HasSuffix(pulumitest.String(ra.Inputs, "roleDefinitionId"), "/"+id) {
			if s := pulumitest.String(ra.Inputs, "scope"); !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	}
	return scopes, actions
}

func TestSampleModeSteeringReachesHaNvaAndIsExported(t *testing.T) {
	cfg := sampleConfig(t)
	cfg["hanva:steering"] = `["loadBalancer","dns"]`
	cfg["hanva:dnsZoneName"] = "corp.internal"
	cfg["hanva:dnsTtl"] = "30"
	res := mustRunProgram(t, cfg)
	lbs := res.m.OfType(tLB)
	var nvaLB pulumitest.Resource
	for _, lb := range lbs {
		if lb.Name == "hanva-lb" {
			nvaLB = lb
		}
	}
	if nvaLB.ID == "" {
		t.Fatalf("no NVA load balancer among %d load balancers", len(lbs))
	}
	rec := res.m.One(t, "azure-native:network:PrivateRecordSet")
	for key, want := range map[string]any{
		"loadBalancerFrontendIp": "10.0.0.113",
		"dnsName":                "nva.corp.internal",
		"backendPoolId":          nvaLB.ID + "/backendAddressPools/nva-pool",
		"dnsRecordId":            rec.ID,
	} {
		if res.exports[key] != want {
			t.Errorf("output %s = %v, want %v", key, res.exports[key], want)
		}
	}
	if _, ok := res.exports["floatingIp"]; ok {
		t.Error("floatingIp exported without steering floatingIp")
	}
	if v := pulumitest.Get(rec.Inputs, "ttl"); v == nil || v.NumberValue() != 30 {
		t.Errorf("ttl = %v, want 30 (dnsTtl)", v)
	}
	mc := monitorConfigOf(t, res)
	if len(mc.BackendPools) != 1 || mc.BackendPools[0].ID != res.exports["backendPoolId"] ||
		len(mc.DNSRecords) != 1 || mc.DNSRecords[0].ID != rec.ID || len(mc.RouteTables) != 0 {
		t.Errorf("monitor config pools %+v, records %+v, route tables %+v; want the pool and the record, no route table",
			mc.BackendPools, mc.DNSRecords, mc.RouteTables)
	}

	cfg = sampleConfig(t)
	cfg["hanva:steering"] = `["floatingIp","publicIp"]`
	res = mustRunProgram(t, cfg)
	if res.exports["floatingIp"] != "10.0.0.112" {
		t.Errorf("floatingIp = %v, want 10.0.0.112", res.exports["floatingIp"])
	}
	if mc := monitorConfigOf(t, res); len(mc.FloatingIPs) != 1 || mc.FloatingIPs[0].IP != "10.0.0.112" {
		t.Errorf("monitor floating IPs %+v, want 10.0.0.112", mc.FloatingIPs)
	}
}

func TestProductionModeTakesExistingSteeredResourcesByID(t *testing.T) {
	pool := prodNet + "/loadBalancers/nva-ilb/backendAddressPools/nvas"
	record := prodSub + "/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/corp.internal/A/egress"
	cfg := productionConfig(t)
	delete(cfg, "hanva:routeTables")
	cfg["hanva:floatingIp"] = "10.1.0.40"
	cfg["hanva:backendPoolId"] = pool
	cfg["hanva:dnsRecordId"] = record
	res := mustRunProgram(t, cfg)

	for key, want := range map[string]any{"floatingIp": "10.1.0.40", "backendPoolId": pool, "dnsRecordId": record} {
		if res.exports[key] != want {
			t.Errorf("output %s = %v, want %v", key, res.exports[key], want)
		}
	}
	mc := monitorConfigOf(t, res)
	if want := []config.FloatingIP{{IP: "10.1.0.40", Via: "internal"}}; !slices.Equal(mc.FloatingIPs, want) {
		t.Errorf("floatingIps %+v, want %+v", mc.FloatingIPs, want)
	}
	if want := []config.BackendPool{{ID: pool, Via: "internal"}}; !slices.Equal(mc.BackendPools, want) {
		t.Errorf("backendPools %+v, want %+v", mc.BackendPools, want)
	}
	if want := []config.DNSRecord{{ID: record, Via: "internal"}}; !slices.Equal(mc.DNSRecords, want) {
		t.Errorf("dnsRecords %+v, want %+v", mc.DNSRecords, want)
	}
	if n := len(res.m.OfType(tRT)); n != 0 {
		t.Errorf("%d route tables created without routeTables", n)
	}

	scopes, actions := customRoleScopes(t, res.m, "hanva-monitor-role")
	for what, id := range map[string]string{
		"the pool's load balancer":              prodNet + "/loadBalancers/nva-ilb",
		"the VNet the pool's members name":      prodVNet,
		"the record set":                        record,
		"the floating IP's subnet":              prodSubnet("dmz-internal"),
		"fw-1's internal NIC (floating IP)":     prodNIC("fw1-int"),
		"fw-2's internal NIC (floating IP)":     prodNIC("fw2-int"),
		"the public IP (still moved as before)": prodNet + "/publicIPAddresses/fw-pip",
	} {
		if !slices.Contains(scopes, id) {
			t.Errorf("no role assignment on %s %s", what, id)
		}
	}
	if slices.Contains(scopes, prodSub+"/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/corp.internal") {
		t.Error("the role is assigned on the whole zone; the record set is enough")
	}
	for _, a := range []string{"Microsoft.Network/loadBalancers/read", "Microsoft.Network/loadBalancers/write",
		"Microsoft.Network/virtualNetworks/joinLoadBalancer/action", "Microsoft.Network/privateDnsZones/A/read", "Microsoft.Network/privateDnsZones/A/write"} {
		if !slices.Contains(actions, a) {
			t.Errorf("the role lacks %s", a)
		}
	}
	if slices.ContainsFunc(actions, func(a string) bool { return strings.Contains(a, "AAAA") }) {
		t.Errorf("the role grants AAAA actions for an A record: %q", actions)
	}
}

func TestBadSteeringConfigFailsNamingTheKeyAndRegistersNothing(t *testing.T) {
	tests := []struct {
		name       string
		production bool
		kv         map[string]string
		want       string
	}{
		{"an unknown way of steering", false, map[string]string{"steering": `["bgp"]`}, `hanva:steering: [0]: "bgp" is not a way of steering`},
		{"two ways for the route tables", false, map[string]string{"steering": `["routes","loadBalancer"]`}, `hanva:steering: "routes" and "loadBalancer" each decide`},
		{"DNS names without dns", false, map[string]string{"dnsZoneName": "corp.internal"}, `hanva:dnsZoneName: only used when steering lists "dns"`},
		{"a zero TTL", false, map[string]string{"steering": `["routes","dns"]`, "dnsTtl": "0"}, "hanva:dnsTtl: 0 seconds; use 1 or more"},
		{"a one-label zone", false, map[string]string{"steering": `["routes","dns"]`, "dnsZoneName": "corp"}, `hanva:dnsZoneName: "corp" is not a Private DNS zone name`},
		{"a floating IP in sample mode", false, map[string]string{"floatingIp": "10.0.0.50"}, "hanva:floatingIp: only used in production mode"},
		{"steering in production", true, map[string]string{"steering": `["dns"]`}, "hanva:steering: only used in sample mode"},
		{"a floating IP that is not an address", true, map[string]string{"floatingIp": "10.1.0.x"}, `hanva:floatingIp: "10.1.0.x" is not an IPv4 address`},
		{"a floating IP on a bogus role", true, map[string]string{"floatingIp": "10.1.0.40", "floatingIpVia": "mgmt"}, `hanva:floatingIpVia: "mgmt" is not an NVA NIC role`},
		{"a floating IP beside route tables the program rewrites", true, map[string]string{"floatingIp": "10.1.0.40"}, "hanva:routeTables: the program's route tables follow the active NVA"},
		{"a load balancer instead of its pool", true, map[string]string{"backendPoolId": prodNet + "/loadBalancers/nva-ilb"}, "hanva:backendPoolId:"},
		{"a CNAME record", true, map[string]string{"dnsRecordId": prodSub + "/resourceGroups/rg-dns/providers/Microsoft.Network/privateDnsZones/corp.internal/CNAME/egress"},
			"hanva:dnsRecordId:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sampleConfig(t)
			if tc.production {
				cfg = productionConfig(t)
			}
			for k, v := range tc.kv {
				cfg["hanva:"+k] = v
			}
			res := runProgram(t, cfg)
			if res.err == nil || !strings.Contains(res.err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", res.err, tc.want)
			}
			for _, r := range res.m.All() {
				if r.Custom {
					t.Errorf("registered %s %s before refusing", r.Type, r.Name)
				}
			}
		})
	}
}
