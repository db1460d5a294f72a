package stack

import (
	"slices"
	"strings"
	"testing"

	"github.com/hanva/hanva/components/pulumitest"
	"github.com/hanva/hanva/monitor/config"
)

const tRoleAssignment = "azure-native:authorization:RoleAssignment"

// withNVAs replaces the nvas of a config.
func withNVAs(t *testing.T, cfg map[string]string, nvas ...map[string]string) map[string]string {
	cfg["hanva:nvas"] = mustJSON(t, nvas)
	return cfg
}

// deployed is what the tests compare between two ways of naming the same
// NVAs: the monitor config's NVAs (names, NIC IDs by role, probe addresses),
// the route tables' next hops and the exported NVA IPs.
func deployed(t *testing.T, res result) string {
	t.Helper()
	mc, err := config.Parse([]byte(res.exports["monitorConfig"].(string)))
	if err != nil {
		t.Fatalf("monitorConfig does not load: %v", err)
	}
	var hops []string
	for _, rt := range res.m.OfType(tRT) {
		for i := 0; pulumitest.Get(rt.Inputs, "routes", i) != nil; i++ {
			hops = append(hops, rt.Name+" "+pulumitest.String(rt.Inputs, "routes", i, "addressPrefix")+" -> "+
				pulumitest.String(rt.Inputs, "routes", i, "nextHopIpAddress"))
		}
	}
	return mustJSON(t, map[string]any{"nvas": mc.NVAs, "hops": hops, "ips": res.exports["nvaPrivateIps"], "active": res.exports["activeNva"]})
}

// TestProductionModeReadsTheSameNVAsHoweverTheyAreNamed runs the program
// with the NVAs given by VM (roles by subnet, as productionConfig), by VM
// with roles told by the NICs' names, by NIC IDs, and by NIC IDs with the
// IPs typed (the shape before the lookups): all deploy the same monitor
// config, next hops and outputs, which TestProductionModeMonitorConfigNamesTheGivenResources
// checks against the fake Azure's NICs.
func TestProductionModeReadsTheSameNVAsHoweverTheyAreNamed(t *testing.T) {
	want := deployed(t, mustRunProgram(t, productionConfig(t)))
	byName := productionConfig(t)
	delete(byName, "hanva:nvaExternalSubnetId")
	delete(byName, "hanva:nvaInternalSubnetId")
	typed := []map[string]string{nvaByNICs("fw-1", "fw1"), nvaByNICs("fw-2", "fw2")}
	typed[0]["externalIp"], typed[0]["internalIp"] = "10.1.0.4", "10.1.0.36"
	typed[1]["externalIp"], typed[1]["internalIp"] = "10.1.0.5", "10.1.0.37"
	oldShape := withNVAs(t, productionConfig(t), typed...)
	delete(oldShape, "hanva:nvaExternalSubnetId")
	delete(oldShape, "hanva:nvaInternalSubnetId")
	oldShape["hanva:nvaSubnetIds"] = mustJSON(t, []string{prodSubnet("dmz-external"), prodSubnet("dmz-internal")})
	oldShape["hanva:nvaNsgIds"] = mustJSON(t, []string{prodNet + "/networkSecurityGroups/fw-ext"})

	for name, cfg := range map[string]map[string]string{
		"VM IDs, roles by NIC name":             byName,
		"NIC IDs":                               withNVAs(t, productionConfig(t), nvaByNICs("fw-1", "fw1"), nvaByNICs("fw-2", "fw2")),
		"NIC IDs without role subnets":          withNVAs(t, byName, nvaByNICs("fw-1", "fw1"), nvaByNICs("fw-2", "fw2")),
		"NIC IDs and IPs (the old shape)":       oldShape,
		"VM IDs with a NIC named where it need": withNVAs(t, productionConfig(t), map[string]string{"name": "fw-1", "vmId": prodVM("fw1"), "internalNicId": prodNIC("fw1-int")}, map[string]string{"name": "fw-2", "vmId": prodVM("fw2")}),
	} {
		t.Run(name, func(t *testing.T) {
			if got := deployed(t, mustRunProgram(t, cfg)); got != want {
				t.Errorf("deployed\n%s\nwant (NVAs by VM, roles by subnet)\n%s", got, want)
			}
		})
	}
}

// TestProductionModeUsesTheNICsAddressesNotTheTypedOnes: what Azure holds
// decides, so a VM whose internal NIC has a secondary address still probes
// and routes to its primary one unless the config names the secondary.
func TestProductionModeTakesATypedSecondaryAddress(t *testing.T) {
	az := prodAzure()
	nic := az.NICs[prodNIC("fw1-int")]
	nic.Configs = append(nic.Configs, fakeIPConfig{"10.1.0.40", prodSubnet("dmz-internal")})
	az.NICs[prodNIC("fw1-int")] = nic

	res := runProgramIn(t, productionConfig(t), az)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if s := pulumitest.String(res.m.One(t, tRT).Inputs, "routes", 0, "nextHopIpAddress"); s != "10.1.0.36" {
		t.Errorf("next hop %q, want fw1-int's primary address 10.1.0.36", s)
	}

	cfg := withNVAs(t, productionConfig(t), map[string]string{"name": "fw-1", "vmId": prodVM("fw1"), "internalIp": "10.1.0.40"},
		map[string]string{"name": "fw-2", "vmId": prodVM("fw2")})
	res = runProgramIn(t, cfg, az)
	if res.err != nil {
		t.Fatal(res.err)
	}
	if s := pulumitest.String(res.m.One(t, tRT).Inputs, "routes", 0, "nextHopIpAddress"); s != "10.1.0.40" {
		t.Errorf("next hop %q, want the typed secondary address 10.1.0.40", s)
	}
	mc, err := config.Parse([]byte(res.exports["monitorConfig"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	if got := mc.NVAs[0].Probe.Address; got != "10.1.0.40:8080" {
		t.Errorf("fw-1 probed at %q, want 10.1.0.40:8080", got)
	}
}

// TestProductionModeLetsTheMonitorsJoinOnlyTheExternalNICsSubnetsAndNSGs:
// moving the public IP rewrites the external NICs, and Azure checks
// join/action on their subnets and NSGs; those are read from the NICs, so
// nvaSubnetIds and nvaNsgIds are no longer needed, and the internal subnet
// (which the monitors never write a NIC in) gets no assignment.
func TestProductionModeLetsTheMonitorsJoinOnlyTheExternalNICsSubnetsAndNSGs(t *testing.T) {
	res := mustRunProgram(t, productionConfig(t))
	scopes := map[string]int{}
	for _, ra := range res.m.OfType(tRoleAssignment) {
		scopes[pulumitest.String(ra.Inputs, "scope")]++
	}
	for _, want := range []string{prodSubnet("dmz-external"), prodNet + "/networkSecurityGroups/fw-ext"} {
		if scopes[want] != 2 {
			t.Errorf("%d role assignments on %s, want one per monitor (2)", scopes[want], want)
		}
	}
	if n := scopes[prodSubnet("dmz-internal")]; n != 0 {
		t.Errorf("%d role assignments on dmz-internal, want none", n)
	}

	noPIP := productionConfig(t)
	delete(noPIP, "hanva:publicIpId")
	res = mustRunProgram(t, noPIP)
	for _, ra := range res.m.OfType(tRoleAssignment) {
		if s := pulumitest.String(ra.Inputs, "scope"); strings.Contains(s, "/subnets/") || strings.Contains(s, "/networkSecurityGroups/") {
			t.Errorf("without a public IP to move, a role assignment on %s", s)
		}
	}
}

// TestProductionModeTakesNVAsInAnotherSubscriptionAsTyped: the lookups read
// the provider's subscription only, so an NVA elsewhere is taken as typed
// (both NIC IDs and IPs required), with the subnets the monitors may join
// from nvaSubnetIds.
func TestProductionModeTakesNVAsInAnotherSubscriptionAsTyped(t *testing.T) {
	const other = "/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-hub/providers/Microsoft.Network/networkInterfaces/"
	fw2 := map[string]string{"name": "fw-2", "externalNicId": other + "fw2-ext", "internalNicId": other + "fw2-int",
		"externalIp": "10.9.0.5", "internalIp": "10.9.0.37"}
	cfg := withNVAs(t, productionConfig(t), map[string]string{"name": "fw-1", "vmId": prodVM("fw1")}, fw2)
	cfg["hanva:nvaSubnetIds"] = mustJSON(t, []string{"/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/hub2/subnets/ext"})
	res := mustRunProgram(t, cfg)
	mc, err := config.Parse([]byte(res.exports["monitorConfig"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	if n := mc.NVAs[1]; n.NICs["internal"] != other+"fw2-int" || n.Probe.Address != "10.9.0.37:8080" {
		t.Errorf("fw-2 %+v, want the typed NIC and IP", n)
	}
	scopes := []string{}
	for _, ra := range res.m.OfType(tRoleAssignment) {
		scopes = append(scopes, pulumitest.String(ra.Inputs, "scope"))
	}
	for _, want := range []string{prodSubnet("dmz-external"), "/subscriptions/99999999-9999-9999-9999-999999999999/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/hub2/subnets/ext"} {
		if !slices.Contains(scopes, want) {
			t.Errorf("no role assignment on %s", want)
		}
	}

	delete(fw2, "internalIp")
	cfg = withNVAs(t, productionConfig(t), map[string]string{"name": "fw-1", "vmId": prodVM("fw1")}, fw2)
	res = runProgram(t, cfg)
	want := "hanva:nvas[1].internalIp: required: fw2-ext is in subscription 99999999-9999-9999-9999-999999999999, which this program cannot read"
	if res.err == nil || !strings.Contains(res.err.Error(), want) {
		t.Errorf("err = %v\nwant it to contain %q", res.err, want)
	}
}

// TestProductionModeRefusesNVAsAzureContradicts: each case changes the
// config or the fake Azure so that the NVAs as configured do not match what
// Azure holds; the program must fail naming the key, before registering
// anything.
func TestProductionModeRefusesNVAsAzureContradicts(t *testing.T) {
	fw2 := func(kv ...string) func(*testing.T, map[string]string) {
		return func(t *testing.T, cfg map[string]string) {
			n := map[string]string{"name": "fw-2"}
			for i := 0; i < len(kv); i += 2 {
				n[kv[i]] = kv[i+1]
			}
			withNVAs(t, cfg, map[string]string{"name": "fw-1", "vmId": prodVM("fw1")}, n)
		}
	}
	noRoleSubnets := func(t *testing.T, cfg map[string]string) {
		delete(cfg, "hanva:nvaExternalSubnetId")
		delete(cfg, "hanva:nvaInternalSubnetId")
	}
	addNIC := func(vm, name, ip, subnet string) func(*fakeAzure) {
		return func(az *fakeAzure) {
			az.NICs[prodNIC(name)] = fakeNIC{VM: prodVM(vm), Configs: []fakeIPConfig{{ip, prodSubnet(subnet)}}}
			az.VMs[prodVM(vm)] = append(az.VMs[prodVM(vm)], prodNIC(name))
		}
	}
	tests := []struct {
		name  string
		cfg   func(*testing.T, map[string]string)
		azure func(*fakeAzure)
		want  string
	}{
		{"a typed internal IP that is not the NIC's", fw2("vmId", prodVM("fw2"), "internalIp", "10.1.0.38"), nil,
			"hanva:nvas[1].internalIp: 10.1.0.38 is not an address of NIC fw2-int (resource group rg-net, subnet dmz-internal) (it has 10.1.0.37)"},
		{"a typed external IP that is the internal NIC's", fw2("externalNicId", prodNIC("fw2-ext"), "internalNicId", prodNIC("fw2-int"), "externalIp", "10.1.0.37"), nil,
			"hanva:nvas[1].externalIp: 10.1.0.37 is not an address of NIC fw2-ext (resource group rg-net, subnet dmz-external) (it has 10.1.0.5)"},
		{"a VM that does not exist", fw2("vmId", prodVM("fw9")), nil,
			"hanva:nvas[1].vmId: read VM fw9 in resource group rg-net: "},
		{"a NIC that does not exist", fw2("externalNicId", prodNIC("fw9-ext"), "internalNicId", prodNIC("fw2-int")), nil,
			"hanva:nvas[1].externalNicId: read NIC fw9-ext in resource group rg-net: "},
		{"a VM with two NICs in the internal subnet", fw2("vmId", prodVM("fw2")), addNIC("fw2", "fw2-int2", "10.1.0.39", "dmz-internal"),
			"hanva:nvas[1].vmId: VM fw2 has 2 NICs in nvaInternalSubnetId dmz-internal, so its internal NIC is ambiguous: fw2-int (resource group rg-net, subnet dmz-internal), fw2-int2 (resource group rg-net, subnet dmz-internal); name it with nvas[1].internalNicId"},
		{"a VM with no NIC in the external subnet", fw2("vmId", prodVM("fw2")), func(az *fakeAzure) {
			az.VMs[prodVM("fw2")] = []string{prodNIC("fw2-int")}
		}, "hanva:nvas[1].vmId: VM fw2 has no NIC in nvaExternalSubnetId dmz-external; its NICs: fw2-int (resource group rg-net, subnet dmz-internal); name it with nvas[1].externalNicId"},
		{"a VM whose NICs' names do not tell the roles", func(t *testing.T, cfg map[string]string) {
			noRoleSubnets(t, cfg)
			fw2("vmId", prodVM("fw3"))(t, cfg)
		}, func(az *fakeAzure) {
			az.VMs[prodVM("fw3")] = nil
			addNIC("fw3", "fw3-nic0", "10.1.0.6", "dmz-external")(az)
			addNIC("fw3", "fw3-nic1", "10.1.0.38", "dmz-internal")(az)
		}, "hanva:nvas[1].vmId: VM fw3 has no NIC named for the external role"},
		{"a VM with two NICs named for one role", func(t *testing.T, cfg map[string]string) {
			noRoleSubnets(t, cfg)
			fw2("vmId", prodVM("fw2"))(t, cfg)
		}, addNIC("fw2", "fw2-trust2", "10.1.0.39", "dmz-internal"),
			"hanva:nvas[1].vmId: VM fw2 has 2 NICs named for the internal role"},
		{"a NIC named for a VM that does not have it", fw2("vmId", prodVM("fw2"), "internalNicId", prodNIC("fw1-int")), nil,
			"hanva:nvas[1].internalNicId: NIC fw1-int is not a NIC of VM fw2 (its NICs: fw2-ext"},
		{"external and internal NICs swapped", fw2("externalNicId", prodNIC("fw2-int"), "internalNicId", prodNIC("fw2-ext")), nil,
			"hanva:nvas[1].externalNicId: NIC fw2-int (resource group rg-net, subnet dmz-internal) is not in nvaExternalSubnetId dmz-external; an external NIC must be in that subnet (is it the internal NIC?)"},
		{"NICs of two VMs", fw2("externalNicId", prodNIC("fw2-ext"), "internalNicId", prodNIC("fw3-int")), addNIC("fw3", "fw3-int", "10.1.0.38", "dmz-internal"),
			"hanva:nvas[1].internalNicId: NIC fw3-int is attached to VM fw3, but the external NIC fw2-ext to VM fw2; an NVA's NICs are on one VM"},
		{"a NIC attached to no VM", fw2("externalNicId", prodNIC("spare-ext"), "internalNicId", prodNIC("fw2-int")), func(az *fakeAzure) {
			az.NICs[prodNIC("spare-ext")] = fakeNIC{Configs: []fakeIPConfig{{"10.1.0.9", prodSubnet("dmz-external")}}}
		}, "hanva:nvas[1].externalNicId: NIC spare-ext (resource group rg-net, subnet dmz-external) is not attached to a VM"},
		{"one VM by ID and by its NICs", fw2("externalNicId", prodNIC("fw1-ext"), "internalNicId", prodNIC("fw1-int")), nil,
			"hanva:nvas[1].externalNicId: its external NIC fw1-ext is also nvas[0]'s external NIC; every NVA has NICs of its own"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := productionConfig(t)
			tt.cfg(t, cfg)
			az := prodAzure()
			if tt.azure != nil {
				tt.azure(az)
			}
			res := runProgramIn(t, cfg, az)
			if res.err == nil || !strings.Contains(res.err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to contain %q", res.err, tt.want)
			}
			if all := res.m.All(); len(all) != 0 {
				t.Errorf("registered %d resources despite the problem, first %s %q", len(all), all[0].Type, all[0].Name)
			}
		})
	}
}

func TestNICNamesTellTheirRole(t *testing.T) {
	for name, want := range map[string][]string{
		"fw1-ext":           {"external"},
		"fw1Ext":            {"external"},
		"FW01_UNTRUST_NIC":  {"external"},
		"nva-1-nic-outside": {"external"},
		"fw1-int":           {"internal"},
		"fw1-trust":         {"internal"},
		"pa-vm-eth2-inside": {"internal"},
		"nic-internal01":    {"internal"},
		"fw1-nic0":          nil,
		"fw1-mgmt":          nil,
		"interior-nic":      nil, // "interior" is not "int"
		"ext-to-int":        {"external", "internal"},
	} {
		if got := nameRoles(name); !slices.Equal(got, want) {
			t.Errorf("nameRoles(%q) = %v, want %v", name, got, want)
		}
	}
}
